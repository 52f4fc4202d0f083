/**
 * Between the socket and the consumer: validates each websocket frame into a quote (or a counted,
 * sampled-logged rejection), stamps it at its receive time and queues it, at most `maxQueued`.
 *
 * The socket side asks `offer()` whether to pause reading; the consumer side asks `wantsMore`
 * after `take()` whether to resume. Frames offered while the queue is full are held as they came
 * and decoded, in order, as the consumer makes room: ws keeps emitting the frames of a socket read
 * already taken after pause() (verified in ws 8's receiver), and dropping them would lose quotes
 * that TCP had delivered. Those are at most one read's worth (64 KiB) per pause, so holding them
 * keeps the bound. No I/O and no clock here: the socket lifecycle is live-source.ts.
 */
import type { RawData } from 'ws';
import type { Logger } from '../logging/logger.ts';
import { formatIsoTimestamp } from '../quotes/timestamp.ts';
import type { PacedQuote, SourceStats } from '../replay/replay-source.ts';
import { Fifo } from './fifo.ts';
import { isSampled, samplingNote } from './log-sampler.ts';
import type { SequenceCheck } from './sequence-check.ts';
import { jsonFeed } from './venues/json.ts';
import type { VenueMapper, VenueMessage } from './venues/venue.ts';

export interface IncomingFrame {
  data: RawData;
  isBinary: boolean;
  /** Epoch ms when the frame came off the socket: the quote's arrival. */
  receivedAtMs: number;
}

export interface QuoteIntakeOptions {
  /** Stamped on every quote as `source`. */
  sourceId: string;
  maxQueued: number;
  /** Counters shared with the source (read, rejected, crossed; emitted is the consumer's). */
  stats: SourceStats;
  logger: Logger;
  /** How frames become quotes (default: our own JSON format). */
  mapper?: VenueMapper;
  /** Checks venue sequence numbers, where the venue's messages carry them. */
  sequences?: SequenceCheck;
}

/** How much of a rejected message goes into its log line. */
const PREVIEW_CHARS = 80;

/** Text frames must be UTF-8: decoded strictly, so a bad byte is a rejection, never a silent U+FFFD. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

function textOf(data: RawData): string | undefined {
  const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

function mapFrame(mapper: VenueMapper, text: string, receivedAtMs: number): VenueMessage {
  try {
    return mapper.map(text, receivedAtMs);
  } catch (error) {
    // The venue parsers throw only SyntaxError, for text that is not JSON.
    return { kind: 'rejected', reason: `not valid JSON: ${(error as Error).message}` };
  }
}

function byteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, part) => sum + part.length, 0);
  return data.byteLength;
}

export class QuoteIntake {
  private readonly queue = new Fifo<PacedQuote>();
  private readonly waiting = new Fifo<IncomingFrame>();
  private seq = 0;

  constructor(private readonly options: QuoteIntakeOptions) {}

  /** Quotes ready for the consumer (never more than maxQueued). */
  get queued(): number {
    return this.queue.length;
  }

  /** Frames held undecoded because the queue was full when they came. */
  get held(): number {
    return this.waiting.length;
  }

  /** No room: a frame offered now would be held. */
  get full(): boolean {
    return this.waiting.length > 0 || this.queue.length >= this.options.maxQueued;
  }

  /** After a pause: true once held frames are decoded and the queue is below half. */
  get wantsMore(): boolean {
    return this.waiting.length === 0 && this.queue.length < this.options.maxQueued / 2;
  }

  /** Takes one frame from the socket. Returns true when reading should pause (the queue is full). */
  offer(frame: IncomingFrame): boolean {
    if (this.full) {
      this.waiting.push(frame);
      return true;
    }
    this.admit(frame);
    return this.queue.length >= this.options.maxQueued;
  }

  /** The oldest quote, if any; held frames move into the room it leaves. */
  take(): PacedQuote | undefined {
    const quote = this.queue.shift();
    while (this.waiting.length > 0 && this.queue.length < this.options.maxQueued) {
      const frame = this.waiting.shift();
      if (frame !== undefined) this.admit(frame);
    }
    return quote;
  }

  /** A message that never reached us whole (over maxPayload): read and rejected, for the counts. */
  countUnreadable(): void {
    this.options.stats.read++;
    this.options.stats.rejected++;
  }

  /** Drops everything queued and held (the source is closing: live is live). */
  clear(): void {
    this.queue.clear();
    this.waiting.clear();
  }

  private admit(frame: IncomingFrame): void {
    const { stats, logger } = this.options;
    stats.read++;
    if (frame.isBinary) {
      this.reject('binary frame: quotes are JSON text messages', `<${byteLength(frame.data)} bytes>`);
      return;
    }
    const text = textOf(frame.data);
    if (text === undefined) {
      this.reject('text frame is not valid UTF-8', `<${byteLength(frame.data)} bytes>`);
      return;
    }
    const message = mapFrame(this.options.mapper ?? jsonFeed, text, frame.receivedAtMs);
    if (message.kind === 'rejected') {
      this.reject(message.reason, text);
      return;
    }
    if (message.sequence !== undefined) this.options.sequences?.observe(message.sequence);
    if (message.kind === 'ignored') return;
    // The receive time, not the time the consumer takes it: a queued quote still arrived then.
    const arrivalUs = Math.floor(frame.receivedAtMs) * 1000;
    const arrival = formatIsoTimestamp(arrivalUs, 3);
    for (const quote of message.quotes) {
      if (quote.crossed) {
        const crossed = ++stats.crossed;
        if (isSampled(crossed)) {
          const { ticker, bid, ask } = quote.fields;
          const what = quote.implausible === true ? 'implausible quote (bid more than 10 times the ask) kept' : 'crossed quote (bid > ask) kept';
          logger.warn(what, { ticker, bid, ask, crossed, note: samplingNote(crossed) });
        }
      }
      this.queue.push({ ...quote.fields, arrival, arrivalUs, mode: 'live', source: this.options.sourceId, seq: ++this.seq });
    }
  }

  private reject(reason: string, message: string): void {
    const rejected = ++this.options.stats.rejected;
    if (!isSampled(rejected)) return;
    const preview = message.length > PREVIEW_CHARS ? message.slice(0, PREVIEW_CHARS) + '…' : message;
    this.options.logger.warn('live message rejected', { reason, text: preview, rejected, note: samplingNote(rejected) });
  }
}
