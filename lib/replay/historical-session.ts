/**
 * One historical session of the replay engine: from taking the inputs' leases to releasing them.
 *
 * `openHistorical` opens each input (one or many files, replayed merged), identifies it by its
 * content (fingerprint-cache.ts), finds (or builds) its scan, takes its checkpoint lease (waiting
 * out a dead owner's) and decides where it starts. A `HistoricalSession` then replays the merge
 * from there while a saver writes each file's checkpoint (which also renews its lease), and
 * holds the send window: the quotes outside the last durable checkpoints (unacknowledged when
 * they were written, or sent since) are capped at the window (SEND_WINDOW unless set), so that a
 * crash re-sends a known, bounded number of them (logged on resume as possibleDuplicates). The
 * window bounds the duplicates, not the rate: once it is half full a checkpoint is written at once
 * (and again as acknowledgements arrive), not at the saver's next period, so a replay at speed max
 * is held only while Kinesis has not acknowledged half a window. Losing a lease stops the session at once
 * and is reported in `failure` for the engine to stop on.
 *
 * One checkpoint and one lease per file, not one over the set: a file is the unit that resumes
 * (its position is its own), DynamoDB conditions a write on one item only (a set lease could not
 * guard the file items without transactions, which the embedded emulator lacks), and two
 * replayers given overlapping sets then conflict exactly on the files they share.
 */
import { isRetryableError } from '../aws/retryable.ts';
import type { ModeControl } from '../control/control-store.ts';
import { InputError } from '../errors.ts';
import type { InputContext } from '../input/input.ts';
import type { Logger } from '../logging/logger.ts';
import { untilAborted } from '../time/abort.ts';
import type { Clock } from '../time/clock.ts';
import { Backoff, retry } from '../time/retry.ts';
import { START_POSITION, type HistoricalPosition } from './ack-tracker.ts';
import { CheckpointOwnershipError, type DynamoCheckpointStore, type StoredCheckpoint } from './checkpoint-store.ts';
import { FingerprintCache } from './fingerprint-cache.ts';
import { displayName, HistoricalSource, openNamedInput, scanCsv, sourceIdFor, type CsvScan } from './historical-source.ts';
import { MergedSource } from './merged-source.ts';
import { Pacer, type Speed } from './pacer.ts';
import { replay, type QuoteSink } from './replayer.ts';
import type { PacedQuote } from './replay-source.ts';
import { DEFAULT_SELECTION, type Selection } from './selection.ts';

/** What a session needs of the checkpoint store (lib/replay/checkpoint-store.ts). */
export type CheckpointPort = Pick<DynamoCheckpointStore, 'load' | 'acquire' | 'save' | 'release' | 'leaseMs'>;

/**
 * Quotes that may be outside the last durable checkpoints at any moment: those they saw sent but
 * not acknowledged, plus those sent since they were written. A crash re-sends at most these (only
 * the ones Kinesis had stored become duplicates): the duplicate bound logged on resume.
 *
 * Its size also sets how much the producer can have in flight, hence the sizes of requests, pages
 * and handler batches: sending stops when the window is full until Kinesis has acknowledged and
 * DynamoDB stored half of it. A window of one PutRecords batch (500) split the stream into
 * requests of a few dozen quotes; 5,000 made `up --speed max` flush its producer every few
 * thousand quotes, in requests of ≈ 600 aggregated quotes against `run`'s 3,000–5,000, with a
 * page, an append and a checkpoint to match: 1.11–1.20 × `run`'s time on 200,000 quotes once the
 * pipeline reached ≈ 85,000 quotes/s, against 1.05 with 10,000 and 1.01 with 20,000 (alternated
 * runs, aggregation on). 20,000 is about a quarter of a second of a replay at speed max per crash
 * on the 2-core development machine.
 */
export const SEND_WINDOW = 20_000;

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
  /** The inputs, in the order given (it breaks ties between files). */
  historicalFiles: readonly string[];
  /** Window, tickers and the disorder bound (default: everything, 60 s). */
  selection?: Selection;
  /** How inputs other than local files are reached (the S3 client). */
  inputs?: InputContext;
  /** Content fingerprints known in this process (default: a fresh cache, every input hashed). */
  fingerprints?: FingerprintCache;
  speed: Speed;
  logger: Logger;
  clock: Clock;
  /** For the backoff jitter: a value in [0, 1). */
  random: () => number;
  now: () => number;
  /** How often the checkpoints are saved while acknowledgements arrive (ms). */
  checkpointMs: number;
  /** Quotes that may be outside the last durable checkpoints (the duplicate bound per crash). */
  sendWindow: number;
  onProgress?: (done: number, total: number) => void;
  /** See EngineOptions.historicalGate. */
  historicalGate?: (sentThisSession: number) => Promise<void> | undefined;
  /** Aborts when flushing the producer must give up (the engine's stop grace). */
  flushDeadline: AbortSignal;
  /** Called after each quote handed to the producer. */
  onSent?: (quote: PacedQuote) => void;
}

/** Where one input starts: its scan, the position, and the rewinds it honours. */
export interface OpenedFile {
  scan: CsvScan;
  start: HistoricalPosition;
  rewindsHonoured: number;
}

export interface OpenedHistorical {
  files: OpenedFile[];
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

/** A scan rebuilt from a stored checkpoint (the input opened now). */
function storedScan(scan: Omit<CsvScan, 'file' | 'fingerprint' | 'records' | 'validRows' | 'rejectedRows' | 'disorderUs' | 'size' | 'mtimeMs'>, stored: StoredCheckpoint): CsvScan {
  return {
    ...scan,
    file: stored.file,
    fingerprint: stored.fingerprint,
    records: stored.records,
    validRows: stored.validRows,
    rejectedRows: stored.records - stored.validRows,
    disorderUs: stored.disorderUs,
    size: stored.size,
    mtimeMs: stored.mtimeMs,
  };
}

/** Opens one input: identity by content, then the scan stored with its checkpoint, or a new scan. */
async function openFile(options: HistoricalSessionOptions, fingerprints: FingerprintCache, name: string, signal: AbortSignal): Promise<CsvScan | undefined> {
  const selection = options.selection ?? DEFAULT_SELECTION;
  const input = await openNamedInput(name, options.inputs);
  const started = options.now();
  const hashedBefore = fingerprints.hashed;
  const fingerprint = await fingerprints.of(input);
  if (fingerprints.hashed > hashedBefore) {
    options.logger.info('input identified by its content', { file: name, fingerprint: fingerprint.slice(0, 16), ms: options.now() - started });
  }
  const sourceId = sourceIdFor(fingerprint, selection);
  const known = await retrying(options, 'look up the checkpoint', signal, () => options.checkpoints.load(sourceId));
  if (signal.aborted) return undefined;
  if (known !== undefined && known.fingerprint === fingerprint) {
    return storedScan({ input, format: undefined, compression: input.compression }, { ...known, file: input.source.location });
  }
  return scanCsv(input, { selection, fingerprint });
}

/**
 * Takes the leases on all sources, waiting (bounded) for a dead owner's to expire. All at once: a
 * killed replayer held every one, and each expires one lease period after it is first seen, so
 * waiting for them one after the other would take a period per file. While some are still held by
 * another owner, the ones already taken are renewed (acquire by the owner bumps the counter), so
 * that none can expire before the session's first checkpoints are written. Undefined when `signal`
 * aborts (a switch or a stop simply ends the session).
 */
async function takeLeases(options: HistoricalSessionOptions, sourceIds: readonly string[], signal: AbortSignal): Promise<Map<string, StoredCheckpoint | undefined> | undefined> {
  const { checkpoints, logger, clock } = options;
  const deadline = clock.now() + checkpoints.leaseMs + LEASE_WAIT_SLACK_MS;
  const taken = new Map<string, StoredCheckpoint | undefined>();
  for (;;) {
    let waiting: CheckpointOwnershipError | undefined;
    for (const sourceId of sourceIds) {
      try {
        const stored = await retrying(options, 'take the checkpoint lease', signal, () => checkpoints.acquire(sourceId));
        if (signal.aborted) return undefined;
        if (!taken.has(sourceId)) taken.set(sourceId, stored);
      } catch (error) {
        // A lease already taken and lost meanwhile is not waited for: someone else replays it.
        if (!(error instanceof CheckpointOwnershipError) || taken.has(sourceId)) throw error;
        waiting = error;
      }
    }
    if (waiting === undefined) return taken;
    if (clock.now() > deadline) throw waiting;
    logger.warn('waiting for the previous owner of this source to release it or for its lease to expire', { sourceId: waiting.context.sourceId, error: waiting });
    await clock.sleep(LEASE_RETRY_MS, signal);
    if (signal.aborted) return undefined;
  }
}

/**
 * Loads (or builds) each input's scan and checkpoint, taking the leases; waits out a dead
 * owner's lease. Undefined when the session was cancelled (switch or stop) before it could open.
 */
export async function openHistorical(options: HistoricalSessionOptions, control: ModeControl, signal: AbortSignal, fingerprints = options.fingerprints ?? new FingerprintCache()): Promise<OpenedHistorical | undefined> {
  const { logger } = options;
  const selection = options.selection ?? DEFAULT_SELECTION;
  const scans: CsvScan[] = [];
  const bySource = new Map<string, string>();
  for (const name of options.historicalFiles) {
    const scan = await openFile(options, fingerprints, name, signal);
    if (scan === undefined) return undefined;
    const sourceId = sourceIdFor(scan.fingerprint, selection);
    const twin = bySource.get(sourceId);
    if (twin !== undefined) throw new InputError(`${twin} and ${name} have the same content; give it once`, { files: [twin, name] });
    bySource.set(sourceId, name);
    scans.push(scan);
  }
  const taken = await takeLeases(options, scans.map((scan) => sourceIdFor(scan.fingerprint, selection)), signal);
  if (taken === undefined) return undefined;
  const files: OpenedFile[] = [];
  for (const scan of scans) {
    const sourceId = sourceIdFor(scan.fingerprint, selection);
    const stored = taken.get(sourceId);
    // "from start" applies once per request: the checkpoint counts the rewinds it honoured, so a
    // restart does not rewind again, and a rewind followed at once by another request is not lost.
    const honoured = stored?.rewindsHonoured ?? 0;
    const fromStart = control.rewinds > honoured;
    const start = fromStart || stored === undefined ? START_POSITION : stored.position;
    const rewindsHonoured = fromStart ? control.rewinds : honoured;
    const file = displayName(scan.file);
    if (fromStart) logger.info('replaying the historical file from the start', { sourceId, file });
    else if (stored !== undefined) {
      logger.info('resuming historical replay from its checkpoint', {
        sourceId,
        file,
        done: start.done,
        resumeAt: start.resumeAt,
        completed: start.completed,
        // Sent but not acknowledged when the checkpoint was taken: sent again now, so these many
        // duplicates at most (0 after a graceful stop, which flushes first).
        possibleDuplicates: start.unacknowledged ?? 0,
      });
      // A compressed input has no byte offset into its decoded text: it is decoded from the start.
      const offset = start.resumeAt?.offset ?? 0;
      if (scan.input.compression !== 'none' && offset > 0 && !start.completed) {
        logger.info('compressed input: re-reading it from the start and skipping the bytes already replayed', { file, compression: scan.input.compression, skipDecodedBytes: offset });
      }
    }
    files.push({ scan, start, rewindsHonoured });
  }
  return { files };
}

/** One input of a session: its source, and what was last written to its checkpoint. */
interface FileState {
  scan: CsvScan;
  source: HistoricalSource;
  rewindsHonoured: number;
  /** The position last saved (JSON) and when: unchanged files are saved only to renew the lease. */
  savedPosition: string;
  savedAt: number;
  /** The last saved position says the whole input was acknowledged. */
  savedCompleted: boolean;
}

export class HistoricalSession {
  /** The merge of the inputs (one input: that input alone). */
  readonly source: MergedSource;
  /** What the last durable checkpoints say: every input was acknowledged whole. */
  completed: boolean;
  /** A lease went to another replayer: the session stopped, and the engine stops with it. */
  failure: CheckpointOwnershipError | undefined;

  private readonly options: HistoricalSessionOptions;
  private readonly files: FileState[];
  /** Quotes emitted when the durable checkpoints were written. */
  private durableEmitted: number;
  /** Sent but unacknowledged when the durable checkpoints were written: still outside them. */
  private durableOutstanding = 0;
  /** Sends held by a full window, released by the next durable checkpoint. */
  private readonly windowWaiters: Array<() => void> = [];
  /** Wakes the saver from its wait before its period is up (set while it waits). */
  private wakeSaver: (() => void) | undefined;
  /**
   * A checkpoint was asked for (a quote sent or acknowledged with the window half full) since the
   * saver last started one: it saves again at once. Only events set it, so the saver never spins.
   */
  private saveRequested = false;
  /** A flush asked for by a full window is under way. */
  private windowFlush = false;
  private sentThisSession = 0;

  constructor(opened: OpenedHistorical, options: HistoricalSessionOptions) {
    this.options = options;
    const logger = options.logger.child('historical-source');
    this.files = opened.files.map(({ scan, start, rewindsHonoured }) => ({
      scan,
      source: new HistoricalSource(scan, { logger, start, selection: options.selection }),
      rewindsHonoured,
      savedPosition: '',
      savedAt: -Infinity,
      savedCompleted: false,
    }));
    this.source = new MergedSource(this.files.map((file) => file.source));
    this.completed = opened.files.every((file) => file.start.completed);
    this.durableEmitted = this.source.stats.emitted;
  }

  /** Replays until the inputs end, `signal` aborts or a lease is lost; then flushes, checkpoints and releases. */
  async run(signal: AbortSignal): Promise<void> {
    const { producer, checkpoints, logger } = this.options;
    const source = this.source;
    const lost = new AbortController();
    const stopSaver = new AbortController();
    let saver: Promise<void> = Promise.resolve();
    const sendSignal = AbortSignal.any([signal, lost.signal]);
    try {
      // Nothing is sent before the session's first checkpoints are durable (they also renew the leases).
      await retrying(this.options, 'write the first checkpoint', signal, () => this.save(true));
      if (signal.aborted) return;
      this.options.onProgress?.(source.done, source.total);
      saver = this.keepSaving(stopSaver.signal, lost);
      const result = await replay(source, {
        producer,
        // A fresh pacer per session: a resume starts on time, with no burst to catch up.
        pacer: this.options.speed === 'max' ? undefined : new Pacer(this.options.speed, this.options.clock),
        signal: sendSignal,
        beforeSend: () => this.beforeSend(sendSignal),
        onSent: (quote) => {
          this.sentThisSession++;
          this.options.onSent?.(quote);
        },
      });
      // The saver keeps the leases alive while the producer flushes; it is stopped before the
      // final save so that an older snapshot cannot land after it.
      await producer.flush(this.options.flushDeadline);
      stopSaver.abort();
      await saver;
      if (this.failure !== undefined) return;
      try {
        // Until it sticks (DynamoDB throttled or down): the next session resumes from it. Only a
        // stopping engine gives up, after its grace; the checkpoint before it still holds.
        await retrying(this.options, 'write the final checkpoint', this.options.flushDeadline, () => this.save(true, true));
      } catch (error) {
        if (!(error instanceof CheckpointOwnershipError)) throw error;
        this.failure = error;
        return;
      }
      if (!result.interrupted) {
        logger.info('historical input exhausted; idling in historical mode (live is still available)', {
          sourceId: source.sourceId,
          files: this.files.length,
          done: source.done,
          total: source.total,
        });
      }
    } finally {
      stopSaver.abort();
      await saver;
      await source.close();
      // Let another replayer (or our own restart) take the sources at once.
      if (this.failure === undefined) await Promise.all(this.files.map((file) => checkpoints.release(file.source.sourceId).catch(() => undefined)));
    }
  }

  /**
   * Writes the checkpoints: those whose position moved, and those whose lease is due for renewal
   * (`all`: every one). `final`: the session has stopped sending (replay ended, producer
   * flushed), so nothing beyond these checkpoints can be in flight and the duplicate bound is
   * just what is still unacknowledged (0 after a complete flush) instead of a whole send window.
   */
  private async save(all = false, final = false): Promise<void> {
    const emitted = this.source.stats.emitted;
    const now = this.options.clock.now();
    const renewEveryMs = this.options.checkpoints.leaseMs / 4;
    let outstanding = 0;
    const writes: Array<Promise<void>> = [];
    for (const file of this.files) {
      const { source, scan } = file;
      const position = source.position();
      outstanding += position.unacknowledged ?? 0;
      const json = JSON.stringify(position);
      if (!all && json === file.savedPosition && now - file.savedAt < renewEveryMs) continue;
      const checkpoint: StoredCheckpoint = {
        sourceId: source.sourceId,
        fingerprint: scan.fingerprint,
        file: scan.file,
        size: scan.size,
        mtimeMs: scan.mtimeMs,
        records: scan.records,
        validRows: scan.validRows,
        disorderUs: scan.disorderUs,
        rewindsHonoured: file.rewindsHonoured,
        // While sending goes on, the window holds everything a crash after this checkpoint can re-send.
        position: { ...position, unacknowledged: final ? (position.unacknowledged ?? 0) : this.options.sendWindow },
      };
      writes.push(
        this.options.checkpoints.save(checkpoint).then(() => {
          file.savedPosition = json;
          file.savedAt = now;
          file.savedCompleted = position.completed;
        }),
      );
    }
    const results = await Promise.allSettled(writes);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    this.completed = this.files.every((file) => file.savedCompleted);
    this.durableEmitted = emitted;
    this.durableOutstanding = outstanding;
    for (const wake of this.windowWaiters.splice(0)) wake();
  }

  /**
   * Quotes a crash now could re-send: unacknowledged when the durable checkpoints were written,
   * plus sent since.
   */
  private inWindow(): number {
    return this.durableOutstanding + this.source.stats.emitted - this.durableEmitted;
  }

  /** The producer acknowledged quotes of this session: with the window half full, checkpoint them now. */
  onAcknowledged(): void {
    if (this.inWindow() >= this.options.sendWindow / 2) this.requestSave();
  }

  private requestSave(): void {
    this.saveRequested = true;
    this.wakeSaver?.();
  }

  /** Waits for the saver's next period, or until the send window asks for a checkpoint, or `stop`. */
  private async untilNextSave(stop: AbortSignal): Promise<void> {
    const woken = new AbortController();
    const wake = (): void => woken.abort();
    stop.addEventListener('abort', wake, { once: true });
    this.wakeSaver = wake;
    try {
      if (!this.saveRequested) await this.options.clock.sleep(this.options.checkpointMs, woken.signal);
    } finally {
      this.saveRequested = false;
      this.wakeSaver = undefined;
      stop.removeEventListener('abort', wake);
    }
  }

  /** Periodic saves (they also renew the leases) until `stop`; losing a lease aborts `lost`. */
  private async keepSaving(stop: AbortSignal, lost: AbortController): Promise<void> {
    const { checkpointMs, logger, clock } = this.options;
    let failures = 0;
    while (!stop.aborted) {
      // A failing store is retried every period, not as fast as the window asks.
      if (failures > 0) await clock.sleep(checkpointMs, stop);
      else await this.untilNextSave(stop);
      if (stop.aborted) return;
      try {
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
    const inWindow = this.inWindow();
    if (inWindow >= this.options.sendWindow / 2) this.requestSave();
    if (inWindow < this.options.sendWindow) return undefined;
    // Held: have the producer send what it holds now rather than after its linger, so that the
    // acknowledgements (and the checkpoint that opens the window) come as soon as they can.
    if (!this.windowFlush) {
      this.windowFlush = true;
      void this.options.producer
        .flush(sendSignal)
        // A failed producer fails the next put; nothing to report here.
        .catch(() => undefined)
        .finally(() => (this.windowFlush = false));
    }
    return new Promise<void>((resolve) => {
      // The abort listener goes with the wait: one left behind per hold would pile up on the
      // session's signal (hundreds per replay, each add walking the list).
      const release = (): void => {
        sendSignal.removeEventListener('abort', release);
        resolve();
      };
      this.windowWaiters.push(release);
      sendSignal.addEventListener('abort', release, { once: true });
    });
  }

  private gate(sendSignal: AbortSignal): Promise<void> | undefined {
    const held = this.options.historicalGate?.(this.sentThisSession);
    return held === undefined ? undefined : Promise.race([held, untilAborted(sendSignal)]);
  }
}
