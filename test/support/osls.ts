/** Runs the project's osls CLI (serverless.yml in the project root) as a child process, quietly. */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OSLS_QUIET_ENV, resolveOslsBin } from '../../infra/offline-api.ts';
import { EMBEDDED_TARGET_ENV } from './aws-env.ts';

export const PROJECT_DIR = fileURLToPath(new URL('../..', import.meta.url));

export interface OslsResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Never inherited from our shell: credentials, and every endpoint and target variable tick-replay honours. */
const NOT_INHERITED = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', ...Object.keys(EMBEDDED_TARGET_ENV)];

/**
 * `osls ARGS` with no AWS credentials or endpoint from our environment (only what `env` gives),
 * its own serverless-esbuild folder (two runs never share one), killed after `timeoutMs`.
 */
export function runOsls(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<OslsResult> {
  return runInProject(process.execPath, [resolveOslsBin(), ...args], env, timeoutMs);
}

/** A command line exactly as a user types it in the project root (bash), with runOsls's environment. */
export function runCommandLine(commandLine: string, env: Record<string, string> = {}, timeoutMs = 120_000): Promise<OslsResult> {
  return runInProject('bash', ['-c', commandLine], env, timeoutMs);
}

async function runInProject(command: string, args: readonly string[], env: Record<string, string>, timeoutMs: number): Promise<OslsResult> {
  const buildDir = path.join('.esbuild', `test-${randomUUID().slice(0, 8)}`);
  const childEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !NOT_INHERITED.includes(key)) childEnv[key] = value;
  Object.assign(childEnv, OSLS_QUIET_ENV, { TICK_REPLAY_ESBUILD_DIR: buildDir, AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', AWS_CONFIG_FILE: '/nonexistent' }, env);
  const child = spawn(command, args, { cwd: PROJECT_DIR, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    return await new Promise<OslsResult>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
  } finally {
    clearTimeout(timer);
    await rm(path.join(PROJECT_DIR, buildDir), { recursive: true, force: true });
  }
}

/** The JSON value `invoke local` prints last (the handler's result), after any log lines. */
export function invokeResult(stdout: string): unknown {
  const start = stdout.lastIndexOf('\n{\n');
  const text = start === -1 ? stdout : stdout.slice(start + 1);
  return JSON.parse(text);
}
