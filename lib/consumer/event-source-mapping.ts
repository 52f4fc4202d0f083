/**
 * A local Kinesis event source mapping: what Lambda does on AWS, done by polling.
 *
 * For every shard: GetShardIterator (after the checkpoint, or at the starting position), then
 * GetRecords up to `batchSize`, invoke the handler with a real `KinesisStreamEvent`, and advance a
 * per-shard checkpoint in DynamoDB only after the handler succeeded. With ReportBatchItemFailures
 * semantics the checkpoint moves up to the record before the first reported failure and the batch
 * is retried from that record; a thrown error (or an unknown item identifier) retries the whole
 * batch. Retries back off with capped, jittered exponential delays and never skip a record:
 * Lambda's default (retry until success) — a poison record must be dead-lettered by the handler.
 */
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  type _Record as KinesisRecord,
  type ShardIteratorType,
} from '@aws-sdk/client-kinesis';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { errorName } from '../errors.ts';
import { silentLogger, type Logger } from '../logging/logger.ts';
import { systemClock, type Clock } from '../replay/clock.ts';
import { DEFAULT_BACKOFF, backoffDelayMs, type BackoffPolicy } from '../aws/backoff.ts';
import { isRetryableError } from '../aws/retryable.ts';
import { listShards } from '../aws/shard-map.ts';
import { toKinesisStreamEvent } from './kinesis-event.ts';
import type { ShardCheckpointStore } from './shard-checkpoints.ts';

export type BatchInvoker = (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse | void | undefined>;

export type StartingPosition = 'TRIM_HORIZON' | 'LATEST';

export interface EventSourceMappingOptions {
  kinesis: Pick<KinesisClient, 'send'>;
  checkpoints: ShardCheckpointStore;
  streamName: string;
  streamArn: string;
  region: string;
  functionArn?: string;
  invoke: BatchInvoker;
  batchSize: number;
  /**
   * Lambda event filtering (FilterCriteria): records that do not match never reach the handler
   * and count as processed, so the checkpoint moves past them.
   */
  filter?: (record: KinesisRecord) => boolean;
  /** Where a shard without a checkpoint starts (Lambda's StartingPosition). */
  startingPosition: StartingPosition;
  /** Pause after an empty GetRecords (Lambda polls each shard about once a second; locally faster). */
  idlePollMs?: number;
  backoff?: BackoffPolicy;
  random?: () => number;
  clock?: Clock;
  logger?: Logger;
}

export interface MappingStats {
  invocations: number;
  records: number;
  failedInvocations: number;
  retriedRecords: number;
}

/** Index of the first record Lambda would retry from, or undefined when the batch succeeded. */
export function firstFailureIndex(
  response: KinesisStreamBatchResponse | void | undefined,
  records: readonly Pick<KinesisRecord, 'SequenceNumber'>[],
): number | undefined {
  const failures = response?.batchItemFailures ?? [];
  if (failures.length === 0) return undefined;
  let first = Infinity;
  for (const failure of failures) {
    const index = records.findIndex((r) => r.SequenceNumber === failure.itemIdentifier);
    // Lambda treats an empty or unknown identifier as a failure of the whole batch.
    if (index < 0) return 0;
    first = Math.min(first, index);
  }
  return first;
}

export class EventSourceMapping {
  private readonly opts: Required<Omit<EventSourceMappingOptions, 'filter'>> & Pick<EventSourceMappingOptions, 'filter'>;
  private readonly processed = new Map<string, string>();
  private readonly stopController = new AbortController();
  private loops: Promise<void>[] = [];
  private progressListeners = new Set<() => void>();
  readonly stats: MappingStats = { invocations: 0, records: 0, failedInvocations: 0, retriedRecords: 0 };

  constructor(options: EventSourceMappingOptions) {
    // `??` rather than spreading over defaults: an explicit `undefined` option keeps the default.
    this.opts = {
      ...options,
      idlePollMs: options.idlePollMs ?? 200,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      random: options.random ?? Math.random,
      clock: options.clock ?? systemClock,
      logger: options.logger ?? silentLogger,
      functionArn: options.functionArn ?? `arn:aws:lambda:${options.region}:000000000000:function:midPrice`,
    };
  }

  /**
   * Lists the shards and pins an iterator for each before resolving: records put after
   * `start()` resolved are seen even with `LATEST`.
   */
  async start(): Promise<void> {
    const shards = await listShards(this.opts.kinesis, this.opts.streamName);
    const iterators = await Promise.all(shards.map(async (s) => [s.ShardId ?? '', await this.initialIterator(s.ShardId ?? '')] as const));
    this.opts.logger.info('event source mapping started', { stream: this.opts.streamName, shards: shards.length, batchSize: this.opts.batchSize });
    this.loops = iterators.map(([shardId, iterator]) => this.pollShard(shardId, iterator));
  }

  /** Stops polling after the invocation in progress (its checkpoint is written first). */
  async stop(): Promise<void> {
    this.stopController.abort();
    await Promise.all(this.loops);
    this.notify();
  }

  /** Sequence number of the last record processed, per shard. */
  processedPositions(): ReadonlyMap<string, string> {
    return this.processed;
  }

  /** Resolves once every shard has been processed up to (at least) the given sequence numbers. */
  async waitForPositions(targets: ReadonlyMap<string, string>, signal?: AbortSignal): Promise<void> {
    const reached = (): boolean =>
      [...targets].every(([shardId, seq]) => {
        const done = this.processed.get(shardId);
        return done !== undefined && BigInt(done) >= BigInt(seq);
      });
    while (!reached()) {
      if (signal?.aborted || this.stopController.signal.aborted) return;
      await new Promise<void>((resolve) => {
        const onAbort = (): void => resolve();
        signal?.addEventListener('abort', onAbort, { once: true });
        this.progressListeners.add(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
  }

  private notify(): void {
    const listeners = [...this.progressListeners];
    this.progressListeners.clear();
    for (const listener of listeners) listener();
  }

  private async getIterator(shardId: string, type: ShardIteratorType, sequenceNumber?: string): Promise<string | undefined> {
    const out = await this.opts.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: this.opts.streamName,
        ShardId: shardId,
        ShardIteratorType: type,
        StartingSequenceNumber: sequenceNumber,
      }),
    );
    return out.ShardIterator;
  }

  /** Iterator after the checkpoint, or at the starting position for a shard never consumed. */
  private async initialIterator(shardId: string): Promise<string | undefined> {
    const checkpoint = await this.opts.checkpoints.get(shardId);
    if (checkpoint === undefined) return this.getIterator(shardId, this.opts.startingPosition);
    this.processed.set(shardId, checkpoint);
    try {
      return await this.getIterator(shardId, 'AFTER_SEQUENCE_NUMBER', checkpoint);
    } catch (error) {
      // The checkpointed record was trimmed by retention: the oldest record left is next.
      if (errorName(error) !== 'InvalidArgumentException') throw error;
      this.opts.logger.warn('checkpoint no longer in the stream, resuming at TRIM_HORIZON', { shard: shardId, checkpoint });
      return this.getIterator(shardId, 'TRIM_HORIZON');
    }
  }

  private async pollShard(shardId: string, firstIterator: string | undefined): Promise<void> {
    const { clock, logger, backoff, random } = this.opts;
    const stop = this.stopController.signal;
    const log = logger.child(logger === silentLogger ? 'silent' : 'event-source-mapping', { shard: shardId });
    let iterator = firstIterator;
    let pending: KinesisRecord[] = [];
    let attempt = 0;
    const pause = async (reason: string, error?: unknown): Promise<void> => {
      const delay = backoffDelayMs(attempt++, backoff, random);
      log.warn(reason, { attempt, delayMs: delay, error });
      await clock.sleep(delay, stop);
    };

    while (!stop.aborted) {
      if (pending.length === 0) {
        if (iterator === undefined) {
          log.info('shard closed and fully consumed');
          return;
        }
        try {
          const out = await this.opts.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: this.opts.batchSize }));
          pending = out.Records ?? [];
          iterator = out.NextShardIterator;
          attempt = 0;
        } catch (error) {
          if (errorName(error) === 'ExpiredIteratorException') {
            const checkpoint = this.processed.get(shardId);
            log.info('shard iterator expired, resuming from the checkpoint', { checkpoint });
            iterator = await this.resumeIterator(shardId, checkpoint, pause);
            continue;
          }
          if (!isRetryableError(error)) log.error('GetRecords failed with a non-retryable error; retrying', { error });
          await pause('GetRecords failed, retrying', error);
          continue;
        }
        if (pending.length === 0) {
          if (iterator !== undefined) await clock.sleep(this.opts.idlePollMs, stop);
          continue;
        }
      }

      const failureIndex = await this.invoke(shardId, pending, log);
      if (failureIndex === undefined) {
        await this.commit(shardId, pending[pending.length - 1] as KinesisRecord, pause);
        this.stats.records += pending.length;
        pending = [];
        attempt = 0;
        continue;
      }
      if (failureIndex > 0) {
        await this.commit(shardId, pending[failureIndex - 1] as KinesisRecord, pause);
        this.stats.records += failureIndex;
      }
      pending = pending.slice(failureIndex);
      this.stats.retriedRecords += pending.length;
      await pause('handler reported a failure, retrying the batch from the first failed record', {
        firstFailedSequence: pending[0]?.SequenceNumber,
      });
    }
  }

  private async resumeIterator(
    shardId: string,
    checkpoint: string | undefined,
    pause: (reason: string, error?: unknown) => Promise<void>,
  ): Promise<string | undefined> {
    for (;;) {
      try {
        return checkpoint === undefined
          ? await this.getIterator(shardId, this.opts.startingPosition)
          : await this.getIterator(shardId, 'AFTER_SEQUENCE_NUMBER', checkpoint);
      } catch (error) {
        if (this.stopController.signal.aborted) return undefined;
        await pause('GetShardIterator failed, retrying', error);
      }
    }
  }

  private async invoke(shardId: string, records: KinesisRecord[], log: Logger): Promise<number | undefined> {
    const filter = this.opts.filter;
    const matching = filter === undefined ? records : records.filter(filter);
    if (matching.length === 0) return undefined;
    // Failure identifiers are sequence numbers, so they index into the unfiltered batch.
    const event = toKinesisStreamEvent(matching, {
      streamArn: this.opts.streamArn,
      shardId,
      region: this.opts.region,
      functionArn: this.opts.functionArn,
    });
    this.stats.invocations++;
    try {
      const response = await this.opts.invoke(event);
      const index = firstFailureIndex(response, records);
      if (index !== undefined) this.stats.failedInvocations++;
      return index;
    } catch (error) {
      this.stats.failedInvocations++;
      log.error('handler threw; the whole batch will be retried', { records: records.length, error });
      return 0;
    }
  }

  /** Writes the checkpoint (retrying until it sticks: moving on without it would lose the position). */
  private async commit(shardId: string, record: KinesisRecord, pause: (reason: string, error?: unknown) => Promise<void>): Promise<void> {
    const sequenceNumber = record.SequenceNumber ?? '';
    for (;;) {
      try {
        await this.opts.checkpoints.put(shardId, sequenceNumber);
        break;
      } catch (error) {
        if (this.stopController.signal.aborted) return;
        await pause('checkpoint write failed, retrying', error);
      }
    }
    this.processed.set(shardId, sequenceNumber);
    this.notify();
  }
}
