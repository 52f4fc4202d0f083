/**
 * The one replay contract (tardis-node style): every source is an async iterable of quotes.
 * The replayer, the producer and the tests never know whether they hold historical or live data.
 */
import type { Quote, QuoteMode } from '../quotes/quote.ts';

/** A quote plus its effective arrival in epoch µs, so pacing needs no re-parsing. */
export interface PacedQuote extends Quote {
  arrivalUs: number;
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
  /** Stops reading; an iteration in progress ends after its current quote. */
  close(): Promise<void>;
}
