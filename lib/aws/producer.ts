/**
 * Kinesis producer: batches entries into PutRecords calls (≤ 500 records, ≤ 5 MiB), retries only
 * the failed entries with capped, jittered exponential backoff, and bounds memory: `put()` waits
 * while `maxBufferedRecords` entries are unacknowledged, so a slow or throttled stream slows the
 * source down instead of growing a queue.
 *
 * Ordering: entries are grouped in one lane per predicted shard and a lane has at most one request
 * in flight, so two requests that could land on the same shard never race; per-partition-key
 * order then holds as long as Kinesis accepts every entry. When Kinesis rejects some entries of a
 * call (throttling), only those are resent, after their batch-mates that succeeded: the same
 * trade-off as the KPL (see docs/reliability.md).
 *
 * Aggregation (`aggregate: true`): a lane packs consecutive entries into KPL aggregated records
 * (lib/records/kpl-format.ts; ≤ `maxAggregatedRecords` entries, ≤ `maxAggregatedBytes` each) and sends
 * those in PutRecords batches as above. An aggregate's partition key is its first entry's: every
 * entry of a lane maps to the lane's shard, so the aggregate lands on that shard too (as long as
 * the shard map is current; after a reshard an aggregate may land on the key's new shard, which is
 * where its first entry would have gone anyway). Entries keep their order inside an aggregate;
 * an acknowledged aggregate acknowledges all its entries, in order (same shardId and
 * sequenceNumber, `subSequence` = position inside the aggregate); a rejected aggregate is resent
 * whole. Counts (`accepted`, `acked`, `unacked`, backpressure) stay in entries.
 */
import { PutRecordsCommand, type KinesisClient, type PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import { TickReplayError } from '../errors.ts';
import { silentLogger, type Logger } from '../logging/logger.ts';
import type { Resolved } from '../options.ts';
import { systemClock, type Clock } from '../time/clock.ts';
import { DEFAULT_BACKOFF, type BackoffPolicy } from '../time/backoff.ts';
import { Backoff } from '../time/retry.ts';
import { aggregatedSizeBound, encodeAggregated } from '../records/kpl-format.ts';
import { isRetryableError, isRetryableRecordError } from './retryable.ts';
import type { ShardMap } from './shard-map.ts';

/** Kinesis limits for PutRecords. */
export const MAX_RECORDS_PER_REQUEST = 500;
export const MAX_BYTES_PER_REQUEST = 5 * 1024 * 1024;
export const MAX_BYTES_PER_RECORD = 1024 * 1024;
/** Aggregation targets (the KPL's defaults are 4294967295 records and 51200 bytes). */
export const DEFAULT_AGGREGATED_RECORDS = 500;
export const DEFAULT_AGGREGATED_BYTES = 50 * 1024;

export interface ProducerEntry {
  partitionKey: string;
  data: Uint8Array;
}

export interface AckedEntry<E extends ProducerEntry> {
  entry: E;
  shardId: string;
  sequenceNumber: string;
  /** With aggregation: the entry's position inside the aggregated record (0 otherwise). */
  subSequence: number;
}

export interface ProducerOptions<E extends ProducerEntry> {
  client: Pick<KinesisClient, 'send'>;
  streamName: string;
  /** Without a shard map everything goes through one lane (one request in flight). */
  shardMap?: ShardMap;
  maxInFlight?: number;
  maxBatchRecords?: number;
  maxBatchBytes?: number;
  /** Unacknowledged entries (buffered + in flight) above which `put()` waits. */
  maxBufferedRecords?: number;
  /** How long a partial batch may wait for more entries before it is sent. */
  lingerMs?: number;
  backoff?: BackoffPolicy;
  random?: () => number;
  clock?: Clock;
  logger?: Logger;
  /** Pack entries into KPL aggregated records (see the module comment). Default false. */
  aggregate?: boolean;
  /** With aggregation: at most this many entries per aggregated record (default 500). */
  maxAggregatedRecords?: number;
  /** With aggregation: at most this many bytes per aggregated record (default 50 KiB, at most 1 MiB). */
  maxAggregatedBytes?: number;
  /** Called in order of acknowledgement, once per accepted entry batch. */
  onAck?: (acked: AckedEntry<E>[]) => void;
}

export interface ProducerStats {
  /** Entries accepted by `put()`. */
  accepted: number;
  /** Entries acknowledged by Kinesis. */
  acked: number;
  requests: number;
  /** Entries resent after Kinesis rejected them individually (all entries of a rejected aggregate). */
  retriedEntries: number;
  /** Kinesis records sent (aggregated records count once; = entries sent without aggregation). */
  kinesisRecords: number;
  /** Whole requests resent after a transient failure. */
  retriedRequests: number;
  inFlightRequests: number;
  maxInFlightRequests: number;
  unacked: number;
  maxUnacked: number;
}

export class ProducerError extends TickReplayError {}

interface Lane<E> {
  shardId: string;
  queue: E[];
  bytes: number;
  oldestAt: number;
  busy: boolean;
}

/** One Kinesis record of a request: one entry, or an aggregate of several. */
interface OutRecord<E> {
  partitionKey: string;
  data: Uint8Array;
  entries: E[];
}

const SINGLE_LANE = 'stream';

function entrySize(entry: ProducerEntry): number {
  return entry.data.byteLength + Buffer.byteLength(entry.partitionKey, 'utf8');
}

export class KinesisProducer<E extends ProducerEntry = ProducerEntry> {
  private readonly options: Resolved<ProducerOptions<E>, 'shardMap' | 'onAck'>;

  private readonly lanes = new Map<string, Lane<E>>();
  private readonly lastSequence = new Map<string, string>();
  /** Pending put()/flush() conditions, re-checked whenever entries are acknowledged or fail. */
  private waiters: Array<() => void> = [];
  private lingerArmed = false;
  private flushing = 0;
  private closed = false;
  private failure: TickReplayError | undefined;
  readonly stats: ProducerStats = {
    accepted: 0,
    acked: 0,
    requests: 0,
    retriedEntries: 0,
    kinesisRecords: 0,
    retriedRequests: 0,
    inFlightRequests: 0,
    maxInFlightRequests: 0,
    unacked: 0,
    maxUnacked: 0,
  };

  constructor(options: ProducerOptions<E>) {
    const maxInFlight = options.maxInFlight ?? 4;
    const maxBatchRecords = Math.min(options.maxBatchRecords ?? MAX_RECORDS_PER_REQUEST, MAX_RECORDS_PER_REQUEST);
    const aggregate = options.aggregate ?? false;
    const maxAggregatedRecords = Math.max(1, options.maxAggregatedRecords ?? DEFAULT_AGGREGATED_RECORDS);
    this.options = {
      ...options,
      maxInFlight,
      maxBatchRecords,
      maxBatchBytes: Math.min(options.maxBatchBytes ?? MAX_BYTES_PER_REQUEST, MAX_BYTES_PER_REQUEST),
      aggregate,
      maxAggregatedRecords,
      maxAggregatedBytes: Math.min(options.maxAggregatedBytes ?? DEFAULT_AGGREGATED_BYTES, MAX_BYTES_PER_RECORD),
      // Aggregated requests carry many entries each: allow enough of them in flight to fill requests.
      maxBufferedRecords: options.maxBufferedRecords ?? maxInFlight * maxBatchRecords * 2 * (aggregate ? Math.min(maxAggregatedRecords, 10) : 1),
      lingerMs: options.lingerMs ?? 20,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      random: options.random ?? Math.random,
      clock: options.clock ?? systemClock,
      logger: options.logger ?? silentLogger,
    };
    if (this.options.maxInFlight < 1 || this.options.maxBufferedRecords < 1) throw new RangeError('maxInFlight and maxBufferedRecords must be >= 1');
  }

  /** Highest acknowledged sequence number per shard (what a consumer must reach to have seen everything). */
  acknowledgedPositions(): ReadonlyMap<string, string> {
    return this.lastSequence;
  }

  /**
   * Queues one entry. Resolves at once while there is room, otherwise when enough entries have
   * been acknowledged: awaiting it is the backpressure.
   */
  async put(entry: E): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (this.closed) throw new ProducerError('producer is closed');
    const size = entrySize(entry);
    if (size > MAX_BYTES_PER_RECORD) {
      throw new ProducerError(`record of ${size} bytes exceeds the Kinesis limit of ${MAX_BYTES_PER_RECORD} bytes`, {
        partitionKey: entry.partitionKey,
      });
    }
    const laneId = this.options.shardMap === undefined ? SINGLE_LANE : this.options.shardMap.shardFor(entry.partitionKey);
    let lane = this.lanes.get(laneId);
    if (lane === undefined) {
      lane = { shardId: laneId, queue: [], bytes: 0, oldestAt: 0, busy: false };
      this.lanes.set(laneId, lane);
    }
    if (lane.queue.length === 0) lane.oldestAt = this.options.clock.now();
    lane.queue.push(entry);
    lane.bytes += size;
    this.stats.accepted++;
    this.stats.unacked++;
    if (this.stats.unacked > this.stats.maxUnacked) this.stats.maxUnacked = this.stats.unacked;
    this.pump();
    if (this.stats.unacked >= this.options.maxBufferedRecords) await this.waitFor(() => this.stats.unacked < this.options.maxBufferedRecords);
  }

  /**
   * Sends everything queued and resolves when all of it is acknowledged, or when `signal` aborts
   * (then `stats.unacked` tells what was not acknowledged).
   */
  async flush(signal?: AbortSignal): Promise<void> {
    this.flushing++;
    try {
      this.pump();
      await this.waitFor(() => this.stats.unacked === 0, signal);
    } finally {
      this.flushing--;
    }
  }

  /** Flushes, then refuses further entries. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  /** Gives up: pending and future put()/flush() calls reject with `error`; retries stop. */
  abort(error: Error): void {
    this.fail(error, 'all');
  }

  private waitFor(done: () => boolean, signal?: AbortSignal): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (done() || signal?.aborted === true) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => resolve();
      signal?.addEventListener('abort', onAbort, { once: true });
      const check = (): void => {
        if (this.failure !== undefined) reject(this.failure);
        else if (done() || signal?.aborted === true) resolve();
        else {
          this.waiters.push(check);
          return;
        }
        signal?.removeEventListener('abort', onAbort);
      };
      this.waiters.push(check);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const check of waiters) check();
  }

  /** Dispatches every lane that is due and not busy, within the in-flight limit. */
  private pump(): void {
    if (this.failure !== undefined) return;
    const now = this.options.clock.now();
    let nextDue = Infinity;
    for (const lane of this.lanes.values()) {
      if (lane.busy || lane.queue.length === 0) continue;
      const due =
        this.flushing > 0 ||
        lane.queue.length >= this.options.maxBatchRecords * (this.options.aggregate ? this.options.maxAggregatedRecords : 1) ||
        lane.bytes >= this.options.maxBatchBytes ||
        now - lane.oldestAt >= this.options.lingerMs;
      if (due && this.stats.inFlightRequests < this.options.maxInFlight) {
        this.dispatch(lane);
      } else if (!due) {
        nextDue = Math.min(nextDue, lane.oldestAt + this.options.lingerMs);
      }
    }
    if (nextDue !== Infinity && !this.lingerArmed) {
      this.lingerArmed = true;
      void this.options.clock.sleep(Math.max(0, nextDue - now)).then(() => {
        this.lingerArmed = false;
        this.pump();
      });
    }
  }

  private dispatch(lane: Lane<E>): void {
    const { records, entries, bytes } = this.options.aggregate ? this.takeAggregated(lane) : this.takePlain(lane);
    lane.queue.splice(0, entries);
    lane.bytes -= bytes;
    lane.oldestAt = this.options.clock.now();
    lane.busy = true;
    this.stats.inFlightRequests++;
    if (this.stats.inFlightRequests > this.stats.maxInFlightRequests) this.stats.maxInFlightRequests = this.stats.inFlightRequests;
    void this.send(lane, records).finally(() => {
      lane.busy = false;
      this.stats.inFlightRequests--;
      this.pump();
    });
  }

  /** The lane's next request, one Kinesis record per entry. */
  private takePlain(lane: Lane<E>): { records: OutRecord<E>[]; entries: number; bytes: number } {
    const records: OutRecord<E>[] = [];
    let bytes = 0;
    while (records.length < lane.queue.length && records.length < this.options.maxBatchRecords) {
      const entry = lane.queue[records.length] as E;
      const size = entrySize(entry);
      if (records.length > 0 && bytes + size > this.options.maxBatchBytes) break;
      bytes += size;
      records.push({ partitionKey: entry.partitionKey, data: entry.data, entries: [entry] });
    }
    return { records, entries: records.length, bytes };
  }

  /**
   * The lane's next request with consecutive entries packed into aggregated records. An entry too
   * big to share an aggregate goes alone, unaggregated (the consumer reads both kinds).
   */
  private takeAggregated(lane: Lane<E>): { records: OutRecord<E>[]; entries: number; bytes: number } {
    const queue = lane.queue;
    const records: OutRecord<E>[] = [];
    let taken = 0;
    let entryBytes = 0;
    let requestBytes = 0;
    while (taken < queue.length && records.length < this.options.maxBatchRecords) {
      let count = 0;
      let bytes = 0;
      while (taken + count < queue.length && count < this.options.maxAggregatedRecords) {
        const size = entrySize(queue[taken + count] as E);
        if (aggregatedSizeBound(count + 1, bytes + size) > this.options.maxAggregatedBytes) break;
        bytes += size;
        count++;
      }
      const first = queue[taken] as E;
      let record: OutRecord<E>;
      if (count === 0) {
        count = 1;
        bytes = entrySize(first);
        record = { partitionKey: first.partitionKey, data: first.data, entries: [first] };
      } else {
        const entries = queue.slice(taken, taken + count);
        record = { partitionKey: first.partitionKey, data: encodeAggregated(entries), entries };
      }
      const size = record.data.byteLength + Buffer.byteLength(record.partitionKey, 'utf8');
      if (records.length > 0 && requestBytes + size > this.options.maxBatchBytes) break;
      records.push(record);
      requestBytes += size;
      entryBytes += bytes;
      taken += count;
    }
    return { records, entries: taken, bytes: entryBytes };
  }

  private async send(lane: Lane<E>, batch: OutRecord<E>[]): Promise<void> {
    let pending = batch;
    // Whole-request retries and entry resends of this batch share one growing delay.
    const backoff = new Backoff({ policy: this.options.backoff, clock: this.options.clock, random: this.options.random });
    while (pending.length > 0 && this.failure === undefined) {
      let results: PutRecordsResultEntry[];
      try {
        this.stats.requests++;
        this.stats.kinesisRecords += pending.length;
        const response = await this.options.client.send(
          new PutRecordsCommand({
            StreamName: this.options.streamName,
            Records: pending.map((r) => ({ Data: r.data, PartitionKey: r.partitionKey })),
          }),
        );
        results = response.Records ?? [];
        if (results.length !== pending.length) {
          throw new ProducerError(`PutRecords answered ${results.length} results for ${pending.length} records`);
        }
      } catch (error) {
        if (!isRetryableError(error)) {
          this.fail(error, lane.shardId);
          return;
        }
        this.stats.retriedRequests++;
        await backoff.pause(undefined, ({ attempt, delayMs }) =>
          this.options.logger.warn('PutRecords failed, retrying', { shard: lane.shardId, records: pending.length, attempt, delayMs, error }),
        );
        continue;
      }

      const acked: AckedEntry<E>[] = [];
      const failed: OutRecord<E>[] = [];
      let failedEntries = 0;
      let fatalCode: string | undefined;
      for (let i = 0; i < results.length; i++) {
        const result = results[i] as PutRecordsResultEntry;
        const record = pending[i] as OutRecord<E>;
        if (result.ErrorCode === undefined || result.ErrorCode === null) {
          const shardId = result.ShardId ?? lane.shardId;
          const sequenceNumber = result.SequenceNumber ?? '';
          for (let sub = 0; sub < record.entries.length; sub++) {
            acked.push({ entry: record.entries[sub] as E, shardId, sequenceNumber, subSequence: sub });
          }
        } else {
          if (!isRetryableRecordError(result.ErrorCode)) fatalCode ??= `${result.ErrorCode}: ${result.ErrorMessage ?? ''}`;
          failed.push(record);
          failedEntries += record.entries.length;
        }
      }
      this.acknowledge(acked);
      if (fatalCode !== undefined) {
        this.fail(new ProducerError(`Kinesis rejected a record: ${fatalCode}`), lane.shardId);
        return;
      }
      if (failed.length > 0) {
        this.stats.retriedEntries += failedEntries;
        await backoff.pause(undefined, ({ delayMs }) =>
          this.options.logger.debug('PutRecords entries rejected, resending only those', {
            shard: lane.shardId,
            failed: failed.length,
            failedEntries,
            of: pending.length,
            delayMs,
          }),
        );
      }
      pending = failed;
    }
  }

  private acknowledge(acked: AckedEntry<E>[]): void {
    if (acked.length === 0) return;
    let last: AckedEntry<E> | undefined;
    for (const a of acked) {
      // The entries of one aggregate share a sequence number: compare it once.
      if (last !== undefined && last.sequenceNumber === a.sequenceNumber && last.shardId === a.shardId) continue;
      last = a;
      const previous = this.lastSequence.get(a.shardId);
      if (previous === undefined || BigInt(a.sequenceNumber) > BigInt(previous)) this.lastSequence.set(a.shardId, a.sequenceNumber);
    }
    this.stats.acked += acked.length;
    this.stats.unacked -= acked.length;
    this.options.onAck?.(acked);
    this.wake();
  }

  private fail(error: unknown, shardId: string): void {
    if (this.failure !== undefined) return;
    this.failure =
      error instanceof TickReplayError
        ? error
        : new ProducerError(`PutRecords to stream "${this.options.streamName}" failed: ${(error as Error).message ?? String(error)}`, { shardId }, { cause: error });
    this.options.logger.error('producer stopped on a non-retryable error', { shard: shardId, error: this.failure });
    this.wake();
  }
}
