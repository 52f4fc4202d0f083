/**
 * A venue's websocket messages to quotes: what every mapper (one small file per venue) provides,
 * and the quote checks they share with the CSV formats (lib/quotes/row.ts: price and amount
 * rules, ticker character set). Pure: a mapper never does I/O; the live source sends its
 * subscribe messages and feeds it frames.
 */
import type { QuoteFields } from '../../quotes/quote.ts';
import { decimalText, type JsonObject } from './json-text.ts';
import { addAmounts, isCrossed, isImplausible, priceCell, tickerCell } from '../../quotes/row.ts';
import { isoOf, parseTimestamp, type ParsedTimestamp } from '../../quotes/timestamp.ts';

export type LiveFormat = 'json' | 'binance' | 'coinbase' | 'kraken';
export const LIVE_FORMATS: readonly LiveFormat[] = ['json', 'binance', 'coinbase', 'kraken'];

/** A venue sequence number carried by a message, and how the venue numbers. */
export interface VenueSequence {
  /** What the numbers count within (a symbol's stream, the connection). */
  stream: string;
  value: number;
  /**
   * `consecutive`: each message is the previous + 1, so a jump is that many messages missed
   * (Coinbase `sequence_num`). `increasing`: only ever goes up, with jumps that are not losses
   * (Binance `u`, the order book update id: bookTicker is sent only when the top changes).
   */
  kind: 'consecutive' | 'increasing';
}

export interface VenueQuote {
  fields: QuoteFields;
  crossed: boolean;
  implausible?: true;
}

export type VenueMessage =
  | { kind: 'quotes'; quotes: VenueQuote[]; sequence?: VenueSequence }
  /** Subscription acknowledgements, heartbeats, other channels: not quotes, not errors. */
  | { kind: 'ignored'; sequence?: VenueSequence }
  | { kind: 'rejected'; reason: string };

/** How the feed simulator (`feed --format`) speaks a venue's protocol, for tests and demos. */
export interface VenueFeed {
  /** Whether a client receives nothing until it sent a subscribe message. */
  readonly needsSubscribe: boolean;
  /** The answer to a client's message when it is a subscribe request (undefined: not one). */
  answerSubscribe(text: string, sequence: () => number): string | undefined;
  /** The venue's message for a quote; `sequence` numbers the client's messages. */
  encode(fields: QuoteFields, sequence: () => number): string;
}

export interface VenueMapper {
  readonly format: LiveFormat;
  readonly feed: VenueFeed;
  /** Messages to send after every connect for these symbols; empty when the URL selects the stream. */
  subscribeMessages(symbols: readonly string[]): string[];
  /** One text frame; `receivedAtMs` stamps quotes whose message has no time of its own. */
  map(text: string, receivedAtMs: number): VenueMessage;
}

/** The parts of a quote a venue message gives, as text; `where` prefixes reasons (`data[0]`). */
export interface QuoteParts {
  ticker: string | undefined;
  bid: string | undefined;
  ask: string | undefined;
  bidAmount?: string;
  askAmount?: string;
  time: ParsedTimestamp;
  names: { ticker: string; bid: string; ask: string; bidAmount: string; askAmount: string };
}

/** Validated quote fields, or the reason the parts are not a quote. */
export function quoteFrom(parts: QuoteParts): VenueQuote | string {
  const { names } = parts;
  if (parts.ticker === undefined) return `field "${names.ticker}" is missing`;
  const ticker = tickerCell(parts.ticker, `field "${names.ticker}"`);
  if (typeof ticker === 'string') return ticker;
  if (parts.bid === undefined || parts.bid === '') return `field "${names.bid}" is missing or empty`;
  if (parts.ask === undefined || parts.ask === '') return `field "${names.ask}" is missing or empty`;
  const bid = priceCell(parts.bid, `field "${names.bid}"`);
  if (typeof bid === 'string') return bid;
  const ask = priceCell(parts.ask, `field "${names.ask}"`);
  if (typeof ask === 'string') return ask;
  const fields: QuoteFields = { ticker: ticker.ticker, timestamp: isoOf(parts.time), bid: bid.text, ask: ask.text };
  const amounts = [parts.bidAmount ?? '', parts.askAmount ?? ''];
  const bad = addAmounts(fields, amounts, { bid: 0, ask: 1, bidName: `field "${names.bidAmount}"`, askName: `field "${names.askAmount}"` }, 0);
  if (bad !== undefined) return bad.reason;
  const crossed = isCrossed(bid, ask);
  const quote: VenueQuote = { fields, crossed };
  if (crossed && isImplausible(bid, ask)) quote.implausible = true;
  return quote;
}

/** The field names a venue uses for the parts of a quote. */
export type QuoteNames = QuoteParts['names'];

/** quoteFrom over a venue's JSON object, reading the parts under the venue's names. */
export function quoteFromObject(entry: JsonObject, names: QuoteNames, time: ParsedTimestamp): VenueQuote | string {
  const ticker = entry[names.ticker];
  return quoteFrom({
    ticker: typeof ticker === 'string' ? ticker : undefined,
    bid: decimalText(entry[names.bid]),
    ask: decimalText(entry[names.ask]),
    bidAmount: decimalText(entry[names.bidAmount]),
    askAmount: decimalText(entry[names.askAmount]),
    time,
    names,
  });
}

/** The receive time as a quote time (ms precision). */
export function receiveTime(receivedAtMs: number): ParsedTimestamp {
  return { micros: Math.floor(receivedAtMs) * 1000, precision: 3 };
}

/** A venue's timestamp (ISO text or epoch number text), or the reason it is not one. */
export function venueTime(text: string, name: string): ParsedTimestamp | string {
  const parsed = parseTimestamp(text);
  return typeof parsed === 'string' ? `field "${name}": ${parsed}` : parsed;
}

/** Epoch ms of an ISO quote timestamp (the feed simulator's venues send ms). */
export function epochMsOf(timestamp: string): number {
  const parsed = parseTimestamp(timestamp);
  return typeof parsed === 'string' ? 0 : Math.floor(parsed.micros / 1000);
}

/** The parsed JSON object of a client's message, or undefined. */
export function clientRequest(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
