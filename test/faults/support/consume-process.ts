/**
 * `tick-replay consume` as a child process in its own process group (its worker processes with
 * it), attached to a stack a test started; its JSON logs parsed from stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { embeddedChildEnv } from '../../support/aws-env.ts';

export interface ConsumeProcess {
  child: ChildProcess;
  logs: () => Array<{ level: string; message: string; [key: string]: unknown }>;
  exited: Promise<number | null>;
  /** SIGKILL to the whole process group, if still running. */
  kill(): void;
}

export function startConsumeProcess(args: string[]): ConsumeProcess {
  const child = spawn(process.execPath, ['bin/tick-replay.js', 'consume', ...args], {
    env: embeddedChildEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    logs: () =>
      stderr
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { level: string; message: string }),
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(-(child.pid ?? 0), 'SIGKILL');
    },
  };
}
