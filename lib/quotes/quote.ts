/**
 * The quote contract shared by every stage (fields in docs/architecture.md, formats in the README).
 * Prices and amounts stay decimal strings end to end: they never pass through a binary float.
 */
export type QuoteMode = 'historical' | 'live';

/** What a data row (CSV line or live JSON message) carries once validated. */
export interface QuoteFields {
  ticker: string;
  /** ISO 8601 UTC with the input's precision: 3 fraction digits, or 6 when the input had µs. */
  timestamp: string;
  bid: string;
  ask: string;
  bidAmount?: string;
  askAmount?: string;
  /** Milliseconds between the quote's timestamp and its arrival; absent for live quotes. */
  latencyMs?: number;
}

/** A quote as it travels through Kinesis. */
export interface Quote extends QuoteFields {
  /** Effective arrival (ISO 8601 UTC): timestamp + latency for historical, receive time for live. */
  arrival: string;
  mode: QuoteMode;
  /** Identifies the input (e.g. `hist:<file fingerprint>`); (source, seq) identifies the quote. */
  source: string;
  /** 1-based position of the row in its source (file order), stable across runs. */
  seq: number;
}
