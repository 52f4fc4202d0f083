/**
 * A consumer application as `run`, `up` and `consume` start it: one worker in this process, or N
 * worker processes sharing the shards through leases (consumer-workers.ts). The application name
 * keys its leases and checkpoints; a one-shot run's id selects its records and starts each shard
 * at the run's floor, otherwise every record but those of one-shot runs is consumed.
 */
import type { _Record as KinesisRecord } from '@aws-sdk/client-kinesis';
import type { Config } from '../config.ts';
import type { Logger } from '../logging/logger.ts';
import type { MidPriceHandlerOptions } from '../../functions/mid-price.ts';
import { recordHasPrefix, recordPrefixForRun, RUN_STAMPED_PREFIX } from '../records/quote-record.ts';
import type { Clock } from '../time/clock.ts';
import type { AwsEnvironment } from './aws-environment.ts';
import { startWorkerPool, type WorkerStart } from './consumer-workers.ts';
import { createLocalConsumer, type LocalConsumer } from './local-consumer.ts';

/** The consumer application of the long-running stack (its checkpoints persist across restarts). */
export const DEFAULT_APP = 'mid-price';

/**
 * Which records a consumer application sees: a one-shot run's own (stamped with its id), or,
 * for a long-running application, everything except the records of one-shot runs.
 */
export function consumerFilter(run: string | undefined): (record: KinesisRecord) => boolean {
  if (run === undefined) return (record) => !recordHasPrefix(record.Data, RUN_STAMPED_PREFIX);
  const prefix = recordPrefixForRun(run);
  return (record) => recordHasPrefix(record.Data, prefix);
}

export interface ConsumerApplicationOptions {
  aws: AwsEnvironment;
  config: Config;
  logger: Logger;
  app: string;
  /** 1: in this process; N > 1: N worker processes. */
  workers: number;
  /** Where shards never consumed by the application start (ignored for a run: its floors). */
  from: WorkerStart;
  /** A one-shot run's id: only its records, from the floors it sets (LeaseTable.setFloor). */
  run?: string;
  /** In-process only: told each batch the handler wrote. */
  onBatch?: MidPriceHandlerOptions['onBatch'];
  /**
   * In-process only: the caller's producer tells the worker about every put (`local.mapping.recordsPut`),
   * so it waits for that instead of polling a shard at its tip (EventSourceMapping's `wokenOnPut`).
   */
  wokenOnPut?: boolean;
  clock?: Clock;
}

export interface ConsumerApplication {
  /** The in-process worker (undefined with worker processes, whose numbers stay in them). */
  local: LocalConsumer | undefined;
  /** Aborted, with the reason, when nothing consumes any more: every worker process died. */
  failed: AbortSignal;
  /**
   * Everything is put: every worker writes the checkpoints it owes now rather than after
   * checkpointIdleMs of quiet (EventSourceMapping.checkpointPromptly; worker processes are told
   * over their IPC channel), so that a drain waiting for them ends as soon as the output is written.
   */
  checkpointPromptly(): void;
  /** Stops (batches in hand checkpointed, leases released); the peak RSS of each worker process. */
  stop(): Promise<number[]>;
}

/** One worker of the application in this process, started (its free leases taken). */
export async function startLocalWorker(options: Omit<ConsumerApplicationOptions, 'workers'>): Promise<LocalConsumer> {
  const { run } = options;
  const local = createLocalConsumer({
    aws: options.aws,
    config: options.config,
    logger: options.logger,
    app: options.app,
    startingPosition: run !== undefined ? 'FLOOR' : options.from === 'latest' ? 'LATEST' : 'TRIM_HORIZON',
    filter: consumerFilter(run),
    onBatch: options.onBatch,
    wokenOnPut: options.wokenOnPut,
    clock: options.clock,
  });
  await local.mapping.start();
  return local;
}

export async function startConsumerApplication(options: ConsumerApplicationOptions): Promise<ConsumerApplication> {
  const { aws, config, logger, app, run } = options;
  const failed = new AbortController();
  if (options.workers === 1) {
    const local = await startLocalWorker(options);
    return { local, failed: failed.signal, checkpointPromptly: () => local.mapping.checkpointPromptly(), stop: async () => (await local.mapping.stop(), []) };
  }
  // The workers call what this process calls: the same endpoints (the embedded stack's included).
  const pool = startWorkerPool({ count: options.workers, endpoints: aws.endpoints, config, app, from: options.from, run, logger });
  pool.allDied.catch((error: unknown) => failed.abort(error));
  return { local: undefined, failed: failed.signal, checkpointPromptly: () => pool.checkpointPromptly(), stop: () => pool.stop() };
}
