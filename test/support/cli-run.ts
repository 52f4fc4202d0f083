/** A command run to completion in the project root, as a user runs it: exit code, stdout, stderr. */
import { spawn } from 'node:child_process';
import { PROJECT_DIR } from './osls.ts';
import { embeddedChildEnv } from './aws-env.ts';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `command args…` with `env` over ours, killed after `timeoutMs`. */
export function runInProject(command: string, args: readonly string[], env: Record<string, string>, timeoutMs = 120_000): Promise<CliResult> {
  const child = spawn(command, [...args], { cwd: PROJECT_DIR, env: embeddedChildEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
