/** Process and port checks shared by the integration tests that start child processes and servers. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { processIsRunning } from '../../lib/system/process-stats.ts';
import { setTimeout as delay } from 'node:timers/promises';
import { embeddedChildEnv } from './aws-env.ts';

/** Alive = signalable and not a zombie (an orphan's reaper may be slow or absent in containers). */
export const isAlive = processIsRunning;

export async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`${what} within ${timeoutMs} ms`);
    await delay(50);
  }
}

export function listenOn(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

export async function portIsFree(port: number): Promise<boolean> {
  try {
    const server = await listenOn(port);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return true;
  } catch {
    return false;
  }
}

/** The first line a child prints on stdout; rejects if it exits before printing one. */
export function firstStdoutLine(child: ChildProcess): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('\n')) resolve(out.split('\n')[0] ?? '');
    });
    child.once('exit', (code) => reject(new Error(`child exited before printing a line (code ${String(code)})`)));
  });
}

/**
 * A parent process for the "killed with SIGKILL" tests: runs `script` (an ES module, TypeScript
 * imports allowed through tsx) with `env` added, stdout piped for its first line, stderr shown.
 */
export function spawnModuleScript(script: string, env: Record<string, string>): { child: ChildProcess; exited: Promise<unknown> } {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: embeddedChildEnv(env),
  });
  return { child, exited: new Promise((resolve) => child.once('exit', resolve)) };
}
