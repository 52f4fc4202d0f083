/** Whether an external tool a test uses is installed (the test skips with a reason when not). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export const exec = promisify(execFile);

/** True when `command ...versionArgs` runs and exits 0. */
export async function commandAvailable(command: string, versionArgs: readonly string[] = ['--version']): Promise<boolean> {
  try {
    await exec(command, [...versionArgs]);
    return true;
  } catch {
    return false;
  }
}
