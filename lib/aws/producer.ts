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
 * Resharding: the shard map (which shard a key lands on) goes stale when the stream is split or
 * merged. It is listed again when Kinesis answers that a record landed on another shard than
 * predicted, and every `shardMapRefreshMs`. A changed map takes effect behind a barrier: nothing
 * is dispatched until every request sent under the old map is answered, then the queued entries
 * are moved to the lanes of the new map in their order — so a key's requests never race across
 * the change, whatever lanes the old and new shards give it.
 *
 * Aggregation (`aggregate: true`): a request packs its lane's entries into KPL aggregated records
 * (lib/records/kpl-format.ts; ≤ `maxAggregatedRecords` entries, ≤ `maxAggregatedBytes` each), one
 * partition key per aggregate: an aggregate then lands exactly where its key's records go, also
 * while the map is stale (a mixed one would carry other keys' quotes to the first key's shard, out
 * of order with their records on their own shard). Entries keep their order inside an aggregate
 * and a key's aggregates follow each other in the request; an acknowledged aggregate acknowledges
 * all its entries, in order (same shardId and sequenceNumber, `subSequence` = position inside the
 * aggregate); a rejected aggregate is resent whole. Counts (`accepted`, `acked`, `unacked`,
 * backpressure) stay in entries.
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
import { loadShardMap, type ShardMap } from './shard-map.ts';

/** Kinesis limits for PutRecords. */
export const MAX_RECORDS_PER_REQUEST = 500;
export const MAX_BYTES_PER_REQUEST = 5 * 1024 * 1024;
export const MAX_BYTES_PER_RECORD = 1024 * 1024;
/** Aggregation targets (the KPL's defaults are 4294967295 records and 51200 bytes). */
export const DEFAULT_AGGREGATED_RECORDS = 500;
export const DEFAULT_AGGREGATED_BYTES = 50 * 1024;
/** How often the shard map is listed again even when nothing says it is stale. */
export const DEFAULT_SHARD_MAP_REFRESH_MS = 30_000;
/**
 * How long a partial batch waits for more entries. Under a backlog it does not matter (a lane is
 * sent as soon as its request in flight is answered, its entries being older than this by then);
 * at a paced rate it is the largest share of a quote's delivery latency: a quote that just missed
 * a request waits all of it. 10 ms rather than 20: in alternated 60 s `up --speed 1` runs on the
 * shared 2-core machine, delivery p50 14–15 against 20–23 ms and p99 70–85 against 84–94 ms, for
 * 0.08 of a core more (about twice the PutRecords, 100 a second at 500 quotes a second).
 */
export const DEFAULT_LINGER_MS = 10;

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
  /** Lists the shard map again (default: ListShards on the stream). */
  loadShardMap?: () => Promise<ShardMap>;
  /** The shard map is listed again at least this often (default 30 s), and whenever it proves stale. */
  shardMapRefreshMs?: number;
  maxInFlight?: number;
  maxBatchRecords?: number;
  maxBatchBytes?: number;
  /** Unacknowledged entries (buffered + in flight) above which `put()` waits. */
  maxBufferedRecords?: number;
  /** How long a partial batch may wait for more entries before it is sent (default DEFAULT_LINGER_MS). */
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
  /**
   * Told after each PutRecords reply which shards its accepted records landed on (each once,
   * rejected records not counted), before they are acknowledged: a consumer in the same process
   * can read them now instead of at its next idle poll (EventSourceMapping.recordsPut).
   */
  onRecordsLanded?: (shardIds: readonly string[]) => void;
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
  /** Times a changed shard map (a reshard) was put into effect. */
  shardMapChanges: number;
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
  /** The lane (predicted shard) the entries came from. */
  lane: Lane<E>;
}

/** What is left of a request's limits while lanes are added to it. */
interface Room {
  records: number;
  bytes: number;
}

const SINGLE_LANE = 'stream';

function entrySize(entry: ProducerEntry): number {
  return entry.data.byteLength + Buffer.byteLength(entry.partitionKey, 'utf8');
}

export class KinesisProducer<E extends ProducerEntry = ProducerEntry> {
  private readonly options: Resolved<ProducerOptions<E>, 'shardMap' | 'onAck' | 'onRecordsLanded'>;
  private shardMap: ShardMap | undefined;
  /** A changed map waiting for the requests sent under the current one to be answered. */
  private nextShardMap: ShardMap | undefined;
  private mapRefresh: Promise<void> | undefined;
  private mapListedAt: number;

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
    shardMapChanges: 0,
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
      lingerMs: options.lingerMs ?? DEFAULT_LINGER_MS,
      loadShardMap: options.loadShardMap ?? (() => loadShardMap(options.client, options.streamName)),
      shardMapRefreshMs: options.shardMapRefreshMs ?? DEFAULT_SHARD_MAP_REFRESH_MS,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      random: options.random ?? Math.random,
      clock: options.clock ?? systemClock,
      logger: options.logger ?? silentLogger,
    };
    if (this.options.maxInFlight < 1 || this.options.maxBufferedRecords < 1) throw new RangeError('maxInFlight and maxBufferedRecords must be >= 1');
    this.shardMap = options.shardMap;
    this.mapListedAt = this.options.clock.now();
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
    this.enqueue(entry, size);
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

  /** Appends an entry to the lane of the shard its key lands on (by the current map). */
  private enqueue(entry: E, size: number): void {
    const laneId = this.shardMap === undefined ? SINGLE_LANE : this.shardMap.shardFor(entry.partitionKey);
    let lane = this.lanes.get(laneId);
    if (lane === undefined) {
      lane = { shardId: laneId, queue: [], bytes: 0, oldestAt: 0, busy: false };
      this.lanes.set(laneId, lane);
    }
    if (lane.queue.length === 0) lane.oldestAt = this.options.clock.now();
    lane.queue.push(entry);
    lane.bytes += size;
  }

  /** Lists the shard map again (unless a listing is under way); a changed one takes effect in `pump`. */
  private refreshShardMap(reason: string): void {
    if (this.shardMap === undefined || this.mapRefresh !== undefined || this.closed) return;
    this.mapListedAt = this.options.clock.now();
    this.mapRefresh = (async () => {
      try {
        const listed = await this.options.loadShardMap();
        const target = this.nextShardMap ?? this.shardMap;
        if (target === undefined || listed.sameAs(target)) return;
        this.options.logger.info('the stream was resharded: new shard map, in effect once the requests under the old one are answered', {
          reason,
          shards: listed.shardIds,
        });
        this.nextShardMap = listed;
      } catch (error) {
        this.options.logger.warn('cannot list the shards to refresh the shard map; keeping the current one', { reason, error });
      } finally {
        this.mapRefresh = undefined;
        this.pump();
      }
    })();
  }

  /**
   * Puts a changed shard map into effect once nothing sent under the old one is in flight: every
   * queued entry moves, in order, to the lane of its key's new shard. A key's entries all sat in
   * one old lane, so they stay in order in their new one.
   */
  private applyShardMap(map: ShardMap): void {
    const old = [...this.lanes.values()];
    this.lanes.clear();
    this.shardMap = map;
    this.nextShardMap = undefined;
    this.stats.shardMapChanges++;
    for (const lane of old) for (const entry of lane.queue) this.enqueue(entry, entrySize(entry));
  }

  /** Dispatches every lane that is due and not busy, within the in-flight limit. */
  private pump(): void {
    if (this.failure !== undefined) return;
    if (this.nextShardMap !== undefined) {
      // The barrier: a request under the new map must not race one still in flight under the old.
      if (this.stats.inFlightRequests > 0) return;
      this.applyShardMap(this.nextShardMap);
    }
    const now = this.options.clock.now();
    if (now - this.mapListedAt >= this.options.shardMapRefreshMs) this.refreshShardMap('periodic refresh');
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

  /**
   * Sends `lane`'s next request, filled up with the entries of every other idle lane while the
   * request has room: at a paced rate (a few entries per linger on each shard) one request then
   * carries all the shards' entries instead of one request per shard — fewer round trips on both
   * sides for the same entries. Each lane in it stays busy until the request is answered, so a lane
   * still has at most one request in flight and per-key order holds as before.
   */
  private dispatch(lane: Lane<E>): void {
    const room: Room = { records: this.options.maxBatchRecords, bytes: this.options.maxBatchBytes };
    const records: OutRecord<E>[] = [];
    const lanes: Array<Lane<E>> = [];
    const now = this.options.clock.now();
    for (const candidate of [lane, ...this.lanes.values()]) {
      if (room.records <= 0) break;
      if (candidate.busy || candidate.queue.length === 0) continue;
      const taken = this.options.aggregate ? this.takeAggregated(candidate, room) : this.takePlain(candidate, room);
      if (taken.entries === 0) continue;
      for (const record of taken.records) records.push(record);
      candidate.queue.splice(0, taken.entries);
      candidate.bytes -= taken.bytes;
      candidate.oldestAt = now;
      candidate.busy = true;
      lanes.push(candidate);
    }
    this.stats.inFlightRequests++;
    if (this.stats.inFlightRequests > this.stats.maxInFlightRequests) this.stats.maxInFlightRequests = this.stats.inFlightRequests;
    void this.send(lanes, records).finally(() => {
      for (const sent of lanes) sent.busy = false;
      this.stats.inFlightRequests--;
      this.pump();
    });
  }

  /** The lane's part of a request, one Kinesis record per entry, within `room` (taken from it). */
  private takePlain(lane: Lane<E>, room: Room): { records: OutRecord<E>[]; entries: number; bytes: number } {
    const records: OutRecord<E>[] = [];
    // The first entry of a request goes whatever its size (it is within the record limit).
    const empty = room.records === this.options.maxBatchRecords;
    let bytes = 0;
    while (records.length < lane.queue.length && records.length < room.records) {
      const entry = lane.queue[records.length] as E;
      const size = entrySize(entry);
      if (!(empty && records.length === 0) && bytes + size > room.bytes) break;
      bytes += size;
      records.push({ partitionKey: entry.partitionKey, data: entry.data, entries: [entry], lane });
    }
    room.records -= records.length;
    room.bytes -= bytes;
    return { records, entries: records.length, bytes };
  }

  /**
   * The lane's next request with its entries packed into aggregated records, one partition key per
   * aggregate (see the module comment): a prefix of the queue, each entry added to its key's open
   * aggregate or opening a new one while the request has room. An entry too big to share an
   * aggregate goes alone, unaggregated (the consumer reads both kinds).
   */
  private takeAggregated(lane: Lane<E>, room: Room): { records: OutRecord<E>[]; entries: number; bytes: number } {
    const { maxAggregatedRecords, maxAggregatedBytes } = this.options;
    const maxBatchRecords = room.records;
    const maxBatchBytes = room.bytes;
    // The first record of a request goes whatever its size (it is within the record limit).
    const empty = room.records === this.options.maxBatchRecords;
    const queue = lane.queue;
    const groups: Array<{ key: string; entries: E[]; bytes: number; alone: boolean }> = [];
    const open = new Map<string, (typeof groups)[number]>();
    let requestBytes = 0;
    let entryBytes = 0;
    let taken = 0;
    for (; taken < queue.length; taken++) {
      const entry = queue[taken] as E;
      const size = entrySize(entry);
      const group = open.get(entry.partitionKey);
      if (group !== undefined && group.entries.length < maxAggregatedRecords) {
        const grown = aggregatedSizeBound(group.entries.length + 1, group.bytes + size);
        if (grown <= maxAggregatedBytes) {
          const growth = grown - aggregatedSizeBound(group.entries.length, group.bytes);
          if (requestBytes + growth > maxBatchBytes) break;
          group.entries.push(entry);
          group.bytes += size;
          requestBytes += growth;
          entryBytes += size;
          continue;
        }
      }
      if (groups.length >= maxBatchRecords) break;
      const alone = aggregatedSizeBound(1, size) > maxAggregatedBytes;
      const recordBytes = alone ? size : aggregatedSizeBound(1, size);
      if (!(empty && groups.length === 0) && requestBytes + recordBytes > maxBatchBytes) break;
      const started = { key: entry.partitionKey, entries: [entry], bytes: size, alone };
      groups.push(started);
      requestBytes += recordBytes;
      entryBytes += size;
      if (alone) open.delete(entry.partitionKey);
      else open.set(entry.partitionKey, started);
    }
    const records = groups.map((g) => ({
      partitionKey: g.key,
      data: g.alone ? (g.entries[0] as E).data : encodeAggregated(g.entries),
      entries: g.entries,
      lane,
    }));
    room.records -= records.length;
    room.bytes -= requestBytes;
    return { records, entries: taken, bytes: entryBytes };
  }

  private async send(lanes: ReadonlyArray<Lane<E>>, batch: OutRecord<E>[]): Promise<void> {
    const shards = lanes.map((lane) => lane.shardId).join(',');
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
          this.fail(error, shards);
          return;
        }
        this.stats.retriedRequests++;
        await backoff.pause(undefined, ({ attempt, delayMs }) =>
          this.options.logger.warn('PutRecords failed, retrying', { shard: shards, records: pending.length, attempt, delayMs, error }),
        );
        continue;
      }

      const acked: AckedEntry<E>[] = [];
      const landed = this.options.onRecordsLanded === undefined ? undefined : new Set<string>();
      const failed: OutRecord<E>[] = [];
      let failedEntries = 0;
      let fatalCode: string | undefined;
      for (let i = 0; i < results.length; i++) {
        const result = results[i] as PutRecordsResultEntry;
        const record = pending[i] as OutRecord<E>;
        if (result.ErrorCode === undefined || result.ErrorCode === null) {
          const predicted = record.lane.shardId;
          const shardId = result.ShardId ?? predicted;
          // Landed elsewhere than predicted: the map is stale (a reshard).
          if (this.shardMap !== undefined && shardId !== predicted) this.refreshShardMap(`a record for ${predicted} landed on ${shardId}`);
          landed?.add(shardId);
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
      if (landed !== undefined && landed.size > 0) this.options.onRecordsLanded?.([...landed]);
      this.acknowledge(acked);
      if (fatalCode !== undefined) {
        this.fail(new ProducerError(`Kinesis rejected a record: ${fatalCode}`), shards);
        return;
      }
      if (failed.length > 0) {
        this.stats.retriedEntries += failedEntries;
        await backoff.pause(undefined, ({ delayMs }) =>
          this.options.logger.debug('PutRecords entries rejected, resending only those', {
            shard: shards,
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
