/**
 * The long-running replayer: historical or live, as the control item in DynamoDB says.
 *
 * It polls the control item (consistent reads) and, on a new version, stops pulling from the
 * current source, flushes the producer so every quote read is acknowledged, saves the historical
 * checkpoint, and starts the other source. Historical replay resumes from its checkpoint (lease-
 * protected, see checkpoint-store.ts) with a re-anchored pacing clock, so historical → live →
 * historical continues exactly where it stopped — also after a crash or a restart of the stack.
 * A historical session (lease, checkpoints, send window) is historical-session.ts.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Mode, ModeControl, ReplayStatus } from '../control/control-store.ts';
import { silentLogger, type Logger } from '../logging/logger.ts';
import type { Resolved } from '../options.ts';
import { isRetryableError } from '../aws/retryable.ts';
import { untilAborted } from '../time/abort.ts';
import { Backoff, retry } from '../time/retry.ts';
import { WakeableSleep } from '../time/wakeable-sleep.ts';
import { systemClock, type Clock } from '../time/clock.ts';
import { FingerprintCache } from './fingerprint-cache.ts';
import { HistoricalSession, openHistorical, SEND_WINDOW, type CheckpointPort, type HistoricalSessionOptions } from './historical-session.ts';
import type { Speed } from './pacer.ts';
import type { PacedQuote, ReplaySource } from './replay-source.ts';
import { replay, type QuoteAck, type QuoteSink } from './replayer.ts';
import type { Selection } from './selection.ts';
import type { InputContext } from '../input/input.ts';

export { SEND_WINDOW, type CheckpointPort } from './historical-session.ts';

/** What the engine needs of the control item and status item (lib/control/control-store.ts). */
export interface ControlPort {
  getMode(): Promise<ModeControl>;
  putStatus(status: ReplayStatus): Promise<void>;
}

/** A live source plus its connection state, for the status. */
export interface LiveSourceLike extends ReplaySource {
  connectionState(): { connection: string; reconnects: number; sequenceGaps?: number; missedMessages?: number };
}

export interface EngineOptions {
  control: ControlPort;
  producer: QuoteSink;
  checkpoints: CheckpointPort;
  /** The historical input(s): one file, or several replayed merged by arrival (in this order for ties). */
  historicalFile: string | readonly string[];
  /** How inputs other than local files are reached (the S3 client); default: local files only. */
  inputs?: InputContext;
  /** Window, tickers and disorder bound (default: everything, 60 s). */
  selection?: Selection;
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
  /**
   * Historical quotes that may be outside the last durable checkpoint: what a crash can re-send,
   * logged on resume as possibleDuplicates (default SEND_WINDOW). Fault tests set a small one so
   * that short runs fill it.
   */
  sendWindow?: number;
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
  /** Called after each quote (historical or live) is handed to the producer (the benchmark's delivery latency). */
  onQuoteSent?: (quote: PacedQuote) => void;
  now?: () => number;
}

/** How long a stopping engine keeps flushing what was read to Kinesis. */
const FLUSH_GRACE_MS = 10_000;

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

/** A unique, readable replayer identity for leases. */
export function replayerIdentity(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

export class ReplayEngine {
  private readonly options: Resolved<EngineOptions, 'liveUrl' | 'onProgress' | 'historicalGate' | 'selection' | 'inputs' | 'onQuoteSent'>;
  private readonly historicalFiles: readonly string[];
  /** Inputs identified by content once per process; mode switches reuse it while files are unchanged. */
  private readonly fingerprints = new FingerprintCache();
  private control: ModeControl | undefined;
  private appliedVersion = -1;
  /** The current or last historical session (its source's progress stays in the status while live). */
  private historical: HistoricalSession | undefined;
  private live: LiveSourceLike | undefined;
  private liveReceived = 0;
  private mode: Mode = 'historical';
  private failure: Error | undefined;
  /** Aborts FLUSH_GRACE_MS after the engine was told to stop: flushes never hang a shutdown. */
  private flushDeadline: AbortSignal = new AbortController().signal;
  /** The control poll's pause, cut short by `controlWritten()`. */
  private readonly pollPause: WakeableSleep;
  /** The switch watcher's pause, cut short as soon as a read brings a new version. */
  private readonly watchPause: WakeableSleep;

  constructor(options: EngineOptions) {
    this.options = {
      ...options,
      logger: options.logger ?? silentLogger,
      clock: options.clock ?? systemClock,
      random: options.random ?? Math.random,
      pollMs: options.pollMs ?? 200,
      checkpointMs: options.checkpointMs ?? 50,
      sendWindow: options.sendWindow ?? SEND_WINDOW,
      statusMs: options.statusMs ?? 1_000,
      now: options.now ?? Date.now,
    };
    this.historicalFiles = typeof options.historicalFile === 'string' ? [options.historicalFile] : options.historicalFile;
    this.pollPause = new WakeableSleep(this.options.clock);
    this.watchPause = new WakeableSleep(this.options.clock);
  }

  /**
   * The mode control item has just been written by someone in this process (`up`'s mode API):
   * read it now rather than at the next poll. The item in DynamoDB stays the only truth — this
   * only moves the next read forward, saving up to one poll period (and the watcher's pause) of a
   * mode switch.
   */
  controlWritten(): void {
    this.pollPause.wake();
  }

  /** Routes the producer's acknowledgements to the historical source they belong to. */
  onAck(acked: readonly QuoteAck[]): void {
    const current = this.historical;
    if (current === undefined) return;
    for (const a of acked) current.source.acknowledge(a.entry.source, a.entry.seq);
    current.onAcknowledged();
    this.options.onProgress?.(current.source.done, current.source.total);
  }

  /** Runs until `signal` aborts; then flushes, checkpoints and releases the lease. */
  async run(signal: AbortSignal): Promise<void> {
    const { logger } = this.options;
    this.flushDeadline = graceAfter(signal, FLUSH_GRACE_MS);
    // The first read of the mode may meet a throttled or unavailable table: retried, not fatal.
    this.control = await retry(() => this.options.control.getMode(), {
      backoff: new Backoff({ clock: this.options.clock, random: this.options.random }),
      retryable: isRetryableError,
      signal,
      onRetry: (error, { attempt, delayMs }) => logger.warn('cannot read the mode control item yet; retrying', { attempt, delayMs, error }),
    });
    if (this.control === undefined) return;
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
          const live = control.mode === 'live' && this.options.liveUrl !== undefined;
          // The status reports the mode actually run, not merely the one requested.
          this.mode = live ? 'live' : 'historical';
          logger.info('mode applied', { mode: this.mode, version: control.version, fromStart: control.fromStart });
          if (live) await this.runLive(this.options.liveUrl as string, control, session.signal);
          else {
            if (control.mode === 'live') logger.warn('live mode requested but no live feed is configured (--live-url / --live-file); staying historical');
            await this.runHistorical(control, session.signal);
          }
          // The source ended on its own (historical file done): idle until the mode changes.
          if (!session.signal.aborted && this.failure === undefined) await untilAborted(session.signal);
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
      await this.pollPause.sleep(this.options.pollMs, signal);
      if (signal.aborted) return;
      try {
        const before = this.control?.version;
        this.control = await this.options.control.getMode();
        if (this.control.version !== before) this.watchPause.wake();
        if (failures > 0) this.options.logger.info('mode control item readable again', { failedReads: failures });
        failures = 0;
      } catch (error) {
        // Polled every few hundred ms: log the first failure and then one in 50, not each one.
        if (failures++ % 50 === 0) this.options.logger.warn('cannot read the mode control item; keeping the current mode', { failedReads: failures, error });
      }
    }
  }

  /** Aborts `session` as soon as the control item carries a newer version. */
  private async watchForSwitch(version: number, session: AbortController): Promise<void> {
    while (!session.signal.aborted) {
      if ((this.control?.version ?? version) !== version) {
        this.options.logger.info('mode change requested', { from: this.mode, to: this.control?.mode, version: this.control?.version });
        session.abort();
        return;
      }
      await this.watchPause.sleep(Math.max(10, this.options.pollMs / 4), session.signal);
    }
  }

  private async reportStatus(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.writeStatus().catch((error: unknown) => this.options.logger.warn('cannot write the replay status', { error }));
      await this.options.clock.sleep(this.options.statusMs, signal);
    }
  }

  status(): ReplayStatus {
    const h = this.historical;
    const live = this.live?.connectionState();
    return {
      mode: this.mode,
      appliedVersion: this.appliedVersion,
      historical: {
        file: this.historicalFiles.join(', '),
        source: h?.source.sourceId,
        done: h?.source.done ?? 0,
        total: h?.source.total ?? 0,
        rejected: h?.source.stats.rejected ?? 0,
        completed: h?.completed ?? false,
        position: h === undefined ? undefined : { ...h.source.position() },
      },
      live: {
        url: this.options.liveUrl,
        connection: live?.connection ?? 'closed',
        received: this.liveReceived,
        rejected: this.live?.stats.rejected ?? 0,
        reconnects: live?.reconnects ?? 0,
        sequenceGaps: live?.sequenceGaps ?? 0,
        missedMessages: live?.missedMessages ?? 0,
      },
      updatedAt: new Date(this.options.now()).toISOString(),
    };
  }

  private writeStatus(): Promise<void> {
    return this.options.control.putStatus(this.status());
  }

  /** After each historical quote sent: the switch latency (first one), then `onQuoteSent`. */
  private sentHook(control: ModeControl): (quote: PacedQuote) => void {
    const firstQuote = this.logSwitchLatency(control);
    const onQuoteSent = this.options.onQuoteSent;
    return onQuoteSent === undefined ? firstQuote : (quote) => {
      firstQuote();
      onQuoteSent(quote);
    };
  }

  private logSwitchLatency(control: ModeControl): () => void {
    let first = true;
    return () => {
      if (!first) return;
      first = false;
      const requested = Date.parse(control.requestedAt);
      if (Number.isFinite(requested)) {
        this.options.logger.info('first quote of the new mode sent', { mode: control.mode, version: control.version, sinceRequestMs: this.options.now() - requested });
      }
    };
  }

  private async runLive(url: string, control: ModeControl, signal: AbortSignal): Promise<void> {
    const source = this.options.createLiveSource(url);
    this.live = source;
    const firstQuote = this.logSwitchLatency(control);
    const onAbort = (): void => void source.close();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await replay(source, {
        producer: this.options.producer,
        signal,
        onSent: (quote) => {
          this.liveReceived++;
          firstQuote();
          this.options.onQuoteSent?.(quote);
        },
      });
    } finally {
      signal.removeEventListener('abort', onAbort);
      await source.close();
      // Live is live: nothing read is kept for later, but what was read is delivered.
      await this.options.producer.flush(this.flushDeadline);
      this.live = undefined;
    }
  }

  private async runHistorical(control: ModeControl, signal: AbortSignal): Promise<void> {
    const { checkpoints, producer, selection, speed, logger, clock, random, now, checkpointMs, sendWindow, onProgress, historicalGate } = this.options;
    const options: HistoricalSessionOptions = {
      checkpoints,
      producer,
      historicalFiles: this.historicalFiles,
      selection,
      fingerprints: this.fingerprints,
      inputs: this.options.inputs,
      speed,
      logger,
      clock,
      random,
      now,
      checkpointMs,
      sendWindow,
      onProgress,
      historicalGate,
      flushDeadline: this.flushDeadline,
      onSent: this.sentHook(control),
    };
    const opened = await openHistorical(options, control, signal);
    if (opened === undefined) return;
    const session = new HistoricalSession(opened, options);
    this.historical = session;
    try {
      await session.run(signal);
    } finally {
      this.failure ??= session.failure;
    }
  }
}
