/**
 * Pulls quotes from a ReplaySource, paces them, and hands them to the producer. Awaiting
 * `producer.put` is the backpressure: when Kinesis is slow the source is simply not read.
 */
import { encodeQuote } from '../records/quote-record.ts';
import type { Pacer } from './pacer.ts';
import type { PacedQuote, ReplaySource } from './replay-source.ts';

/** What the producer carries per entry: enough to know which quote an acknowledgement is for. */
export interface QuoteEntry {
  partitionKey: string;
  /** The encoded Kinesis record (lib/records/quote-record.ts). */
  data: Uint8Array;
  source: string;
  seq: number;
}

/** An acknowledgement as the replay side reads it (the producer's `AckedEntry<QuoteEntry>` is one). */
export interface QuoteAck {
  readonly entry: QuoteEntry;
}

/**
 * Where replayed quotes go: the Kinesis producer (lib/aws/producer.ts) in the stack. The replay
 * side depends on these two methods, not on the producer class, so it meets the consumer side
 * only through Kinesis and the record contract.
 */
export interface QuoteSink {
  /** Queues one entry; resolves when there is room for more (the backpressure). */
  put(entry: QuoteEntry): Promise<void>;
  /** Resolves when everything put so far is acknowledged, or when `signal` aborts. */
  flush(signal?: AbortSignal): Promise<void>;
}

export interface ReplayOptions {
  producer: QuoteSink;
  /** Without a pacer quotes go as fast as the producer takes them. */
  pacer?: Pacer;
  signal?: AbortSignal;
  /** Stamped on every record (see RecordEnvelope). */
  run?: string;
  /**
   * Called before each quote is handed to the producer; a returned promise holds it back (the
   * engine's send window). Undefined means go ahead (no promise on the hot path).
   */
  beforeSend?: () => Promise<void> | undefined;
  /** Called after each quote was handed to the producer, with how late it was (ms). */
  onSent?: (quote: PacedQuote, latenessMs: number) => void;
}

export interface ReplayResult {
  sent: number;
  /** True when the signal stopped the replay before the source was exhausted. */
  interrupted: boolean;
}

export async function replay(source: ReplaySource, options: ReplayOptions): Promise<ReplayResult> {
  const { producer, pacer, signal, onSent, run, beforeSend } = options;
  let sent = 0;
  for await (const quote of source) {
    if (signal?.aborted) break;
    const lateness = pacer === undefined ? 0 : await pacer.wait(quote.arrivalUs, signal);
    const hold = beforeSend?.();
    if (hold !== undefined) {
      await hold;
      // A hold is a pause (the send window, a start gate): the pacer starts its time line afresh
      // here, or the quotes scheduled during the hold would go out in one burst to catch up.
      if (pacer !== undefined && !signal?.aborted) {
        pacer.reanchor();
        await pacer.wait(quote.arrivalUs, signal);
      }
    }
    // Aborted while waiting: this quote was not sent; it is not lost, only not replayed yet.
    if (signal?.aborted) break;
    await producer.put({ partitionKey: quote.ticker, data: encodeQuote(quote, { run }), source: quote.source, seq: quote.seq });
    sent++;
    onSent?.(quote, lateness);
  }
  return { sent, interrupted: signal?.aborted === true };
}
