/**
 * Consumer worker processes: `consume --workers N`, `run --workers N` and `up --workers N` fork N
 * copies of `tick-replay consume --worker`, which share the shards through leases. The pool
 * forwards their JSON logs to this process's sink, reports a worker that dies (the others take
 * its shards over once its leases expire), and stops them with SIGTERM (they finish the batch in
 * hand, checkpoint and release their leases), SIGKILL after a grace period.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describeExit, exitWithin, type ChildExit } from '../../infra/child-exit.ts';
import { peakRssMb } from '../system/process-stats.ts';
import { endpointVariables, type ServiceEndpoints } from '../aws/endpoints.ts';
import type { Config } from '../config.ts';
import { TickReplayError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import { describeOutput } from './output-target.ts';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/tick-replay.js');

/** `--from` of `consume`: Lambda's starting positions (a one-shot run's workers start at its floors). */
export type WorkerStart = 'trim-horizon' | 'latest';

export interface WorkerPoolOptions {
  count: number;
  /** Where every worker's calls go, per service (the embedded stack's edge, LocalStack, AWS…). */
  endpoints: ServiceEndpoints;
  config: Config;
  app: string;
  from: WorkerStart;
  /** Consume only the records of this `run` (its id), from the floor the run sets. */
  run?: string;
  logger: Logger;
  /** How long stop() waits for a graceful exit before SIGKILL. */
  stopGraceMs?: number;
}

export class WorkerPoolError extends TickReplayError {}

/** The supervisor's message to its workers: write owed checkpoints now (see checkpointPromptly). */
export const CHECKPOINT_PROMPTLY = { type: 'checkpoint-promptly' } as const;

/** Whether an IPC message from the supervisor is CHECKPOINT_PROMPTLY. */
export function isCheckpointPromptly(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === CHECKPOINT_PROMPTLY.type;
}

export interface WorkerPool {
  readonly pids: readonly number[];
  /** Rejects with WorkerPoolError when every worker has died on its own (nothing consumes any more). */
  readonly allDied: Promise<never>;
  alive(): number;
  /** Tells every live worker to write the checkpoints it owes now (CHECKPOINT_PROMPTLY over IPC). */
  checkpointPromptly(): void;
  /** Stops every worker; resolves to the peak RSS (MB) of each that was still running. */
  stop(): Promise<number[]>;
}

/**
 * The `consume --worker` command line for one worker (flags rather than env: visible in `ps`);
 * the endpoints and the target go in its environment ({@link workerEnvironment}).
 */
export function workerArgs(options: Omit<WorkerPoolOptions, 'count' | 'logger' | 'stopGraceMs' | 'endpoints'>): string[] {
  const { config } = options;
  return [
    'consume',
    '--worker',
    '--app',
    options.app,
    // A run's workers start at the run's floor; `--run` implies it.
    ...(options.run === undefined ? ['--from', options.from] : ['--run', options.run]),
    '--out',
    describeOutput(config),
    // Resolved names: a worker of the `aws` target does not read the stack's outputs again.
    '--stream',
    config.streamName,
    '--table',
    config.tableName,
    '--batch-size',
    String(config.batchSize),
    '--threshold',
    String(config.latencyThresholdMs),
    '--lease-ms',
    String(config.leaseDurationMs),
    '--log-level',
    config.logLevel,
  ];
}

/**
 * A worker's environment: ours, with the resolved endpoints as each service's own variable (so a
 * `--endpoint` flag or a started embedded stack reaches the worker), the target and the region.
 */
export function workerEnvironment(endpoints: ServiceEndpoints, config: Pick<Config, 'target' | 'region'>, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, ...endpointVariables(endpoints), TICK_REPLAY_TARGET: config.target, AWS_REGION: config.region };
}

export function startWorkerPool(options: WorkerPoolOptions): WorkerPool {
  const { logger } = options;
  const args = workerArgs(options);
  const children: Array<{ child: ChildProcess; exited: Promise<ChildExit> }> = [];
  let stopping = false;
  let dead = 0;
  let failAll: (error: WorkerPoolError) => void = () => undefined;
  const allDied = new Promise<never>((_, reject) => (failAll = reject));
  // Nobody may be listening (a pool stopped normally): an unobserved rejection must not crash.
  allDied.catch(() => undefined);

  for (let i = 0; i < options.count; i++) {
    const child = fork(BIN, args, {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      // Its own process group: Ctrl-C on the terminal reaches only this supervisor, which stops
      // the workers in order (a worker still stops if the supervisor dies: its IPC channel closes).
      detached: true,
      env: workerEnvironment(options.endpoints, options.config),
    });
    const worker = i + 1;
    // Workers log JSON lines to stderr: into this process's sink, so the routing (terminal → log
    // file, otherwise stderr) is the same for every process.
    if (child.stderr !== null) {
      createInterface({ input: child.stderr }).on('line', (line) => {
        if (line.startsWith('{')) logger.sink(line);
        else if (line.trim() !== '') logger.warn('consumer worker wrote', { worker, pid: child.pid, line });
      });
    }
    const exited = new Promise<ChildExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    void exited.then((exit) => {
      if (stopping) return;
      dead++;
      logger.error('consumer worker died; the other workers take its shards over when its leases expire', {
        worker,
        pid: child.pid,
        exit: describeExit(exit),
        alive: options.count - dead,
      });
      if (dead === options.count) failAll(new WorkerPoolError(`all ${options.count} consumer workers died (last: ${describeExit(exit)})`));
    });
    children.push({ child, exited });
  }
  logger.info('consumer workers started', { count: options.count, app: options.app, pids: children.map((c) => c.child.pid) });

  return {
    pids: children.map((c) => c.child.pid ?? -1),
    allDied,
    alive: () => children.filter((c) => c.child.exitCode === null && c.child.signalCode === null).length,
    checkpointPromptly: () => {
      for (const { child } of children) {
        // A worker that died or is stopping cannot take it: nothing to tell (the drain still ends).
        if (child.connected) child.send(CHECKPOINT_PROMPTLY, (error) => error === null || logger.debug('could not tell a consumer worker to checkpoint promptly', { pid: child.pid, error }));
      }
    },
    stop: async () => {
      stopping = true;
      const peaks: number[] = [];
      await Promise.all(
        children.map(async ({ child, exited }) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const peak = await peakRssMb(child.pid);
          if (peak !== undefined) peaks.push(peak);
          child.kill('SIGTERM');
          if ((await exitWithin(exited, options.stopGraceMs ?? 15_000)) === undefined) {
            logger.warn('consumer worker did not stop in time; killing it', { pid: child.pid });
            child.kill('SIGKILL');
            await exited;
          }
        }),
      );
      return peaks;
    },
  };
}
