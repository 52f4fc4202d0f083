/**
 * Live quotes from a websocket feed, as a ReplaySource. The socket lifecycle is written once
 * here (tardis-node RealTimeFeedBase): connect, validate every message, ping/pong liveness,
 * `terminate()` on a dead peer, reconnect with capped jittered backoff, bounded buffers.
 *
 * Identity: `sourceId` is `live:<url>#<session>`, the session a random id per LiveSource. `seq`
 * counts the valid quotes of this instance (1, 2, 3, … with no gaps, so a consumer can spot a
 * loss); it starts again at 1 in a new process, and the session id keeps (source, seq) unique
 * across restarts: without it a restarted replayer would reuse `live:<url>`/1 for a different
 * quote. The URL is shown without credentials or query string (feeds put tokens there).
 *
 * Backpressure: valid quotes wait in a queue of at most `maxQueued` for the consumer. When it is
 * full, reading the socket stops (`ws.pause()`): the kernel buffers fill and TCP flow control
 * pushes back on the feed, which is where a slow reader should be felt (our feed server drops
 * such a client past its own bound; an exchange does the same). Reading resumes when the consumer
 * has drained the queue below half. Validation, stamping and the queue live in quote-intake.ts,
 * including why a few frames are held undecoded after a pause (ws emits the rest of a socket read
 * already taken): the queue never exceeds `maxQueued` and nothing TCP delivered is dropped.
 *
 * Time (pings, timeouts, backoff) goes through the injected Clock and jitter through `random`;
 * arrival stamps come from `now` (epoch ms).
 */
import { randomBytes } from 'node:crypto';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import { WebSocket, type RawData } from 'ws';
import type { BackoffPolicy } from '../time/backoff.ts';
import { Backoff } from '../time/retry.ts';
import { ConfigError, errorCode } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import type { Resolved } from '../options.ts';
import { systemClock, type Clock } from '../time/clock.ts';
import type { PacedQuote, ReplaySource, SourceStats } from '../replay/replay-source.ts';
import { LiveSourceError } from './live-errors.ts';
import { QuoteIntake } from './quote-intake.ts';
import { SequenceCheck } from './sequence-check.ts';
import type { LiveFormat } from './venues/venue.ts';
import { subscribeMessages, venueMapper } from './venues/venues.ts';

export interface LiveSourceOptions {
  /**
   * `ws://` or `wss://` feed URL. A `#fragment` is never sent: it lists symbols to subscribe to
   * (`wss://ws.kraken.com/v2#BTC/USD,ETH/USD`), as `subscribe` does.
   */
  url: string;
  /** How messages become quotes (default `json`, our own format; see lib/live/venues/). */
  format?: LiveFormat;
  /**
   * What to send after every connect: JSON message(s), sent as given, or a comma-separated list
   * of symbols the format's mapper turns into its subscribe messages.
   */
  subscribe?: string;
  logger: Logger;
  clock?: Clock;
  /** Uniform in [0, 1): backoff jitter. */
  random?: () => number;
  /** Epoch ms for arrival stamps (default Date.now). */
  now?: () => number;
  /**
   * Largest message accepted, bytes (default 4 KiB for `json`, 256 KiB for venues, whose
   * snapshots list many symbols); a larger frame closes the connection with 1009.
   */
  maxPayload?: number;
  /** Time from a connection's open, and then between pings (default 5000 ms). */
  pingIntervalMs?: number;
  /** A ping unanswered this long means a dead peer (default 5000 ms); also bounds a close handshake. */
  pongTimeoutMs?: number;
  /** A connection not open after this long is abandoned and retried (default 10000 ms). */
  connectTimeoutMs?: number;
  /** Reconnect delays (default base 250 ms, cap 10 s, full jitter). */
  backoff?: BackoffPolicy;
  /** Quotes held for a slow consumer before the socket is paused (default 1000). */
  maxQueued?: number;
  /** Fixed session id (default 8 random hex digits); see the file comment. */
  sessionId?: string;
}

export type LiveConnection = 'connecting' | 'open' | 'closed';

/** Live connection state, shown by GET /mode. */
export interface LiveConnectionStats {
  connection: LiveConnection;
  /** Connection attempts after the first. */
  reconnects: number;
  /** Connections terminated because a ping went unanswered. */
  pongTimeouts: number;
  /** Frames larger than maxPayload (each closed its connection with 1009). */
  oversize: number;
  /** Venue sequence numbers: gaps, messages they skipped, steps back (sequence-check.ts). */
  sequenceGaps: number;
  missedMessages: number;
  sequenceRegressions: number;
  /** Quotes waiting for the consumer (never more than maxQueued). */
  queued: number;
  /** Frames read before a pause took effect, not yet decoded (see the file comment). */
  held: number;
  /** Socket reads are paused because the queue is full. */
  paused: boolean;
  lastCloseCode?: number;
  lastError?: string;
}

export const DEFAULT_LIVE_BACKOFF: BackoffPolicy = { baseMs: 250, capMs: 10_000 };

const DEFAULTS = {
  maxPayload: 4 * 1024,
  venueMaxPayload: 256 * 1024,
  pingIntervalMs: 5_000,
  pongTimeoutMs: 5_000,
  connectTimeoutMs: 10_000,
  maxQueued: 1_000,
} as const;

/** Per-connection liveness state, shared by the heartbeat and the pong listener. */
interface Beat {
  awaitingPong: boolean;
  /** Reading was paused since the last ping: its pong may be unread, so silence proves nothing. */
  pausedSincePing: boolean;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const result = value ?? fallback;
  if (!Number.isSafeInteger(result) || result <= 0) {
    throw new ConfigError(`LiveSource option ${name} must be a positive integer, got ${String(value)}`, { name, value });
  }
  return result;
}

/** The URL as shown in logs and records: no user info, no query (tokens), no lone `/` path. */
function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
}

export class LiveSource implements ReplaySource {
  readonly mode = 'live' as const;
  readonly sourceId: string;
  readonly stats: SourceStats = { read: 0, rejected: 0, crossed: 0, emitted: 0 };
  readonly liveStats: LiveConnectionStats = {
    connection: 'closed',
    reconnects: 0,
    pongTimeouts: 0,
    oversize: 0,
    sequenceGaps: 0,
    missedMessages: 0,
    sequenceRegressions: 0,
    queued: 0,
    held: 0,
    paused: false,
  };

  /** `logger` is this source's child logger; `sessionId` is the one in `sourceId`; `url` has no fragment. */
  private readonly options: Resolved<LiveSourceOptions, 'subscribe'>;
  /** Sent after every connect (venue subscriptions). */
  private readonly subscriptions: string[];
  private readonly sequences: SequenceCheck;
  private readonly shownUrl: string;

  private readonly intake: QuoteIntake;
  /** Ends backoff sleeps and every connection's timers at close(). */
  private readonly stop = new AbortController();
  private socket: WebSocket | undefined;
  private beat: Beat | undefined;
  private iterated = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private running: Promise<void> | undefined;
  private wakeConsumer: (() => void) | undefined;

  constructor(options: LiveSourceOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new ConfigError(`live feed URL must be a ws:// or wss:// URL, got "${options.url}"`, { name: 'url' });
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
      throw new ConfigError(`live feed URL must use ws:// or wss://, got "${options.url}"`, { name: 'url' });
    }
    const format = options.format ?? 'json';
    const mapper = venueMapper(format);
    this.subscriptions = subscribeMessages(mapper, options.subscribe, options.url);
    // ws refuses a fragment when connecting: it is ours (symbols), not the server's.
    url.hash = '';
    this.shownUrl = displayUrl(url);
    const sessionId = options.sessionId ?? randomBytes(4).toString('hex');
    this.sourceId = `live:${this.shownUrl}#${sessionId}`;
    this.options = {
      url: url.toString(),
      format,
      subscribe: options.subscribe,
      sessionId,
      logger: options.logger.child('live-source', { url: this.shownUrl }),
      clock: options.clock ?? systemClock,
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
      maxPayload: positiveInteger('maxPayload', options.maxPayload, format === 'json' ? DEFAULTS.maxPayload : DEFAULTS.venueMaxPayload),
      pingIntervalMs: positiveInteger('pingIntervalMs', options.pingIntervalMs, DEFAULTS.pingIntervalMs),
      pongTimeoutMs: positiveInteger('pongTimeoutMs', options.pongTimeoutMs, DEFAULTS.pongTimeoutMs),
      connectTimeoutMs: positiveInteger('connectTimeoutMs', options.connectTimeoutMs, DEFAULTS.connectTimeoutMs),
      backoff: options.backoff ?? DEFAULT_LIVE_BACKOFF,
      maxQueued: positiveInteger('maxQueued', options.maxQueued, DEFAULTS.maxQueued),
    };
    this.sequences = new SequenceCheck(this.liveStats, this.options.logger);
    this.intake = new QuoteIntake({ sourceId: this.sourceId, maxQueued: this.options.maxQueued, stats: this.stats, logger: this.options.logger, mapper, sequences: this.sequences });
  }

  /** A snapshot of the connection state (what the engine's status shows). */
  /** Live quotes need no acknowledgement bookkeeping: nothing is resumed. */
  acknowledge(_source: string, _seq: number): void {}

  /** Live is live: there is no position to resume from. */
  position(): undefined {
    return undefined;
  }

  connectionState(): LiveConnectionStats {
    return { ...this.liveStats };
  }

  /**
   * Connects on the first `next()` and yields quotes until close(). One iteration per instance:
   * `seq` and the session belong to it. Leaving the loop early (break, throw) closes the source.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<PacedQuote> {
    if (this.iterated) throw new LiveSourceError('a LiveSource can be iterated only once; create a new one', { url: this.shownUrl });
    this.iterated = true;
    if (this.closed) return;
    this.running = this.run();
    try {
      for (;;) {
        if (this.closed) return;
        const quote = this.take();
        if (quote !== undefined) {
          this.stats.emitted++;
          yield quote;
          continue;
        }
        await new Promise<void>((resolve) => {
          this.wakeConsumer = resolve;
        });
        this.wakeConsumer = undefined;
      }
    } finally {
      await this.close();
    }
  }

  /**
   * Closes the socket (close frame, bounded wait, then terminate), cancels every timer and ends
   * the iteration after the quote it is on; queued quotes are dropped (live is live). Resolves
   * once nothing of the source is left running. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    this.stop.abort();
    this.intake.clear();
    this.liveStats.queued = 0;
    this.liveStats.held = 0;
    this.wakeConsumer?.();
    const socket = this.socket;
    if (socket !== undefined) await this.closeSocket(socket);
    await this.running;
    this.liveStats.connection = 'closed';
  }

  /** Connect, wait for the connection to end, back off, again, until close(). Never rejects. */
  private async run(): Promise<void> {
    const backoff = new Backoff({ policy: this.options.backoff, clock: this.options.clock, random: this.options.random });
    try {
      while (!this.closed) {
        const received = await this.connectOnce();
        if (this.closed) return;
        // A connection that delivered data proved the feed healthy: start the backoff afresh.
        // One that opened and closed without a message (a feed rejecting us) keeps backing off.
        if (received > 0) backoff.reset();
        this.liveStats.reconnects++;
        await backoff.pause(this.stop.signal, ({ attempt, delayMs }) =>
          this.options.logger.warn('reconnecting to the live feed', {
            attempt,
            delayMs,
            lastCloseCode: this.liveStats.lastCloseCode,
            lastError: this.liveStats.lastError,
          }),
        );
      }
    } catch (error) {
      // Only a bug gets here (ws reports failures as events); say so instead of hanging silently.
      this.options.logger.error('live source stopped unexpectedly', { error });
      this.closed = true;
      this.wakeConsumer?.();
    }
  }

  /** One connection, from attempt to close. Resolves with the number of messages it received. */
  private connectOnce(): Promise<number> {
    return new Promise<number>((resolve) => {
      // Aborted when this connection closes: its heartbeat and deadlines end with it.
      const connection = new AbortController();
      const ended = AbortSignal.any([connection.signal, this.stop.signal]);
      const beat: Beat = { awaitingPong: false, pausedSincePing: false };
      let received = 0;
      let opened = false;

      this.liveStats.connection = 'connecting';
      // Compression off: quotes are small, and inflating untrusted frames costs memory and CPU.
      const ws = new WebSocket(this.options.url, { maxPayload: this.options.maxPayload, perMessageDeflate: false });
      this.socket = ws;
      this.beat = beat;

      // Cancelled at open, so that no timer outlives its purpose.
      const handshake = new AbortController();
      this.after(this.options.connectTimeoutMs, AbortSignal.any([handshake.signal, ended]), () => {
        if (ws.readyState !== WebSocket.CONNECTING) return;
        this.liveStats.lastError = `not connected within ${this.options.connectTimeoutMs} ms`;
        ws.terminate();
      });

      ws.on('open', () => {
        handshake.abort();
        opened = true;
        this.liveStats.connection = 'open';
        this.liveStats.lastError = undefined;
        this.options.logger.info('connected to the live feed', { reconnects: this.liveStats.reconnects, format: this.options.format, subscriptions: this.subscriptions.length });
        // A new connection: venues number its messages afresh, and forget what we subscribed to.
        this.sequences.reset();
        for (const message of this.subscriptions) ws.send(message);
        // Still full from before the reconnect: do not read what cannot be queued.
        if (this.intake.full) this.pauseReading();
        void this.heartbeat(ws, beat, ended);
      });

      ws.on('message', (data, isBinary) => {
        received++;
        // Any frame after a ping proves the path alive: the pong itself can queue behind
        // megabytes of quotes that a slow consumer left unread.
        beat.awaitingPong = false;
        this.onFrame(data, isBinary);
      });

      ws.on('pong', () => {
        beat.awaitingPong = false;
      });

      ws.on('error', (error) => {
        this.liveStats.lastError = error.message;
        if (errorCode(error) === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
          this.liveStats.oversize++;
          this.intake.countUnreadable();
          this.options.logger.warn('message larger than maxPayload: connection closed with 1009, will reconnect', {
            maxPayload: this.options.maxPayload,
            oversize: this.liveStats.oversize,
            rejected: this.stats.rejected,
          });
        } else {
          // Refused or reset connections are routine while a feed restarts; the reconnect line
          // carries the error, this one is for debugging.
          this.options.logger.debug('live feed connection error', { error });
        }
        // ws has sent a close frame (or is failing the handshake) and emits 'close' once the peer
        // answers; a peer that never answers must not hold the reconnect (ws's own wait is 30 s).
        if (ws.readyState === WebSocket.CLOSING) this.after(this.options.pongTimeoutMs, ended, () => ws.terminate());
      });

      ws.on('close', (code, reason) => {
        connection.abort();
        if (this.socket === ws) {
          this.socket = undefined;
          this.beat = undefined;
        }
        this.liveStats.connection = 'closed';
        this.liveStats.paused = false;
        this.liveStats.lastCloseCode = code;
        if (opened && !this.closed) {
          this.options.logger.warn('live feed connection closed', { code, reason: reason.toString('utf8'), received });
        }
        resolve(received);
      });
    });
  }

  /**
   * Liveness: after each quiet `pingIntervalMs`, ping; no pong within `pongTimeoutMs` means the
   * peer (or the path to it) is dead even though TCP says nothing, so the socket is terminated
   * (not closed: a dead peer would never answer a close frame) and 'close' starts the reconnect.
   * A dead peer is detected within pingIntervalMs + pongTimeoutMs. Any message received after
   * the ping counts as an answer, and while reading is paused for backpressure a pong cannot be
   * read, so silence then is not held against the peer.
   */
  private async heartbeat(ws: WebSocket, beat: Beat, ended: AbortSignal): Promise<void> {
    await this.options.clock.sleep(this.options.pingIntervalMs, ended);
    while (!ended.aborted && ws.readyState === WebSocket.OPEN) {
      if (this.liveStats.paused) {
        await this.options.clock.sleep(this.options.pingIntervalMs, ended);
        continue;
      }
      beat.awaitingPong = true;
      beat.pausedSincePing = false;
      ws.ping();
      await this.options.clock.sleep(this.options.pongTimeoutMs, ended);
      // Timers run before socket reads in each event-loop turn: after a stall of our own (GC, a
      // busy CPU) the pong may be sitting unread in the kernel. One turn of I/O first, then judge.
      if (beat.awaitingPong) await setImmediatePromise();
      if (ended.aborted || ws.readyState !== WebSocket.OPEN) return;
      if (beat.awaitingPong && !beat.pausedSincePing) {
        this.liveStats.pongTimeouts++;
        this.options.logger.warn('no pong from the live feed: terminating the connection', {
          pongTimeoutMs: this.options.pongTimeoutMs,
          pongTimeouts: this.liveStats.pongTimeouts,
        });
        ws.terminate();
        return;
      }
      await this.options.clock.sleep(Math.max(0, this.options.pingIntervalMs - this.options.pongTimeoutMs), ended);
    }
  }

  /** Runs `action` after `ms` on the injected clock unless `signal` aborts first. */
  private after(ms: number, signal: AbortSignal, action: () => void): void {
    void this.options.clock.sleep(ms, signal).then(() => {
      if (!signal.aborted) action();
    });
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    const full = this.intake.offer({ data, isBinary, receivedAtMs: this.options.now() });
    this.liveStats.queued = this.intake.queued;
    this.liveStats.held = this.intake.held;
    if (full) this.pauseReading();
    this.wakeConsumer?.();
  }

  /** The next quote for the consumer; resumes reading once the queue has drained below half. */
  private take(): PacedQuote | undefined {
    const quote = this.intake.take();
    this.liveStats.queued = this.intake.queued;
    this.liveStats.held = this.intake.held;
    if (this.liveStats.paused && this.intake.wantsMore) this.resumeReading();
    return quote;
  }

  private pauseReading(): void {
    if (this.beat !== undefined) this.beat.pausedSincePing = true;
    if (this.liveStats.paused || this.socket?.readyState !== WebSocket.OPEN) return;
    this.socket.pause();
    this.liveStats.paused = true;
    this.options.logger.debug('queue full: paused reading the live feed', { queued: this.intake.queued, maxQueued: this.options.maxQueued });
  }

  private resumeReading(): void {
    this.liveStats.paused = false;
    this.socket?.resume();
    this.options.logger.debug('queue drained: resumed reading the live feed', { queued: this.intake.queued });
  }

  /** Close handshake bounded by pongTimeoutMs, then terminate. Resolves on the socket's 'close'. */
  private closeSocket(ws: WebSocket): Promise<void> {
    if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = new AbortController();
      ws.once('close', () => {
        done.abort();
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) {
        ws.terminate();
        return;
      }
      // Reading must run for the peer's close frame to be seen, even if we had paused it.
      ws.resume();
      if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'client closing');
      this.after(this.options.pongTimeoutMs, done.signal, () => ws.terminate());
    });
  }
}
