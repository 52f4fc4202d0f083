/**
 * Entry point of the mode API's WRAPPER process (started by `offline-api.ts`; import only types
 * from this file, importing it runs it).
 *
 *   node --import tsx infra/offline-process.ts '{"serviceDir":"…","host":"127.0.0.1","port":3000,…}'
 *
 * Runs `osls offline start` (serverless-offline serving serverless.yml's http events) as its own
 * child, in a process group of its own, with this process's environment (the parent builds it:
 * endpoint, table, credentials). Reports the osls pid and every output line to the parent over
 * IPC.
 *
 * Lifetime: on SIGTERM/SIGINT, and when the IPC channel disconnects — which the OS does whenever
 * the parent exits or dies, even by `kill -9` — it terminates osls's whole process group (osls
 * and the esbuild service it spawns): SIGTERM, then SIGKILL after a grace period. osls never
 * outlives the process that asked for it. When osls exits by itself, this process exits too.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rmdirSync, rmSync } from 'node:fs';
import path from 'node:path';

/** The single JSON argument. */
export interface OfflineProcessOptions {
  /** Directory of serverless.yml. */
  serviceDir: string;
  /** osls's bin script (run with this Node). */
  oslsBin: string;
  host: string;
  port: number;
  lambdaPort: number;
  /** `--region`: serverless-offline gives the handler AWS_REGION from it, not from our env. */
  region: string;
  /** serverless-esbuild's work folder, relative to serviceDir; removed when osls has exited. */
  buildDir: string;
  /** Between SIGTERM and SIGKILL of the osls process group. */
  stopGraceMs: number;
}

export type OfflineProcessMessage =
  | { type: 'spawned'; pid: number }
  | { type: 'output'; stream: 'stdout' | 'stderr'; line: string }
  | { type: 'exited'; code: number | null; signal: NodeJS.Signals | null };

function parseOptions(raw: string | undefined): OfflineProcessOptions {
  const value: unknown = JSON.parse(raw ?? '');
  if (typeof value !== 'object' || value === null) throw new Error('options must be a JSON object');
  const o = value as Record<string, unknown>;
  const str = (name: string): string => {
    const v = o[name];
    if (typeof v !== 'string' || v === '') throw new Error(`option ${name} is required`);
    return v;
  };
  const int = (name: string, max: number): number => {
    const v = o[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new Error(`option ${name} must be an integer from 0 to ${max}`);
    return v;
  };
  const buildDir = str('buildDir');
  if (path.isAbsolute(buildDir) || buildDir.split(/[\\/]/).includes('..')) throw new Error('option buildDir must stay inside serviceDir');
  return {
    serviceDir: str('serviceDir'),
    oslsBin: str('oslsBin'),
    host: str('host'),
    port: int('port', 65_535),
    lambdaPort: int('lambdaPort', 65_535),
    region: str('region'),
    buildDir,
    stopGraceMs: int('stopGraceMs', 60_000),
  };
}

const options = parseOptions(process.argv[2]);

/** To the parent; dropped once it is gone (nobody would read them). */
function send(message: OfflineProcessMessage): void {
  // With a callback a send racing the disconnect reports to it instead of crashing us (and
  // orphaning osls).
  if (process.connected) process.send?.(message, undefined, {}, () => undefined);
}

const osls: ChildProcess = spawn(
  process.execPath,
  [
    options.oslsBin,
    'offline',
    'start',
    '--host',
    options.host,
    '--httpPort',
    String(options.port),
    '--lambdaPort',
    String(options.lambdaPort),
    '--region',
    options.region,
    '--noPrependStageInUrl',
    '--noSponsor',
    // The routes are `aws_iam` for AWS; serverless-offline cannot check SigV4 (it would warn and
    // serve them open anyway). Here the local request guard is what protects them (docs/security.md).
    '--noAuth',
  ],
  {
    cwd: options.serviceDir,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so that one kill reaches osls and everything it started.
    detached: true,
  },
);
const oslsPid = osls.pid;

const oslsExited = new Promise<void>((resolve) => {
  osls.once('exit', (code, signal) => {
    send({ type: 'exited', code, signal });
    resolve();
  });
});

osls.once('error', (error) => {
  process.stderr.write(`offline-process: cannot start osls: ${error.message}\n`);
  process.exit(1);
});

if (oslsPid !== undefined) send({ type: 'spawned', pid: oslsPid });

for (const stream of ['stdout', 'stderr'] as const) {
  const source = osls[stream];
  if (source === null) continue;
  source.setEncoding('utf8');
  let pending = '';
  source.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') send({ type: 'output', stream, line });
  });
  source.on('end', () => {
    if (pending.trim() !== '') send({ type: 'output', stream, line: pending });
  });
}

/** Signals osls's whole group; false when nothing of it is left. */
function killGroup(signal: NodeJS.Signals): boolean {
  if (oslsPid === undefined) return false;
  try {
    process.kill(-oslsPid, signal);
    return true;
  } catch {
    return false;
  }
}

function removeBuildDir(): void {
  try {
    rmSync(path.join(options.serviceDir, options.buildDir), { recursive: true, force: true });
    rmdirSync(path.join(options.serviceDir, path.dirname(options.buildDir))); // only when empty
  } catch {
    // Best effort: a leftover build folder is only disk space.
  }
}

let stopping: Promise<never> | undefined;

function stop(exitCode: number): Promise<never> {
  stopping ??= (async () => {
    if (osls.exitCode === null && osls.signalCode === null) {
      killGroup('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, options.stopGraceMs);
      });
      await Promise.race([oslsExited, graceOver]);
      clearTimeout(timer);
      if (osls.exitCode === null && osls.signalCode === null) {
        killGroup('SIGKILL');
        await oslsExited;
      }
    }
    // osls has gone; whatever it left in its group (the esbuild service) goes too.
    killGroup('SIGKILL');
    removeBuildDir();
    process.exit(exitCode);
  })();
  return stopping;
}

process.on('disconnect', () => void stop(0));
// Started with IPC but the parent is already gone: nobody will ever ask us to stop.
if (process.send !== undefined && !process.connected) void stop(0);
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));
// osls stopping by itself (a start-up error, a crash) ends this process too, as a failure.
void oslsExited.then(() => stop(1));
