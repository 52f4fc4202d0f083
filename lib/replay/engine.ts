/**
 * The long-running replayer: historical or live, as the control item in DynamoDB says.
 *
 * It polls the control item (consistent reads) and, on a new version, stops pulling from the
 * current source, flushes the producer so every quote read is acknowledged, saves the historical
 * checkpoint, and starts the other source. Historical replay resumes from its checkpoint (lease-
 * protected, see checkpoint-store.ts) with a re-anchored pacing clock, so historical → live →
 * historical continues exactly where it stopped — also after a crash or a restart of the stack.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Mode, ModeControl, ReplayStatus } from '../control/control-store.ts';
import { describeFsError, InputError } from '../errors.ts';
import { silentLogger, type Logger } from '../logging/logger.ts';
import { START_POSITION, type HistoricalPosition } from './ack-tracker.ts';
import { CheckpointOwnershipError, type DynamoCheckpointStore, type StoredCheckpoint } from './checkpoint-store.ts';
import { systemClock, type Clock } from '../time/clock.ts';
import { HistoricalSource, scanCsv, sourceIdFor, type CsvScan } from './historical-source.ts';
import { Pacer, type Speed } from './pacer.ts';
import type { ReplaySource } from './replay-source.ts';
import { replay, type QuoteAck, type QuoteSink } from './replayer.ts';
import { isRetryableError } from '../aws/retryable.ts';
import { Backoff, retry } from '../time/retry.ts';

/** What the engine needs of the control item and status item (lib/control/control-store.ts). */
export interface ControlPort {
  getMode(): Promise<ModeControl>;
  putStatus(status: ReplayStatus): Promise<void>;
}

/** What the engine needs of the checkpoint store (lib/replay/checkpoint-store.ts). */
export type CheckpointPort = Pick<DynamoCheckpointStore, 'findByFile' | 'acquire' | 'save' | 'release' | 'leaseMs'>;

/** A live source plus its connection state, for the status. */
export interface LiveSourceLike extends ReplaySource {
  connectionState(): { connection: string; reconnects: number };
}

export interface EngineOptions {
  control: ControlPort;
  producer: QuoteSink;
  checkpoints: CheckpointPort;
  historicalFile: string;
  speed: Speed;
  /** Absent: live mode is unavailable (requests for it are logged and ignored until historical). */
  liveUrl?: string;
  createLiveSource: (url: string) => LiveSourceLike;
  logger?: Logger;
  clock?: Clock;
  /** For the backoff jitter: a value in [0, 1). */
  random?: () => number;
  /** Control polling period (ms). */
  pollMs?: number;
  /**
   * How often the checkpoint is saved while acknowledgements arrive (ms). Short, so that a crash
   * re-sends little; the lease is renewed at least every few seconds even when nothing moves.
   */
  checkpointMs?: number;
  statusMs?: number;
  /** Called as historical progress moves (acknowledged, total). */
  onProgress?: (done: number, total: number) => void;
  /**
   * Called before each historical quote is handed to the producer, with how many this session
   * already handed over; a returned promise holds the quote back until it settles or the session
   * ends (a mode switch or a stop). A held quote that the session ends on is not sent: the resume
   * starts with it. Lets a scripted run (npm run demo) switch modes at exact quote counts.
   */
  historicalGate?: (sentThisSession: number) => Promise<void> | undefined;
  now?: () => number;
}

/** How long a stopping engine keeps flushing what was read to Kinesis. */
const FLUSH_GRACE_MS = 10_000;

/**
 * Quotes that may be outside the last durable checkpoint at any moment: those it saw sent but not
 * acknowledged, plus those sent since it was written. A crash re-sends at most these (only the
 * ones Kinesis had stored become duplicates): the duplicate bound logged on resume.
 */
export const SEND_WINDOW = 500;

/** Aborts `ms` after `signal` aborted. */
function graceAfter(signal: AbortSignal, ms: number): AbortSignal {
  const controller = new AbortController();
  const arm = (): void => {
    setTimeout(() => controller.abort(), ms).unref();
  };
  if (signal.aborted) arm();
  else signal.addEventListener('abort', arm, { once: true });
  return controller.signal;
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** A unique, readable replayer identity for leases. */
export function replayerIdentity(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

interface HistoricalState {
  source: HistoricalSource;
  scan: CsvScan;
}

export class ReplayEngine {
  private readonly o: Required<Omit<EngineOptions, 'liveUrl' | 'onProgress' | 'historicalGate'>> &
    Pick<EngineOptions, 'liveUrl' | 'onProgress' | 'historicalGate'>;
  private control: ModeControl | undefined;
  private appliedVersion = -1;
  private historical: HistoricalState | undefined;
  private live: LiveSourceLike | undefined;
  private liveReceived = 0;
  private completed = false;
  private mode: Mode = 'historical';
  private failure: Error | undefined;
  /** Aborts FLUSH_GRACE_MS after the engine was told to stop: flushes never hang a shutdown. */
  private flushDeadline: AbortSignal = new AbortController().signal;

  constructor(options: EngineOptions) {
    this.o = {
      ...options,
      logger: options.logger ?? silentLogger,
      clock: options.clock ?? systemClock,
      random: options.random ?? Math.random,
      pollMs: options.pollMs ?? 200,
      checkpointMs: options.checkpointMs ?? 50,
      statusMs: options.statusMs ?? 1_000,
      now: options.now ?? Date.now,
    };
  }

  /** Routes the producer's acknowledgements to the historical source they belong to. */
  onAck(acked: readonly QuoteAck[]): void {
    const current = this.historical;
    if (current === undefined) return;
    for (const a of acked) if (a.entry.source === current.source.sourceId) current.source.acknowledge(a.entry.seq);
    this.o.onProgress?.(current.source.done, current.source.total);
  }

  /** Runs until `signal` aborts; then flushes, checkpoints and releases the lease. */
  async run(signal: AbortSignal): Promise<void> {
    const { logger } = this.o;
    this.flushDeadline = graceAfter(signal, FLUSH_GRACE_MS);
    this.control = await this.o.control.getMode();
    // Background loops stop with the engine, also when a session fails.
    const background = new AbortController();
    const stop = AbortSignal.any([signal, background.signal]);
    const poller = this.pollControl(stop);
    const reporter = this.reportStatus(stop);
    try {
      while (!signal.aborted && this.failure === undefined) {
        const control = this.control;
        const session = new AbortController();
        const onStop = (): void => session.abort();
        signal.addEventListener('abort', onStop, { once: true });
        const watch = this.watchForSwitch(control.version, session);
        try {
          this.appliedVersion = control.version;
          const live = control.mode === 'live' && this.o.liveUrl !== undefined;
          // The status reports the mode actually run, not merely the one requested.
          this.mode = live ? 'live' : 'historical';
          logger.info('mode applied', { mode: this.mode, version: control.version, fromStart: control.fromStart });
          if (live) await this.runLive(this.o.liveUrl as string, control, session.signal);
          else {
            if (control.mode === 'live') logger.warn('live mode requested but no live feed is configured (--live-url / --live-file); staying historical');
            await this.runHistorical(control, session.signal);
          }
          // The source ended on its own (historical file done): idle until the mode changes.
          if (!session.signal.aborted && this.failure === undefined) await aborted(session.signal);
        } finally {
          signal.removeEventListener('abort', onStop);
          session.abort();
          await watch;
        }
      }
    } finally {
      background.abort();
      await Promise.all([poller, reporter]);
      await this.writeStatus().catch(() => undefined);
    }
    if (this.failure !== undefined) throw this.failure;
  }

  private async pollControl(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      await this.o.clock.sleep(this.o.pollMs, signal);
      if (signal.aborted) return;
      try {
        this.control = await this.o.control.getMode();
        if (failures > 0) this.o.logger.info('mode control item readable again', { failedReads: failures });
        failures = 0;
      } catch (error) {
        // Polled every few hundred ms: log the first failure and then one in 50, not each one.
        if (failures++ % 50 === 0) this.o.logger.warn('cannot read the mode control item; keeping the current mode', { failedReads: failures, error });
      }
    }
  }

  /** Aborts `session` as soon as the control item carries a newer version. */
  private async watchForSwitch(version: number, session: AbortController): Promise<void> {
    while (!session.signal.aborted) {
      if ((this.control?.version ?? version) !== version) {
        this.o.logger.info('mode change requested', { from: this.mode, to: this.control?.mode, version: this.control?.version });
        session.abort();
        return;
      }
      await this.o.clock.sleep(Math.max(10, this.o.pollMs / 4), session.signal);
    }
  }

  private async reportStatus(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.writeStatus().catch((error: unknown) => this.o.logger.warn('cannot write the replay status', { error }));
      await this.o.clock.sleep(this.o.statusMs, signal);
    }
  }

  status(): ReplayStatus {
    const h = this.historical;
    const live = this.live?.connectionState();
    return {
      mode: this.mode,
      appliedVersion: this.appliedVersion,
      historical: {
        file: this.o.historicalFile,
        source: h?.source.sourceId,
        done: h?.source.done ?? 0,
        total: h?.source.total ?? 0,
        rejected: h?.source.stats.rejected ?? 0,
        completed: this.completed,
        position: h === undefined ? undefined : { ...h.source.position() },
      },
      live: {
        url: this.o.liveUrl,
        connection: live?.connection ?? 'closed',
        received: this.liveReceived,
        rejected: this.live?.stats.rejected ?? 0,
        reconnects: live?.reconnects ?? 0,
      },
      updatedAt: new Date(this.o.now()).toISOString(),
    };
  }

  private writeStatus(): Promise<void> {
    return this.o.control.putStatus(this.status());
  }

  private logSwitchLatency(control: ModeControl): () => void {
    let first = true;
    return () => {
      if (!first) return;
      first = false;
      const requested = Date.parse(control.requestedAt);
      if (Number.isFinite(requested)) {
        this.o.logger.info('first quote of the new mode sent', { mode: control.mode, version: control.version, sinceRequestMs: this.o.now() - requested });
      }
    };
  }

  private async runLive(url: string, control: ModeControl, signal: AbortSignal): Promise<void> {
    const source = this.o.createLiveSource(url);
    this.live = source;
    const firstQuote = this.logSwitchLatency(control);
    const onAbort = (): void => void source.close();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await replay(source, {
        producer: this.o.producer,
        signal,
        onSent: () => {
          this.liveReceived++;
          firstQuote();
        },
      });
    } finally {
      signal.removeEventListener('abort', onAbort);
      await source.close();
      // Live is live: nothing read is kept for later, but what was read is delivered.
      await this.o.producer.flush(this.flushDeadline);
      this.live = undefined;
    }
  }

  /**
   * Retries transient AWS failures with backoff until they succeed or `signal` aborts (undefined
   * then; a failure that finds the session already cancelled is rethrown).
   */
  private retrying<T>(what: string, signal: AbortSignal, call: () => Promise<T>): Promise<T | undefined> {
    return retry(call, {
      backoff: new Backoff({ clock: this.o.clock, random: this.o.random }),
      retryable: isRetryableError,
      signal,
      onRetry: (error, { attempt, delayMs }) => this.o.logger.warn(`cannot ${what} yet; retrying`, { attempt, delayMs, error }),
    });
  }

  /**
   * Loads (or builds) the scan and the checkpoint, taking the lease; waits out a dead owner's
   * lease. Undefined when the session was cancelled (switch or stop) before the source could open.
   */
  private async openHistorical(
    control: ModeControl,
    signal: AbortSignal,
  ): Promise<{ scan: CsvScan; start: HistoricalPosition; rewindsHonoured: number } | undefined> {
    const file = path.resolve(this.o.historicalFile);
    const { checkpoints, logger, clock } = this.o;
    const quick = await stat(file).catch((error: unknown) => {
      throw new InputError(`cannot read ${file}: ${describeFsError(error)}`, { file }, { cause: error });
    });
    const known = await this.retrying('look up the checkpoint', signal, () => checkpoints.findByFile(file, quick.size, quick.mtimeMs));
    if (signal.aborted) return undefined;
    const scan: CsvScan =
      known !== undefined
        ? { file, fingerprint: known.fingerprint, records: known.records, validRows: known.validRows, rejectedRows: known.records - known.validRows, disorderUs: known.disorderUs, size: known.size, mtimeMs: known.mtimeMs }
        : await scanCsv(file);
    const sourceId = sourceIdFor(scan.fingerprint);
    let stored: StoredCheckpoint | undefined;
    const deadline = this.o.now() + checkpoints.leaseMs + 1_000;
    for (;;) {
      if (signal.aborted) return undefined;
      try {
        stored = await this.retrying('take the checkpoint lease', signal, () => checkpoints.acquire(sourceId));
        break;
      } catch (error) {
        // A replayer killed without releasing its lease: wait for it to expire (bounded). A switch
        // or a stop meanwhile simply ends this session.
        if (!(error instanceof CheckpointOwnershipError) || this.o.now() > deadline) throw error;
        logger.warn('waiting for the previous owner of this source to release it or for its lease to expire', { sourceId, error });
        await clock.sleep(500, signal);
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

  private async runHistorical(control: ModeControl, signal: AbortSignal): Promise<void> {
    const { logger, producer, checkpoints } = this.o;
    const opened = await this.openHistorical(control, signal);
    if (opened === undefined) return;
    const { scan, start, rewindsHonoured } = opened;
    const source = new HistoricalSource(scan, { logger: logger.child('historical-source'), start });
    this.historical = { source, scan };
    this.completed = start.completed;

    // The send window: quotes outside the last durable checkpoint (unacknowledged when it was
    // written, or sent since) are capped, so that a crash re-sends a known, bounded number of them
    // (logged on resume as possibleDuplicates).
    let durableEmitted = source.stats.emitted;
    // Sent but unacknowledged when the durable checkpoint was written: still outside it.
    let durableOutstanding = 0;
    const windowWaiters: Array<() => void> = [];
    /**
     * `final`: the session has stopped sending (replay ended, producer flushed), so nothing beyond
     * this checkpoint can be in flight and the duplicate bound is just what is still unacknowledged
     * (0 after a complete flush) instead of that plus a whole send window.
     */
    const save = async (final = false): Promise<void> => {
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
        rewindsHonoured,
        // While sending goes on, the window holds everything a crash after this checkpoint can re-send.
        position: { ...position, unacknowledged: final ? (position.unacknowledged ?? 0) : SEND_WINDOW },
      };
      await checkpoints.save(checkpoint);
      this.completed = checkpoint.position.completed;
      durableEmitted = emitted;
      durableOutstanding = position.unacknowledged ?? 0;
      for (const wake of windowWaiters.splice(0)) wake();
    };
    await save();
    this.o.onProgress?.(source.done, source.total);

    // Periodic saves (they also renew the lease). Losing the lease stops the replay at once.
    const lost = new AbortController();
    const stopSaver = new AbortController();
    const renewEveryMs = Math.max(this.o.checkpointMs, checkpoints.leaseMs / 4);
    const saver = (async () => {
      let savedDone = source.done;
      let savedAt = this.o.clock.now();
      while (!stopSaver.signal.aborted) {
        await this.o.clock.sleep(this.o.checkpointMs, stopSaver.signal);
        if (stopSaver.signal.aborted) return;
        // Save when something was acknowledged or the window is waiting; otherwise only to renew the lease.
        if (source.done === savedDone && windowWaiters.length === 0 && this.o.clock.now() - savedAt < renewEveryMs) continue;
        try {
          savedDone = source.done;
          savedAt = this.o.clock.now();
          await save();
        } catch (error) {
          if (error instanceof CheckpointOwnershipError) {
            this.failure = error;
            lost.abort();
            return;
          }
          logger.warn('checkpoint save failed; will retry', { error });
        }
      }
    })();
    const sendSignal = AbortSignal.any([signal, lost.signal]);
    const firstQuote = this.logSwitchLatency(control);
    let sentThisSession = 0;
    const sendWindow = (): Promise<void> | undefined =>
      durableOutstanding + source.stats.emitted - durableEmitted < SEND_WINDOW
        ? undefined
        : new Promise<void>((resolve) => {
            windowWaiters.push(resolve);
            sendSignal.addEventListener('abort', () => resolve(), { once: true });
          });
    const gate = (): Promise<void> | undefined => {
      const held = this.o.historicalGate?.(sentThisSession);
      return held === undefined ? undefined : Promise.race([held, aborted(sendSignal)]);
    };
    try {
      const result = await replay(source, {
        producer,
        // A fresh pacer per session: a resume starts on time, with no burst to catch up.
        pacer: this.o.speed === 'max' ? undefined : new Pacer(this.o.speed, this.o.clock),
        signal: sendSignal,
        beforeSend: () => {
          const window = sendWindow();
          const held = gate();
          if (held === undefined) return window;
          return window === undefined ? held : Promise.all([window, held]).then(() => undefined);
        },
        onSent: () => {
          sentThisSession++;
          firstQuote();
        },
      });
      // The saver keeps the lease alive while the producer flushes; it is stopped before the final
      // save so that an older snapshot cannot land after it.
      await producer.flush(this.flushDeadline);
      stopSaver.abort();
      await saver;
      if (this.failure !== undefined) return;
      try {
        await save(true);
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
}
