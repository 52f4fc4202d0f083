/**
 * A local Kinesis event source mapping: what Lambda does on AWS, done by polling, shared between
 * worker processes through shard leases (lease-coordinator.ts) as the Kinesis Client Library does.
 *
 * For every shard this worker holds the lease of: GetShardIterator (after the lease's checkpoint,
 * at its floor, or at the starting position), then GetRecords up to `batchSize` (one page read
 * ahead while the handler runs), invoke the handler with a real `KinesisStreamEvent`, and advance
 * the checkpoint in the lease only after the handler succeeded (with `trailingCheckpoints`, only
 * when it must be: once half a batch size is owed, when the shard goes quiet, and before giving the
 * lease away; trailing-checkpoint.ts). With
 * ReportBatchItemFailures semantics the checkpoint moves up to the record before the first
 * reported failure and the batch is retried from that record; a thrown error (or an unknown item
 * identifier) retries the whole batch. Retries back off with capped, jittered exponential delays
 * and never skip a record: Lambda's default (retry until success) — a poison record must be
 * dead-lettered by the handler. A lost lease stops the shard after the invocation in progress;
 * its checkpoint is refused, so the new owner resumes from the last one: at most `batchSize`
 * records are processed twice (one batch, or small ones whose checkpoint was still owed).
 *
 * Resharding: a shard whose GetRecords hands back no next iterator (SHARD_END) is finished — its
 * lease checkpoints SHARD_END and is given up — and the coordinator lists the shards again, so the
 * children of a split or merge are taken once all their parents are finished (shard-lineage.ts):
 * each key's records are processed in order across the change.
 */
import { GetRecordsCommand, GetShardIteratorCommand, type _Record as KinesisRecord, type ShardIteratorType } from '@aws-sdk/client-kinesis';
import { errorName } from '../errors.ts';
import { silentLogger, type Logger } from '../logging/logger.ts';
import type { Resolved } from '../options.ts';
import { isRetryableError } from '../aws/retryable.ts';
import { DEFAULT_BACKOFF } from '../time/backoff.ts';
import { systemClock } from '../time/clock.ts';
import { Backoff, retry, type RetryNotice } from '../time/retry.ts';
import { WakeableSleep } from '../time/wakeable-sleep.ts';
import { listShards } from '../aws/shard-map.ts';
import { toKinesisStreamEvent } from './kinesis-event.ts';
import { DEFAULT_LEASE_DURATION_MS, DEFAULT_SHARD_SYNC_MS, LeaseCoordinator, type HeldLease } from './lease-coordinator.ts';
import { LeaseLostError, SHARD_END } from './lease-table.ts';
import type { EventSourceMappingOptions, MappingStats } from './mapping-options.ts';
import { firstFailureIndex, idlePause, pageBytes, quotesIn, READ_AHEAD_MAX_PAGE_BYTES, type PageOutcome } from './mapping-pages.ts';
import { shardInfos } from './shard-lineage.ts';
import { TrailingCheckpoint } from './trailing-checkpoint.ts';

export type { BatchInvoker, EventSourceMappingOptions, MappingStats, StartingPosition } from './mapping-options.ts';

/** What the loops of one held shard share. */
interface ShardRun {
  lease: HeldLease;
  /** The mapping stopped or the lease was lost. */
  stop: AbortSignal;
  log: Logger;
  /** Shared by every retry of the shard; a success resets it. */
  backoff: Backoff;
  /** Taken over from an owner whose lease expired: its first batch is logged as the duplicate bound. */
  takenOverFrom: string | undefined;
  /** The idle pause between empty polls, which `recordsPut` ends. */
  idle: WakeableSleep;
}

export class EventSourceMapping {
  private readonly options: Resolved<EventSourceMappingOptions, 'filter'>;
  private readonly processed = new Map<string, string>();
  private readonly stopController = new AbortController();
  private readonly loops = new Set<Promise<void>>();
  private coordinator: LeaseCoordinator | undefined;
  readonly stats: MappingStats = { invocations: 0, records: 0, failedInvocations: 0, retriedRecords: 0 };
  /** Per held shard: GetRecords' last `MillisBehindLatest` (how far this worker is behind the tip). */
  private readonly lag = new Map<string, number>();
  /** Per held shard: its idle pause (ShardRun.idle), for `recordsPut`. */
  private readonly idle = new Map<string, WakeableSleep>();
  /** Aborted by `checkpointPromptly`: from then on no checkpoint is held back. */
  private readonly prompt = new AbortController();

  constructor(options: EventSourceMappingOptions) {
    // `??` rather than spreading over defaults: an explicit `undefined` option keeps the default.
    this.options = {
      ...options,
      idlePollMs: options.idlePollMs ?? 200,
      wokenOnPut: options.wokenOnPut ?? false,
      trailingCheckpoints: options.trailingCheckpoints ?? false,
      checkpointIdleMs: options.checkpointIdleMs ?? 200,
      leaseDurationMs: options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS,
      shardSyncMs: options.shardSyncMs ?? DEFAULT_SHARD_SYNC_MS,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      random: options.random ?? Math.random,
      clock: options.clock ?? systemClock,
      logger: options.logger ?? silentLogger,
      functionArn: options.functionArn ?? `arn:aws:lambda:${options.region}:000000000000:function:midPrice`,
    };
  }

  /**
   * Lists the shards and takes the free leases; resolves once the iterators of the shards held
   * then are pinned, so records put after `start()` resolved are seen even with `LATEST`.
   */
  async start(): Promise<void> {
    const pinned: Promise<unknown>[] = [];
    this.coordinator = new LeaseCoordinator({
      table: this.options.leases,
      workerId: this.options.workerId,
      listShards: async () => shardInfos(await listShards(this.options.kinesis, this.options.streamName)),
      leaseDurationMs: this.options.leaseDurationMs,
      shardSyncMs: this.options.shardSyncMs,
      clock: this.options.clock,
      random: this.options.random,
      logger: this.options.logger.child('leases', { worker: this.options.workerId }),
      onAcquired: (lease) => {
        let ready = (): void => undefined;
        pinned.push(new Promise<void>((resolve) => (ready = resolve)));
        const loop = this.runShard(lease, ready).finally(() => this.loops.delete(loop));
        this.loops.add(loop);
      },
    });
    await this.coordinator.start();
    await Promise.all(pinned);
    this.options.logger.info('event source mapping started', {
      stream: this.options.streamName,
      app: this.options.leases.app,
      worker: this.options.workerId,
      shards: this.coordinator.knownShards().length,
      held: this.coordinator.heldShards().length,
      batchSize: this.options.batchSize,
    });
  }

  /** Stops polling after the invocations in progress (their checkpoints are written first), then releases the leases. */
  async stop(): Promise<void> {
    this.stopController.abort();
    await Promise.all([...this.loops]);
    await this.coordinator?.stop();
  }

  /** Shards whose lease this worker holds now. */
  heldShards(): string[] {
    return this.coordinator?.heldShards() ?? [];
  }

  /** Consumer lag per held shard, ms behind the tip of the stream (GetRecords' MillisBehindLatest). */
  shardLag(): ReadonlyMap<string, number> {
    return this.lag;
  }

  /**
   * A hint from a producer in this process: records just landed on these shards. A held shard's
   * idle pause ends at once, so its next GetRecords goes out now rather than up to idlePollMs
   * later; one told while its GetRecords is in flight (which may have missed them) skips its next
   * pause. GetRecords stays the only truth: a wake reads nothing by itself, and the polls go on for
   * every other writer. Shards held by other workers are theirs to poll.
   */
  recordsPut(shardIds: readonly string[]): void {
    for (const shardId of shardIds) this.idle.get(shardId)?.wake();
  }

  /**
   * A drain (the end of `run`, `up` stopping): every owed checkpoint is written now, and each
   * batch's as soon as the handler finished it, so whoever waits for the checkpoints to reach the
   * acknowledged positions does not wait out checkpointIdleMs.
   */
  checkpointPromptly(): void {
    this.prompt.abort();
  }

  /** Sequence number of the last checkpoint this worker wrote, per shard. */
  processedPositions(): ReadonlyMap<string, string> {
    return this.processed;
  }

  private async getIterator(shardId: string, type: ShardIteratorType, sequenceNumber?: string): Promise<string | undefined> {
    const out = await this.options.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: this.options.streamName,
        ShardId: shardId,
        ShardIteratorType: type,
        StartingSequenceNumber: sequenceNumber,
      }),
    );
    return out.ShardIterator;
  }

  /**
   * Where a newly held lease starts: after its checkpoint, else at its floor, else at the starting
   * position (FLOOR: wait for the floor to be set; undefined when stopped meanwhile).
   */
  private async initialIterator(lease: HeldLease, stop: AbortSignal): Promise<string | undefined> {
    const { shardId } = lease;
    let { checkpoint, floor } = lease.taken;
    // A closed shard without a floor may never get one (the run put nothing there before it closed):
    // it is finite, so it is read from its start; the run's filter keeps only the run's records.
    while (checkpoint === undefined && floor === undefined && this.options.startingPosition === 'FLOOR' && !lease.isClosed()) {
      await this.options.clock.sleep(this.options.idlePollMs, stop);
      if (stop.aborted) return undefined;
      ({ checkpoint, floor } = await lease.refresh());
    }
    // Read to its end already (a finished lease is never taken; this is belt and braces): nothing to read.
    if (checkpoint === SHARD_END) return undefined;
    if (checkpoint === undefined) {
      if (floor !== undefined) return this.getIterator(shardId, 'AT_SEQUENCE_NUMBER', floor);
      return this.getIterator(shardId, this.options.startingPosition === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON');
    }
    this.processed.set(shardId, checkpoint);
    try {
      return await this.getIterator(shardId, 'AFTER_SEQUENCE_NUMBER', checkpoint);
    } catch (error) {
      // The checkpointed record was trimmed by retention: the oldest record left is next.
      if (errorName(error) !== 'InvalidArgumentException') throw error;
      this.options.logger.warn('checkpoint no longer in the stream, resuming at TRIM_HORIZON', { shard: shardId, checkpoint });
      return this.getIterator(shardId, 'TRIM_HORIZON');
    }
  }

  /** Processes one held lease until it is lost or the mapping stops. */
  private async runShard(lease: HeldLease, pinned: () => void): Promise<void> {
    const { clock, logger, backoff, random } = this.options;
    const shard: ShardRun = {
      lease,
      stop: AbortSignal.any([this.stopController.signal, lease.signal]),
      log: logger.child(logger === silentLogger ? 'silent' : 'event-source-mapping', { shard: lease.shardId }),
      backoff: new Backoff({ policy: backoff, clock, random }),
      takenOverFrom: lease.takenOverFrom,
      idle: new WakeableSleep(clock),
    };
    this.idle.set(lease.shardId, shard.idle);
    try {
      await this.processLease(shard, pinned);
    } finally {
      this.lag.delete(lease.shardId);
      if (this.idle.get(lease.shardId) === shard.idle) this.idle.delete(lease.shardId);
      // Last checkpoint written: a lease another worker asked for can be handed over now.
      await lease.stopped();
    }
  }

  /**
   * Waits out a failure with the shard's backoff (cut short by a stop), logging `reason`: at WARN
   * for the first retry of a streak, at DEBUG for the next ones (a full disk or an outage fails
   * every retry for as long as it lasts); `succeeded` logs the end of the streak.
   */
  private pause(shard: ShardRun, reason: string, error?: unknown): Promise<void> {
    return shard.backoff.pause(shard.stop, (notice) => this.logRetry(shard, reason, notice, error));
  }

  private logRetry(shard: ShardRun, reason: string, { attempt, delayMs }: RetryNotice, error: unknown): void {
    if (attempt === 1) shard.log.warn(`${reason} (further retries are logged at DEBUG until it succeeds)`, { attempt, delayMs, error });
    else shard.log.debug(reason, { attempt, delayMs, error });
  }

  /** A call succeeded: the backoff starts afresh, and a streak of retries is reported over. */
  private succeeded(shard: ShardRun): void {
    if (shard.backoff.attempts > 0) shard.log.info('retrying succeeded; the shard goes on', { retries: shard.backoff.attempts });
    shard.backoff.reset();
  }

  /**
   * Retries `call` with the shard's backoff until it succeeds (Lambda's poller does not give up
   * either), rethrowing only what `fatal` picks. Once stopped it settles: a call that a stop
   * interrupted the wait of runs once more, and a failure after the stop resolves undefined.
   */
  private retryShardCall<T>(shard: ShardRun, reason: string, call: () => Promise<T>, fatal: (error: unknown) => boolean = () => false): Promise<T | undefined> {
    return retry(call, {
      backoff: shard.backoff,
      retryable: (error) => !fatal(error),
      signal: shard.stop,
      onStop: 'settle',
      onRetry: (error, notice) => this.logRetry(shard, reason, notice, error),
    });
  }

  private async processLease(shard: ShardRun, pinned: () => void): Promise<void> {
    const { lease, stop, log } = shard;
    const shardId = lease.shardId;
    // A FLOOR start waits for the run to set the floor, which it does only once start() returned.
    if (this.options.startingPosition === 'FLOOR') pinned();
    let iterator: string | undefined;
    try {
      iterator = await this.retryShardCall(shard, 'GetShardIterator failed, retrying', () => this.initialIterator(lease, stop));
    } finally {
      pinned();
    }
    if (stop.aborted) return;
    try {
      await this.pollShard(shard, iterator);
    } catch (error) {
      if (!(error instanceof LeaseLostError)) throw error;
      log.warn('lease lost mid-batch; the new owner resumes from the last checkpoint', { checkpoint: this.processed.get(shardId) });
    }
  }

  /** One GetRecords call; never rejects, so a prefetch that is abandoned cannot go unhandled. */
  private getPage(iterator: string): Promise<PageOutcome> {
    return this.options.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: this.options.batchSize })).then(
      (out) => ({ ok: true as const, records: out.Records ?? [], next: out.NextShardIterator, millisBehind: out.MillisBehindLatest }),
      (error: unknown) => ({ ok: false as const, error }),
    );
  }

  /**
   * Reads from `iterator` until a page has records: an empty page is followed after an idle pause
   * (idlePause: 10 ms five times, then doubling up to idlePollMs while the shard stays empty;
   * idlePollMs with wokenOnPut, which also pauses before the first call when the page before was
   * the shard's newest, `atTip`). `recordsPut` ends a pause, or the next one when it comes during a
   * call. Settles with that page, a failed call, the end of a closed shard (no next iterator) or,
   * once stopped, the last page read (an empty one when stopped before the first call). Never rejects.
   */
  private async pageWithRecords(shard: ShardRun, iterator: string, atTip: boolean): Promise<PageOutcome> {
    const { wokenOnPut, idlePollMs } = this.options;
    if (wokenOnPut && atTip) {
      // Nothing new until a put is announced (or another writer's record, read within idlePollMs).
      await shard.idle.sleep(idlePollMs, shard.stop).catch(() => undefined);
      if (shard.stop.aborted) return { ok: true, records: [], next: iterator, millisBehind: undefined };
    }
    let emptyPolls = 0;
    for (;;) {
      // Records announced before this call are in its answer: only a wake during it cuts the pause after it.
      shard.idle.clear();
      const page = await this.getPage(iterator);
      if (!page.ok) return page;
      if (page.millisBehind !== undefined) this.lag.set(shard.lease.shardId, page.millisBehind);
      this.succeeded(shard);
      if (page.records.length > 0 || page.next === undefined || shard.stop.aborted) return page;
      iterator = page.next;
      await shard.idle.sleep(wokenOnPut ? idlePollMs : idlePause(++emptyPolls, idlePollMs), shard.stop).catch(() => undefined);
      if (shard.stop.aborted) return page;
    }
  }

  /**
   * Reads the shard page by page, one page ahead (while pages are small, see
   * READ_AHEAD_MAX_PAGE_BYTES): while the handler works on a page, the next one is read — and,
   * while the shard has nothing new, polled for (pageWithRecords) — as the KCL's prefetching and
   * Lambda's poller do, so records put during an invocation are in memory when it ends instead of
   * one GetRecords (and an idle pause) later, and the emulator (or Kinesis) is not left idle during
   * every invocation. The page ahead is what the loop would read right after the invocation, so no
   * call is added; it is discarded unread when the shard stops (nothing of it was processed or
   * checkpointed, so nothing is lost).
   */
  private async pollShard(shard: ShardRun, firstIterator: string | undefined): Promise<void> {
    const { lease, stop, log } = shard;
    const shardId = lease.shardId;
    let iterator = firstIterator;
    let ahead: Promise<PageOutcome> | undefined;
    // The page ahead has landed: more records are in hand (a backlog), see `finished` below.
    let aheadLanded = false;
    let pending: KinesisRecord[] = [];
    // The last page read was the shard's newest records (see wokenOnPut); the first read goes out at once.
    let atTip = false;
    // Without trailing checkpoints no batch may overlap a write (a limit of 0 records).
    const checkpoint = new TrailingCheckpoint(this.options.trailingCheckpoints ? this.options.batchSize : 0);
    try {
      while (!stop.aborted) {
        if (pending.length === 0) {
          if (iterator === undefined) {
            await checkpoint.writeAll();
            await this.finishShard(shard);
            return;
          }
          const page = await this.awaitPage(ahead ?? this.pageWithRecords(shard, iterator, atTip), checkpoint, stop);
          ahead = undefined;
          if (!page.ok) {
            const { error } = page;
            if (errorName(error) === 'ExpiredIteratorException') {
              // Resume after the last batch processed, so its checkpoint must have landed.
              await checkpoint.writeAll();
              const resumeAfter = this.processed.get(shardId);
              log.info('shard iterator expired, resuming from the checkpoint', { checkpoint: resumeAfter });
              iterator = await this.resumeIterator(shard, resumeAfter);
              // What is after the checkpoint is unknown: read it at once.
              atTip = false;
              continue;
            }
            if (!isRetryableError(error)) log.error('GetRecords failed with a non-retryable error; retrying', { error });
            await this.pause(shard, 'GetRecords failed, retrying', error);
            continue;
          }
          pending = page.records;
          iterator = page.next;
          // A short page is the end of what is there (a full one, or Kinesis saying it is behind, may have more).
          atTip = pending.length < this.options.batchSize && !(page.millisBehind !== undefined && page.millisBehind > 0);
          if (pending.length === 0) continue;
          const readAhead = !stop.aborted && pageBytes(pending) <= READ_AHEAD_MAX_PAGE_BYTES;
          if (iterator !== undefined && readAhead) {
            const next = this.pageWithRecords(shard, iterator, atTip);
            ahead = next;
            aheadLanded = false;
            void next.then(() => {
              if (ahead === next) aheadLanded = true;
            });
          }
        }

        await checkpoint.beforeBatch(pending.length);
        await this.untilLeaseFresh(shard);
        if (stop.aborted) break;
        if (shard.takenOverFrom !== undefined) this.logTakeoverBound(shard, pending);
        const failureIndex = await this.invoke(shardId, pending, log);
        if (failureIndex === undefined) {
          const done = pending;
          // With the next page already in hand (or none read ahead) the next invocation follows at
          // once: the write starts now and overlaps it, as holding it back would only make a later
          // batch wait for it. Held back only while the shard waits for records (a paced rate).
          const inHand = ahead === undefined || aheadLanded;
          // Counted when handled, not when checkpointed: a paced shard's checkpoint may be owed
          // for up to checkpointIdleMs, and the dashboard's count should not lag by that.
          this.stats.records += done.length;
          await checkpoint.finished(done.length, () => this.commit(shard, done[done.length - 1] as KinesisRecord));
          if (inHand || this.prompt.signal.aborted) await checkpoint.flush();
          pending = [];
          this.succeeded(shard);
          continue;
        }
        await checkpoint.writeAll();
        if (failureIndex > 0) {
          await this.commit(shard, pending[failureIndex - 1] as KinesisRecord);
          this.stats.records += failureIndex;
        }
        pending = pending.slice(failureIndex);
        this.stats.retriedRecords += pending.length;
        await this.pause(shard, 'handler reported a failure, retrying the batch from the first failed record', {
          firstFailedSequence: pending[0]?.SequenceNumber,
        });
      }
      // Stopped or handed over: what was processed is checkpointed before the lease goes (a lost
      // lease refuses the write: LeaseTable's checkpoint is conditional on the owner).
      await checkpoint.writeAll();
    } finally {
      // Let a page still on its way land before the shard is reported stopped (no request
      // outlives stop()); its records are dropped: the next owner starts after the checkpoint.
      await ahead;
      await checkpoint.drain();
    }
  }

  /**
   * Waits for the next page; when the shard owes a checkpoint and no page came within
   * checkpointIdleMs (or a drain asked for it, or the shard stops), starts that write meanwhile.
   */
  private async awaitPage(page: Promise<PageOutcome>, checkpoint: TrailingCheckpoint, stop: AbortSignal): Promise<PageOutcome> {
    if (!checkpoint.owes()) return page;
    // Listeners rather than AbortSignal.any: this runs for every page, and the stop and drain signals live long.
    const over = new AbortController();
    const end = (): void => over.abort();
    for (const signal of [this.prompt.signal, stop]) {
      if (signal.aborted) over.abort();
      else signal.addEventListener('abort', end, { once: true });
    }
    const quiet = this.options.clock.sleep(this.options.checkpointIdleMs, over.signal);
    const first = await Promise.race([page.then(() => 'page' as const), quiet.then(() => 'quiet' as const)]);
    over.abort();
    for (const signal of [this.prompt.signal, stop]) signal.removeEventListener('abort', end);
    // A failed write is thrown only once the page landed: no request outlives the shard.
    if (first === 'quiet') {
      try {
        await checkpoint.flush();
      } catch (error) {
        await page;
        throw error;
      }
    }
    return page;
  }

  /**
   * The previous owner of a lease taken over after it expired may have written a batch it never
   * checkpointed: at most `batchSize` records right after the checkpoint (one batch, or small ones
   * whose checkpoint was still owed, see TrailingCheckpoint) — the
   * records this first batch starts with. Logged once, as the bound of the duplicates this takeover can
   * cause (exact on the emulator, whose GetRecords always fills a page up to the limit).
   */
  private logTakeoverBound(shard: ShardRun, records: readonly KinesisRecord[]): void {
    const filter = this.options.filter;
    shard.log.warn('first batch after taking over an expired lease: its records may already have been written by the previous owner', {
      previousOwner: shard.takenOverFrom,
      checkpoint: shard.lease.taken.checkpoint,
      records: records.length,
      possibleDuplicates: quotesIn(filter === undefined ? records : records.filter(filter)),
    });
    shard.takenOverFrom = undefined;
  }

  /**
   * Holds the next batch back while the lease has not been confirmed for two thirds of a lease period
   * (HeldLease.isFresh): then the lease table is out of reach, and once a lease period has passed
   * another worker may take the shard over. The shard goes on when a renewal gets through, or
   * stops when the lease turns out lost: one shard is never processed by two workers at once.
   */
  private async untilLeaseFresh(shard: ShardRun): Promise<void> {
    if (shard.lease.isFresh()) return;
    const { clock, leaseDurationMs } = this.options;
    const since = clock.now();
    shard.log.warn('lease not confirmed for two thirds of a lease period (lease table unreachable?); holding the shard until a renewal gets through');
    while (!shard.stop.aborted && !shard.lease.isFresh()) await clock.sleep(Math.max(10, leaseDurationMs / 20), shard.stop);
    if (!shard.stop.aborted) shard.log.info('lease confirmed again; the shard goes on', { heldBackMs: Math.round(clock.now() - since) });
  }

  /** SHARD_END: the closed shard was read to its end; its lease is finished so that its children start. */
  private async finishShard(shard: ShardRun): Promise<void> {
    await this.retryShardCall(
      shard,
      'finishing the closed shard failed, retrying',
      () => shard.lease.finish(),
      (error) => error instanceof LeaseLostError,
    );
    shard.log.info('shard closed and fully consumed', { checkpoint: this.processed.get(shard.lease.shardId) });
  }

  private resumeIterator(shard: ShardRun, checkpoint: string | undefined): Promise<string | undefined> {
    const { lease, stop } = shard;
    return this.retryShardCall(shard, 'GetShardIterator failed, retrying', () =>
      // Nothing processed yet: where this lease started.
      checkpoint !== undefined ? this.getIterator(lease.shardId, 'AFTER_SEQUENCE_NUMBER', checkpoint) : this.initialIterator(lease, stop),
    );
  }

  private async invoke(shardId: string, records: KinesisRecord[], log: Logger): Promise<number | undefined> {
    const filter = this.options.filter;
    const matching = filter === undefined ? records : records.filter(filter);
    if (matching.length === 0) return undefined;
    // Failure identifiers are sequence numbers, so they index into the unfiltered batch.
    const event = toKinesisStreamEvent(matching, {
      streamArn: this.options.streamArn,
      shardId,
      region: this.options.region,
      functionArn: this.options.functionArn,
    });
    this.stats.invocations++;
    try {
      const response = await this.options.invoke(event);
      const index = firstFailureIndex(response, records);
      if (index !== undefined) this.stats.failedInvocations++;
      return index;
    } catch (error) {
      this.stats.failedInvocations++;
      log.error('handler threw; the whole batch will be retried', { records: records.length, error });
      return 0;
    }
  }

  /**
   * Writes the checkpoint (retrying until it sticks: moving on without it would lose the
   * position). Throws LeaseLostError when the lease went to another worker.
   */
  private async commit(shard: ShardRun, record: KinesisRecord): Promise<void> {
    const sequenceNumber = record.SequenceNumber ?? '';
    const written = await this.retryShardCall(
      shard,
      'checkpoint write failed, retrying',
      async () => {
        await shard.lease.checkpoint(sequenceNumber);
        return true;
      },
      (error) => error instanceof LeaseLostError,
    );
    // Stopped first: the checkpoint stays where it was; the batch is processed again next time.
    if (written === undefined) return;
    this.processed.set(shard.lease.shardId, sequenceNumber);
  }
}
