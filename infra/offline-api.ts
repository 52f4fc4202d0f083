/**
 * The mode API on this machine, parent side: `osls offline start` serves serverless.yml's http
 * events (`POST /mode`, `GET /mode` → functions/mode.ts, bundled by serverless-esbuild) on
 * `http://127.0.0.1:<port>/mode`, like API Gateway would on AWS.
 *
 * osls runs under a small wrapper (`offline-process.ts`) connected to us by IPC, in the same way
 * as the embedded stack: the wrapper kills osls's whole process group when the channel
 * disconnects, which the OS does whenever this process exits or dies (even by SIGKILL). Both run
 * in their own process groups, so a terminal's Ctrl-C reaches only us: the CLI decides when to
 * stop. This module installs no signal handlers.
 */
import { describeExit, exitWithin, type ChildExit } from './child-exit.ts';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TickReplayError } from '../lib/errors.ts';
import { urlHost } from '../lib/http/local-url.ts';
import type { Logger } from '../lib/logging/logger.ts';
import type { OfflineProcessMessage, OfflineProcessOptions } from './offline-process.ts';

/** The mode API could not start, or stopped unexpectedly. */
export class OfflineApiError extends TickReplayError {}

export interface OfflineApiOptions {
  /** Interface of the API and of serverless-offline's Lambda endpoint (default 127.0.0.1). */
  host?: string;
  /** HTTP port of the API; 0 = any free port. */
  port: number;
  /** serverless-offline's Lambda invoke port; default: any free port. */
  lambdaPort?: number;
  /** The handler's environment (AWS_ENDPOINT_URL, AWS_REGION, TABLE_NAME, …), over ours. */
  env: Record<string, string>;
  logger: Logger;
  /** Until `GET /mode` answers; default 90 s (a cold start bundles the handlers first). */
  startTimeoutMs?: number;
  /** Directory of serverless.yml; default the project root. */
  serviceDir?: string;
}

export type OfflineApiExit = ChildExit;

export interface OfflineApi {
  /** `http://127.0.0.1:<port>` (whatever the interface); the route is `${url}/mode`. */
  url: string;
  port: number;
  lambdaPort: number;
  /** The osls process (leader of its own process group). */
  pid: number;
  /** The wrapper process that owns osls. */
  wrapperPid: number;
  /** This run's serverless-esbuild folder (absolute); removed on stop. */
  buildDir: string;
  /** Settles (never rejects) when the wrapper has exited, whatever the reason. */
  exited: Promise<OfflineApiExit>;
  /** SIGTERM, wait for osls and its wrapper to exit (then SIGKILL). Idempotent. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const DEFAULT_START_TIMEOUT_MS = 90_000;
/** The wrapper's grace between SIGTERM and SIGKILL of osls. */
const OSLS_STOP_GRACE_MS = 3_000;
/** Our wait for the wrapper; past it, the wrapper and osls's group are killed. */
const STOP_TIMEOUT_MS = OSLS_STOP_GRACE_MS + 3_000;
const POLL_INTERVAL_MS = 100;
/** A connection that got no answer in this time still means the server is up (a slow handler). */
const PROBE_TIMEOUT_MS = 5_000;
/** osls output lines kept for error messages. */
const TAIL_LINES = 30;
const CHILD_ENTRY = fileURLToPath(new URL('./offline-process.ts', import.meta.url));
const PROJECT_DIR = fileURLToPath(new URL('..', import.meta.url));

/** osls's CLI script, from its package.json (the package has no `exports`). */
export function resolveOslsBin(): string {
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve('osls/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin?: Record<string, string> };
  const bin = manifest.bin?.osls;
  if (bin === undefined) throw new OfflineApiError('the osls package has no "osls" bin; reinstall dependencies (npm ci)');
  return path.join(path.dirname(manifestPath), bin);
}

/**
 * Switches that keep osls quiet and offline. osls v4 has no telemetry, update check or
 * notification service (removed from the fork); the Serverless v3 names are set as well in case
 * the CLI is ever swapped for upstream v3, and colours are off because the output goes to logs.
 */
export const OSLS_QUIET_ENV: Readonly<Record<string, string>> = Object.freeze({
  SLS_TELEMETRY_DISABLED: '1',
  SLS_TRACKING_DISABLED: '1',
  SLS_NOTIFICATIONS_MODE: 'off',
  SLS_INTERACTIVE_SETUP_DISABLE: '1',
  SLS_DEPRECATION_NOTIFICATION_MODE: 'warn',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  NO_COLOR: '1',
  FORCE_COLOR: '0',
});

const INHERITED_CREDENTIALS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'] as const;

/**
 * osls's environment: ours, the caller's over it, and the quiet switches. With a local endpoint
 * (AWS_ENDPOINT_URL set) the credentials are dummies unless the caller gave some, so real ones
 * never go to an emulator; without one the SDK's default chain applies (real AWS).
 */
export function oslsEnvironment(
  callerEnv: Record<string, string>,
  baseEnv: Record<string, string | undefined> = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(baseEnv)) if (value !== undefined) env[key] = value;
  const endpoint = (callerEnv.AWS_ENDPOINT_URL ?? baseEnv.AWS_ENDPOINT_URL ?? '').trim();
  if (endpoint !== '') {
    for (const name of INHERITED_CREDENTIALS) delete env[name];
    env.AWS_ACCESS_KEY_ID = 'test';
    env.AWS_SECRET_ACCESS_KEY = 'test';
  }
  Object.assign(env, OSLS_QUIET_ENV, callerEnv);
  if ((env.AWS_REGION ?? '').trim() === '') env.AWS_REGION = (env.AWS_DEFAULT_REGION ?? '').trim() || 'us-east-1';
  return env;
}

function portInUse(port: number, host: string): OfflineApiError {
  return new OfflineApiError(
    `port ${port} on ${host} is already in use, so the mode API cannot start there; stop what uses it or choose another port`,
    { port, code: 'EADDRINUSE' },
  );
}

/** Binds and releases `port` (0 = pick one): the free port, or undefined if it is taken. */
async function probePort(port: number, host: string): Promise<number | undefined> {
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host, exclusive: true }, resolve);
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') return undefined;
    throw new OfflineApiError(`cannot use port ${port} on ${host}: ${(error as Error).message}`, { port }, { cause: error });
  }
  const free = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return free;
}

async function freePort(port: number, host: string): Promise<number> {
  const free = await probePort(port, host);
  if (free === undefined) throw portInUse(port, host);
  return free;
}

/**
 * One `GET /mode`: 'answered' on any HTTP response, 'refused' when nothing listens yet,
 * 'slow' when a connection was accepted but no answer came in time.
 */
function probeRoute(url: string): Promise<'answered' | 'refused' | 'slow'> {
  return new Promise((resolve) => {
    let connected = false;
    const req = http.request(`${url}/mode`, { method: 'GET', agent: false, timeout: PROBE_TIMEOUT_MS }, (res) => {
      res.resume();
      resolve('answered');
    });
    req.on('socket', (socket) => socket.once('connect', () => (connected = true)));
    req.on('timeout', () => {
      req.destroy();
      resolve(connected ? 'slow' : 'refused');
    });
    req.on('error', () => resolve('refused'));
    req.end();
  });
}

function isMessage(value: unknown): value is OfflineProcessMessage {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return type === 'spawned' || type === 'output' || type === 'exited';
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

export async function startOfflineApi(options: OfflineApiOptions): Promise<OfflineApi> {
  const logger = options.logger;
  const serviceDir = path.resolve(options.serviceDir ?? PROJECT_DIR);
  const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;

  const host = options.host ?? HOST;
  const port = await freePort(options.port, host);
  const lambdaPort = await freePort(options.lambdaPort ?? 0, host);
  if (lambdaPort === port) throw new OfflineApiError(`the mode API and its Lambda endpoint cannot share port ${port}`, { port });
  const url = `http://${urlHost(host)}:${port}`;
  const buildDir = path.join('.esbuild', `offline-${randomUUID().slice(0, 8)}`);
  const context = { url, lambdaPort, serviceDir };

  const env = oslsEnvironment({ ...options.env, TICK_REPLAY_ESBUILD_DIR: buildDir });
  const childOptions: OfflineProcessOptions = {
    serviceDir,
    oslsBin: resolveOslsBin(),
    host,
    port,
    lambdaPort,
    region: env.AWS_REGION ?? 'us-east-1',
    buildDir,
    stopGraceMs: OSLS_STOP_GRACE_MS,
  };
  const startedAt = performance.now();
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), CHILD_ENTRY, JSON.stringify(childOptions)],
    {
      cwd: serviceDir,
      // The environment (credentials included) goes through env, never the command line.
      env,
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      // Own process group: a terminal's Ctrl-C reaches the CLI, which decides when to stop us.
      detached: true,
    },
  );
  const exited = new Promise<OfflineApiExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

  let oslsPid = 0;
  const tail: string[] = [];
  let sawPortInUse = false;
  child.on('message', (message: unknown) => {
    if (!isMessage(message)) return;
    if (message.type === 'spawned') {
      oslsPid = message.pid;
    } else if (message.type === 'output') {
      tail.push(message.line);
      if (tail.length > TAIL_LINES) tail.shift();
      if (/EADDRINUSE|address already in use/i.test(message.line)) sawPortInUse = true;
      logger.debug('osls output', { stream: message.stream, line: message.line });
    } else {
      logger.debug('osls exited', { code: message.code, signal: message.signal });
    }
  });

  const removeBuildDir = (): void => {
    rmSync(path.join(serviceDir, buildDir), { recursive: true, force: true });
    try {
      rmdirSync(path.join(serviceDir, path.dirname(buildDir))); // only when no other run uses it
    } catch {
      // Not empty: another osls run is using it.
    }
  };
  const killAll = async (): Promise<void> => {
    child.kill('SIGTERM');
    if ((await exitWithin(exited, STOP_TIMEOUT_MS)) === undefined) {
      child.kill('SIGKILL');
      killGroup(oslsPid, 'SIGKILL');
      await exited;
    }
    removeBuildDir();
  };

  const failure = (reason: string): OfflineApiError => {
    if (sawPortInUse) return portInUse(port, host);
    const last = tail.slice(-8).join(' | ');
    return new OfflineApiError(`mode API (osls offline) ${reason}${last !== '' ? `; last output: ${last}` : ''}`, context);
  };

  // Ready once GET /mode gets any HTTP answer (the route exists and the handler runs).
  let childExit: OfflineApiExit | undefined;
  void exited.then((exit) => (childExit = exit));
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  const deadline = performance.now() + startTimeoutMs;
  for (;;) {
    if (spawnError !== undefined) {
      throw new OfflineApiError(`cannot start the mode API: ${spawnError.message}`, context, { cause: spawnError });
    }
    if (childExit !== undefined) {
      killGroup(oslsPid, 'SIGKILL'); // normally gone with its wrapper already
      removeBuildDir();
      throw failure(`exited before it was ready (${describeExit(childExit)})`);
    }
    const probe = await probeRoute(url);
    if (probe === 'answered') break;
    if (probe === 'slow') {
      logger.warn('mode API accepts connections but GET /mode did not answer in time; taking it as started', {
        url,
        probeTimeoutMs: PROBE_TIMEOUT_MS,
      });
      break;
    }
    if (sawPortInUse || performance.now() > deadline) {
      await killAll();
      throw failure(sawPortInUse ? 'could not listen' : `did not answer GET /mode within ${startTimeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }

  // The API alone does not keep this process alive: when the parent has nothing left to do it
  // exits, and the wrapper (then osls) follows through `disconnect`.
  child.unref();
  child.channel?.unref();

  const wrapperPid = child.pid ?? 0;
  let stopping: Promise<void> | undefined;
  void exited.then((exit) => {
    if (stopping === undefined) {
      logger.error('mode API exited unexpectedly', { pid: oslsPid, ...exit, lastOutput: tail.slice(-8) });
      // A wrapper killed outright could not take osls with it.
      killGroup(oslsPid, 'SIGKILL');
      removeBuildDir();
    } else {
      logger.info('mode API stopped', { pid: oslsPid, ...exit });
    }
  });
  logger.info('mode API started', {
    url: `${url}/mode`,
    pid: oslsPid,
    lambdaPort,
    startMs: Math.round(performance.now() - startedAt),
  });

  return {
    url,
    port,
    lambdaPort,
    pid: oslsPid,
    wrapperPid,
    buildDir: path.join(serviceDir, buildDir),
    exited,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          removeBuildDir();
          return;
        }
        child.ref(); // wait for the exit even if nothing else keeps us alive
        await killAll();
      })();
      return stopping;
    },
  };
}
