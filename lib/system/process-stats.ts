/**
 * What Linux's /proc says about a process: whether it still runs, its peak resident set and its
 * CPU time. Shared by the output lock (is a lock holder alive?), the consumer worker pool and the
 * benchmark (peak RSS, CPU), and the tests (is a child gone?). Elsewhere /proc is absent and the
 * answers degrade as each function says. It lives in lib/ rather than infra/ because the output
 * lock runs inside the Lambda handler, whose bundle must not pull in the embedded stack.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { errorCode } from '../errors.ts';

/** The fields of /proc/<pid>/stat after the parenthesised command name (which may hold spaces). */
function statFields(text: string): string[] {
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/**
 * Whether `pid` is a running process. Zombies still answer kill(pid, 0), so the state in
 * /proc/<pid>/stat decides where it exists (Z or X: not running). A process of another user
 * (EPERM) is running.
 */
export function processIsRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (errorCode(error) === 'EPERM') return true;
    if (errorCode(error) === 'ESRCH') return false;
    throw error;
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    // On Linux the process went away between the two looks; elsewhere there is no /proc.
    return process.platform !== 'linux';
  }
  const state = statFields(stat)[0];
  return state !== 'Z' && state !== 'X';
}

/** Peak resident set (VmHWM) of a live process in MB (one decimal); undefined if unreadable. */
export async function peakRssMb(pid: number | undefined): Promise<number | undefined> {
  const status = pid === undefined ? undefined : await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const kb = status === undefined ? undefined : /VmHWM:\s+(\d+)\s+kB/.exec(status)?.[1];
  return kb === undefined ? undefined : Math.round(Number(kb) / 102.4) / 10;
}

/** CPU seconds (user + system) a live process has used so far; undefined if unreadable. */
export async function cpuSeconds(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  const fields = stat === undefined ? undefined : statFields(stat);
  // utime and stime are the 12th and 13th fields after the command name.
  if (fields === undefined || fields.length < 13) return undefined;
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
}
