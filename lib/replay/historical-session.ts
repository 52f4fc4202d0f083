/**
 * One historical session of the replay engine: from taking the source's lease to releasing it.
 *
 * `openHistorical` finds (or builds) the file's scan, takes the checkpoint lease (waiting out a
 * dead owner's) and decides where to start. A `HistoricalSession` then replays from there while
 * a saver writes the checkpoint (which also renews the lease), and holds the send window: the
 * quotes outside the last durable checkpoint (unacknowledged when it was written, or sent since)
 * are capped at SEND_WINDOW, so that a crash re-sends a known, bounded number of them (logged on
 * resume as possibleDuplicates). Losing the lease stops the session at once and is reported in
 * `failure` for the engine to stop on.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { isRetryableError } from '../aws/retryable.ts';
import type { ModeControl } from '../control/control-store.ts';
import { describeFsError, InputError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import { untilAborted } from '../time/abort.ts';
import type { Clock } from '../time/clock.ts';
import { Backoff, retry } from '../time/retry.ts';
import { START_POSITION, type HistoricalPosition } from './ack-tracker.ts';
import { CheckpointOwnershipError, type DynamoCheckpointStore, type StoredCheckpoint } from './checkpoint-store.ts';
import { HistoricalSource, scanCsv, sourceIdFor, type CsvScan } from './historical-source.ts';
import { Pacer, type Speed } from './pacer.ts';
import { replay, type QuoteSink } from './replayer.ts';

/** What a session needs of the checkpoint store (lib/replay/checkpoint-store.ts). */
export type CheckpointPort = Pick<DynamoCheckpointStore, 'findByFile' | 'acquire' | 'save' | 'release' | 'leaseMs'>;

/**
 * Quotes that may be outside the last durable checkpoint at any moment: those it saw sent but not
 * acknowledged, plus those sent since it was written. A crash re-sends at most these (only the
 * ones Kinesis had stored become duplicates): the duplicate bound logged on resume.
 */
export const SEND_WINDOW = 500;

/**
 * How long the session waits at most for a dead owner's lease to expire, beyond its duration (the
 * store must see the counter stand still for a whole lease period, from its first look).
 */
const LEASE_WAIT_SLACK_MS = 2_000;
/** Between two tries to take a lease someone else holds. */
const LEASE_RETRY_MS = 500;

export interface HistoricalSessionOptions {
  checkpoints: CheckpointPort;
  producer: QuoteSink;
  historicalFile: string;
  speed: Speed;
  logger: Logger;
  clock: Clock;
  /** For the backoff jitter: a value in [0, 1). */
  random: () => number;
  now: () => number;
  /** How often the checkpoint is saved while acknowledgements arrive (ms). */
  checkpointMs: number;
  onProgress?: (done: number, total: number) => void;
  /** See EngineOptions.historicalGate. */
  historicalGate?: (sentThisSession: number) => Promise<void> | undefined;
  /** Aborts when flushing the producer must give up (the engine's stop grace). */
  flushDeadline: AbortSignal;
  /** Called after each quote handed to the producer. */
  onSent?: () => void;
}

/** Where a session starts: the file's scan, the position, and the rewinds it honours. */
export interface OpenedHistorical {
  scan: CsvScan;
  start: HistoricalPosition;
  rewindsHonoured: number;
}

/** Retries transient AWS failures with backoff until they succeed or `signal` aborts (undefined then). */
function retrying<T>(options: HistoricalSessionOptions, what: string, signal: AbortSignal, call: () => Promise<T>): Promise<T | undefined> {
  return retry(call, {
    backoff: new Backoff({ clock: options.clock, random: options.random }),
    retryable: isRetryableError,
    signal,
    onRetry: (error, { attempt, delayMs }) => options.logger.warn(`cannot ${what} yet; retrying`, { attempt, delayMs, error }),
  });
}

/**
 * Loads (or builds) the scan and the checkpoint, taking the lease; waits out a dead owner's
 * lease. Undefined when the session was cancelled (switch or stop) before the source could open.
 */
export async function openHistorical(options: HistoricalSessionOptions, control: ModeControl, signal: AbortSignal): Promise<OpenedHistorical | undefined> {
  const file = path.resolve(options.historicalFile);
  const { checkpoints, logger, clock } = options;
  const quick = await stat(file).catch((error: unknown) => {
    throw new InputError(`cannot read ${file}: ${describeFsError(error)}`, { file }, { cause: error });
  });
  const known = await retrying(options, 'look up the checkpoint', signal, () => checkpoints.findByFile(file, quick.size, quick.mtimeMs));
  if (signal.aborted) return undefined;
  const scan: CsvScan =
    known !== undefined
      ? { file, fingerprint: known.fingerprint, records: known.records, validRows: known.validRows, rejectedRows: known.records - known.validRows, disorderUs: known.disorderUs, size: known.size, mtimeMs: known.mtimeMs }
      : await scanCsv(file);
  const sourceId = sourceIdFor(scan.fingerprint);
  let stored: StoredCheckpoint | undefined;
  const deadline = clock.now() + checkpoints.leaseMs + LEASE_WAIT_SLACK_MS;
  for (;;) {
    if (signal.aborted) return undefined;
    try {
      stored = await retrying(options, 'take the checkpoint lease', signal, () => checkpoints.acquire(sourceId));
      break;
    } catch (error) {
      // A replayer killed without releasing its lease: wait for it to expire (bounded). A switch
      // or a stop meanwhile simply ends this session.
      if (!(error instanceof CheckpointOwnershipError) || clock.now() > deadline) throw error;
      logger.warn('waiting for the previous owner of this source to release it or for its lease to expire', { sourceId, error });
      await clock.sleep(LEASE_RETRY_MS, signal);
    }
  }
  if (signal.aborted) return undefined;
  // "from start" applies once per request: the checkpoint counts the rewinds it honoured, so a
  // restart does not rewind again, and a rewind followed at once by another request is not lost.
  const honoured = stored?.rewindsHonoured ?? 0;
  const fromStart = control.rewinds > honoured;
  const start = fromStart || stored === undefined ? START_POSITION : stored.position;
  const rewindsHonoured = fromStart ? control.rewinds : honoured;
  if (fromStart) logger.info('replaying the historical file from the start', { sourceId });
  else if (stored !== undefined) {
    logger.info('resuming historical replay from its checkpoint', {
      sourceId,
      done: start.done,
      resumeAt: start.resumeAt,
      completed: start.completed,
      // Sent but not acknowledged when the checkpoint was taken: sent again now, so these many
      // duplicates at most (0 after a graceful stop, which flushes first).
      possibleDuplicates: start.unacknowledged ?? 0,
    });
  }
  return { scan, start, rewindsHonoured };
}

export class HistoricalSession {
  readonly source: HistoricalSource;
  readonly scan: CsvScan;
  /** What the last durable checkpoint says: the whole file was acknowledged. */
  completed: boolean;
  /** The lease went to another replayer: the session stopped, and the engine stops with it. */
  failure: CheckpointOwnershipError | undefined;

  private readonly options: HistoricalSessionOptions;
  private readonly rewindsHonoured: number;
  /** Quotes emitted when the durable checkpoint was written. */
  private durableEmitted: number;
  /** Sent but unacknowledged when the durable checkpoint was written: still outside it. */
  private durableOutstanding = 0;
  /** Sends held by a full window, released by the next durable checkpoint. */
  private readonly windowWaiters: Array<() => void> = [];
  private sentThisSession = 0;

  constructor(opened: OpenedHistorical, options: HistoricalSessionOptions) {
    this.options = options;
    this.scan = opened.scan;
    this.rewindsHonoured = opened.rewindsHonoured;
    this.source = new HistoricalSource(opened.scan, { logger: options.logger.child('historical-source'), start: opened.start });
    this.completed = opened.start.completed;
    this.durableEmitted = this.source.stats.emitted;
  }

  /** Replays until the file ends, `signal` aborts or the lease is lost; then flushes, checkpoints and releases. */
  async run(signal: AbortSignal): Promise<void> {
    const { producer, checkpoints, logger } = this.options;
    const source = this.source;
    const lost = new AbortController();
    const stopSaver = new AbortController();
    let saver: Promise<void> = Promise.resolve();
    const sendSignal = AbortSignal.any([signal, lost.signal]);
    try {
      // Nothing is sent before the session's first checkpoint is durable (it also renews the lease).
      await retrying(this.options, 'write the first checkpoint', signal, () => this.save());
      if (signal.aborted) return;
      this.options.onProgress?.(source.done, source.total);
      saver = this.keepSaving(stopSaver.signal, lost);
      const result = await replay(source, {
        producer,
        // A fresh pacer per session: a resume starts on time, with no burst to catch up.
        pacer: this.options.speed === 'max' ? undefined : new Pacer(this.options.speed, this.options.clock),
        signal: sendSignal,
        beforeSend: () => this.beforeSend(sendSignal),
        onSent: () => {
          this.sentThisSession++;
          this.options.onSent?.();
        },
      });
      // The saver keeps the lease alive while the producer flushes; it is stopped before the final
      // save so that an older snapshot cannot land after it.
      await producer.flush(this.options.flushDeadline);
      stopSaver.abort();
      await saver;
      if (this.failure !== undefined) return;
      try {
        // Until it sticks (DynamoDB throttled or down): the next session resumes from it. Only a
        // stopping engine gives up, after its grace; the checkpoint before it still holds.
        await retrying(this.options, 'write the final checkpoint', this.options.flushDeadline, () => this.save(true));
      } catch (error) {
        if (!(error instanceof CheckpointOwnershipError)) throw error;
        this.failure = error;
        return;
      }
      if (!result.interrupted) {
        logger.info('historical file exhausted; idling in historical mode (live is still available)', {
          sourceId: source.sourceId,
          done: source.done,
          total: source.total,
        });
      }
    } finally {
      stopSaver.abort();
      await saver;
      await source.close();
      // Let another replayer (or our own restart) take the source at once.
      if (this.failure === undefined) await checkpoints.release(source.sourceId).catch(() => undefined);
    }
  }

  /**
   * Writes the checkpoint. `final`: the session has stopped sending (replay ended, producer
   * flushed), so nothing beyond this checkpoint can be in flight and the duplicate bound is just
   * what is still unacknowledged (0 after a complete flush) instead of a whole send window.
   */
  private async save(final = false): Promise<void> {
    const { source, scan } = this;
    const emitted = source.stats.emitted;
    const position = source.position();
    const checkpoint: StoredCheckpoint = {
      sourceId: source.sourceId,
      fingerprint: scan.fingerprint,
      file: scan.file,
      size: scan.size,
      mtimeMs: scan.mtimeMs,
      records: scan.records,
      validRows: scan.validRows,
      disorderUs: scan.disorderUs,
      rewindsHonoured: this.rewindsHonoured,
      // While sending goes on, the window holds everything a crash after this checkpoint can re-send.
      position: { ...position, unacknowledged: final ? (position.unacknowledged ?? 0) : SEND_WINDOW },
    };
    await this.options.checkpoints.save(checkpoint);
    this.completed = checkpoint.position.completed;
    this.durableEmitted = emitted;
    this.durableOutstanding = position.unacknowledged ?? 0;
    for (const wake of this.windowWaiters.splice(0)) wake();
  }

  /** Periodic saves (they also renew the lease) until `stop`; losing the lease aborts `lost`. */
  private async keepSaving(stop: AbortSignal, lost: AbortController): Promise<void> {
    const { clock, checkpointMs, checkpoints, logger } = this.options;
    const renewEveryMs = Math.max(checkpointMs, checkpoints.leaseMs / 4);
    let savedDone = this.source.done;
    let savedAt = clock.now();
    let failures = 0;
    while (!stop.aborted) {
      await clock.sleep(checkpointMs, stop);
      if (stop.aborted) return;
      // Save when something was acknowledged or the window is waiting; otherwise only to renew the lease.
      if (this.source.done === savedDone && this.windowWaiters.length === 0 && clock.now() - savedAt < renewEveryMs) continue;
      try {
        savedDone = this.source.done;
        savedAt = clock.now();
        await this.save();
        if (failures > 0) logger.info('checkpoint saved again; sending goes on', { failedSaves: failures });
        failures = 0;
      } catch (error) {
        if (error instanceof CheckpointOwnershipError) {
          this.failure = error;
          lost.abort();
          return;
        }
        // Tried every checkpointMs while it fails (an outage): the first failure at WARN, the rest at DEBUG.
        if (failures++ === 0) logger.warn('checkpoint save failed; retrying, and sending pauses once the send window is full', { error });
        else logger.debug('checkpoint save failed again', { failedSaves: failures, error });
      }
    }
  }

  /** Holds the next quote while the send window is full or the gate holds it (undefined: go). */
  private beforeSend(sendSignal: AbortSignal): Promise<void> | undefined {
    const window = this.sendWindow(sendSignal);
    const held = this.gate(sendSignal);
    if (held === undefined) return window;
    return window === undefined ? held : Promise.all([window, held]).then(() => undefined);
  }

  private sendWindow(sendSignal: AbortSignal): Promise<void> | undefined {
    if (this.durableOutstanding + this.source.stats.emitted - this.durableEmitted < SEND_WINDOW) return undefined;
    return new Promise<void>((resolve) => {
      this.windowWaiters.push(resolve);
      sendSignal.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  private gate(sendSignal: AbortSignal): Promise<void> | undefined {
    const held = this.options.historicalGate?.(this.sentThisSession);
    return held === undefined ? undefined : Promise.race([held, untilAborted(sendSignal)]);
  }
}
