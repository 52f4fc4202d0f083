/**
 * The one replay contract (tardis-node style): every source is an async iterable of quotes.
 * The replayer, the producer and the tests never know whether they hold historical or live data.
 */
import type { Quote, QuoteMode } from '../quotes/quote.ts';
import type { HistoricalPosition } from './ack-tracker.ts';

/** A quote plus its effective arrival in epoch µs, so pacing needs no re-parsing. */
export interface PacedQuote extends Quote {
  arrivalUs: number;
  /** Nanoseconds of the arrival within `arrivalUs` (ns inputs); absent when 0. Orders ties across files. */
  arrivalNanos?: number;
}

export interface SourceStats {
  /** Data rows or messages read, valid or not. */
  read: number;
  /** Rows or messages rejected as invalid (each logged with its reason). */
  rejected: number;
  /** Valid quotes with bid > ask: kept, warned about and counted. */
  crossed: number;
  /** Quotes handed to the replayer. */
  emitted: number;
}

export interface ReplaySource extends AsyncIterable<PacedQuote> {
  readonly mode: QuoteMode;
  /** Identifies the input in every record it produces (`source` field). */
  readonly sourceId: string;
  readonly stats: SourceStats;
  /** Called for each quote Kinesis acknowledged: `source` and `seq` as stamped on it. */
  acknowledge(source: string, seq: number): void;
  /**
   * Where a resumed replay would continue (durable once the producer flushed); undefined for a
   * source that cannot be resumed — live is live, nothing is kept for later.
   */
  position(): HistoricalPosition | undefined;
  /** Stops reading; an iteration in progress ends after its current quote. */
  close(): Promise<void>;
}
