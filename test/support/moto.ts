/**
 * moto's server, an AWS implementation nobody here wrote (moto 5.2 in the Python environment that
 * also has the aws CLI and cfn-lint), started on a free loopback port by the test that needs it
 * and stopped by its own handle: the process group it leads, never by name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { commandAvailable, exec } from './commands.ts';

export interface MotoServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** What its requests need: the region, and the dummy credentials moto takes. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Why the moto tests skip, or undefined when moto_server is installed. */
export async function motoMissing(): Promise<string | undefined> {
  return (await commandAvailable('moto_server', ['--help'])) ? undefined : 'moto_server is not installed (pip install "moto[server]"; CI has it)';
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/moto-api/`, { signal: AbortSignal.timeout(1_000) })).ok;
  } catch {
    return false;
  }
}

function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  const exited = once(child, 'exit').then(() => undefined);
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return Promise.resolve();
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // Gone between the two signals.
    }
  }, 5_000);
  return exited.finally(() => clearTimeout(timer));
}

/** Starts `moto_server -H 127.0.0.1 -p <free port>` and waits until it answers (a port taken meanwhile: another port). */
export async function startMoto(): Promise<MotoServer> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    // Its own process group: the pyenv shim execs Python, and stop() reaches whatever it became.
    const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4_000)));
    const deadline = Date.now() + 30_000;
    while (child.exitCode === null && !(await answers(url))) {
      if (Date.now() > deadline) {
        await stopGroup(child);
        throw new Error(`moto_server did not answer on ${url} within 30 s:\n${stderr}`);
      }
      await delay(100);
    }
    if (child.exitCode === null) {
      const env = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'us-east-1' };
      return { url, env, stop: () => stopGroup(child) };
    }
    if (attempt >= 3) throw new Error(`moto_server exited (code ${String(child.exitCode)}):\n${stderr}`);
  }
}

/** `aws <args>` (the AWS CLI) against moto, JSON output parsed. */
export async function awsCli<T = unknown>(moto: MotoServer, args: readonly string[]): Promise<T> {
  const { stdout } = await exec('aws', ['--endpoint-url', moto.url, '--region', 'us-east-1', '--output', 'json', ...args], {
    env: { ...process.env, ...moto.env, AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', AWS_CONFIG_FILE: '/nonexistent', AWS_PAGER: '' },
    maxBuffer: 16 * 1024 * 1024,
  });
  return (stdout.trim() === '' ? {} : JSON.parse(stdout)) as T;
}
