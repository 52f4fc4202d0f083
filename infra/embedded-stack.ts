/**
 * The embedded AWS stack, parent side: starts `emulators-process.ts` (kinesalite + dynalite behind
 * one edge port) as a child process and hands back its endpoint. Stands in for LocalStack on a
 * machine without Docker.
 *
 * No orphans: the child stops itself when its IPC channel to us disconnects, which the OS does
 * whenever this process exits or dies (even by SIGKILL). The child runs in its own process group,
 * so a Ctrl-C in the terminal reaches only us: the CLI decides when to stop (after, say, writing
 * its checkpoint to DynamoDB). This module installs no signal handlers.
 */
import { describeExit, exitWithin, type ChildExit } from './child-exit.ts';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import type { Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TickReplayError } from '../lib/errors.ts';
import { formatAllowedHosts, type AllowedHost } from '../lib/http/allowed-hosts.ts';
import type { Logger, LogLevel } from '../lib/logging/logger.ts';
import type { EmulatorsProcessOptions } from './emulators-options.ts';
import type { EmulatorsMessage } from './emulators-process.ts';

/** The embedded stack could not start, or stopped unexpectedly. */
export class EmbeddedStackError extends TickReplayError {}

export type EmbeddedStackExit = ChildExit;

export interface EmbeddedStack {
  /** `http://127.0.0.1:<edgePort>`: give it to the SDK clients as their endpoint. */
  endpointUrl: string;
  edgePort: number;
  /** The emulator process. */
  pid: number;
  /** The emulators' own ports, behind the edge (for diagnostics and benchmarks). */
  emulatorPorts: { kinesis: number; dynamodb: number };
  /** Settles (never rejects) when the emulator process has exited, whatever the reason. */
  exited: Promise<EmbeddedStackExit>;
  /** SIGTERM, wait for a clean exit (up to 5 s, then SIGKILL). Idempotent. */
  stop(): Promise<void>;
}

export interface EmbeddedStackOptions {
  stateDir: string;
  /** 0 = any free port. */
  edgePort: number;
  /** Kinesis open-shard limit across all streams (default 50). */
  shardLimit?: number;
  logger: Logger;
  /** Default 30 s. */
  startTimeoutMs?: number;
  /** Level of the emulator process's own log lines on stderr (default INFO). */
  logLevel?: LogLevel;
  /** The emulator process appends its log lines here instead of inheriting stderr. */
  logFile?: string;
  /** `Host` names the edge answers besides loopback ones (ALLOWED_HOSTS). */
  allowedHosts?: readonly AllowedHost[];
  /**
   * The state table, stream and region the API Gateway's functions (functions/mode.ts behind the
   * edge's invoke URLs) use; default the configuration defaults (tick-replay-state, …, us-east-1).
   */
  functions?: { tableName: string; streamName: string; region: string };
  /** The serverless.yml whose REST API the edge serves (default the project's). */
  serviceFile?: string;
  /** Node flags for the emulator process (a benchmark's `--cpu-prof`; NODE_OPTIONS cannot carry it). */
  nodeFlags?: readonly string[];
}

const HOST = '127.0.0.1';
const DEFAULT_START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;
/** After a start failure the child exits by itself; past this it is killed. */
const FAILED_CHILD_EXIT_MS = 3_000;
const CHILD_ENTRY = fileURLToPath(new URL('./emulators-process.ts', import.meta.url));

type ReadyMessage = Extract<EmulatorsMessage, { type: 'ready' }>;

function isEmulatorsMessage(value: unknown): value is EmulatorsMessage {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return type === 'ready' || type === 'error';
}

async function killAndWait(child: ChildProcess, exited: Promise<EmbeddedStackExit>, graceMs: number): Promise<void> {
  if ((await exitWithin(exited, graceMs)) !== undefined) return;
  child.kill('SIGKILL');
  await exited;
}

function waitForReady(
  child: ChildProcess,
  exited: Promise<EmbeddedStackExit>,
  timeoutMs: number,
  context: Record<string, unknown>,
): Promise<ReadyMessage> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (action: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.off('message', onMessage);
      action();
    };
    const onMessage = (message: unknown): void => {
      if (!isEmulatorsMessage(message)) return;
      if (message.type === 'ready') {
        settle(() => resolve(message));
        return;
      }
      settle(() => {
        // The child exits by itself after reporting; make sure before throwing.
        void killAndWait(child, exited, FAILED_CHILD_EXIT_MS).finally(() =>
          reject(new EmbeddedStackError(message.message, { ...context, code: message.code })),
        );
      });
    };
    const timer = setTimeout(() => {
      settle(() => {
        child.kill('SIGKILL');
        void exited.then(() =>
          reject(new EmbeddedStackError(`embedded stack did not become ready within ${timeoutMs} ms`, context)),
        );
      });
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('error', (error) =>
      settle(() =>
        reject(new EmbeddedStackError(`cannot start the embedded stack: ${error.message}`, context, { cause: error })),
      ),
    );
    void exited.then((exit) =>
      settle(() =>
        reject(new EmbeddedStackError(`embedded stack exited before it was ready (${describeExit(exit)})`, { ...context, ...exit })),
      ),
    );
  });
}

export async function startEmbeddedStack(options: EmbeddedStackOptions): Promise<EmbeddedStack> {
  const logger = options.logger;
  const stateDir = path.resolve(options.stateDir);
  const context = { stateDir, edgePort: options.edgePort };
  try {
    await fs.mkdir(stateDir, { recursive: true });
  } catch (error) {
    throw new EmbeddedStackError(`cannot create state dir ${stateDir}: ${(error as Error).message}`, context, {
      cause: error,
    });
  }

  const childOptions: EmulatorsProcessOptions = {
    stateDir,
    edgePort: options.edgePort,
    host: HOST,
    shardLimit: options.shardLimit ?? 50,
    logLevel: options.logLevel ?? 'INFO',
    logFile: options.logFile,
    allowedHosts: formatAllowedHosts(options.allowedHosts ?? []),
    serviceFile: options.serviceFile,
    functions: options.functions,
  };
  const child = spawn(
    process.execPath,
    [...(options.nodeFlags ?? []), '--import', import.meta.resolve('tsx'), CHILD_ENTRY, JSON.stringify(childOptions)],
    {
      // stdout is ours (command results): the child's goes to the logger. stderr: its log lines.
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      // Own process group: a terminal's Ctrl-C reaches the CLI, which decides when to stop us.
      detached: true,
    },
  );
  const exited = new Promise<EmbeddedStackExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) if (line.trim() !== '') logger.info('emulator output', { line });
  });

  const ready = await waitForReady(child, exited, options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS, context);
  const pid = child.pid ?? 0;

  // The stack alone does not keep this process alive: when the parent has nothing left to do it
  // exits, and the child follows through `disconnect`.
  child.unref();
  child.channel?.unref();
  (child.stdout as Socket | null)?.unref();

  let stopping: Promise<void> | undefined;
  void exited.then((exit) => {
    if (stopping === undefined) {
      logger.error('embedded stack exited unexpectedly', { pid, ...exit });
    } else {
      logger.info('embedded stack stopped', { pid, ...exit });
    }
  });

  const endpointUrl = `http://${HOST}:${ready.edgePort}`;
  logger.info('embedded stack started', {
    endpointUrl,
    pid,
    stateDir,
    kinesisPort: ready.kinesisPort,
    dynamodbPort: ready.dynamodbPort,
  });

  return {
    endpointUrl,
    edgePort: ready.edgePort,
    pid,
    emulatorPorts: { kinesis: ready.kinesisPort, dynamodb: ready.dynamodbPort },
    exited,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.ref(); // wait for the exit even if nothing else keeps us alive
        child.kill('SIGTERM');
        const exit = await exitWithin(exited, STOP_TIMEOUT_MS);
        if (exit === undefined) {
          logger.warn('embedded stack did not stop in time; killing it', { pid, timeoutMs: STOP_TIMEOUT_MS });
          child.kill('SIGKILL');
          await exited;
        }
      })();
      return stopping;
    },
  };
}
