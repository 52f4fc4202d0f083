/**
 * The live feed's wire format: one JSON object per websocket text message. Pure, like row.ts:
 * a bad message is a value (`ok: false`) with a specific reason, never an exception, so the live
 * source can count it, log it and keep the connection.
 *
 * ```json
 * {"ticker":"AAPL","timestamp":"2025-01-02T14:32:00.027Z","bid":"243.12","ask":"243.14","bidAmount":"2300","askAmount":"1800"}
 * ```
 *
 * Keys follow the CSV header aliases (ticker|symbol|instrument, timestamp|ts|time, bid|bid_price,
 * ask|ask_price, bidAmount|bid_amount|bid_size, askAmount|ask_amount|ask_size); JSON keys are
 * case-sensitive, so these exact spellings. Unknown keys are ignored (feeds add fields over
 * time), but a key given twice under two aliases is rejected: which one is right is a guess.
 */
import { tickerProblem } from '../quotes/plausibility.ts';
import type { QuoteFields } from '../quotes/quote.ts';
import { isCrossed, isImplausible, nonNegativeCanonical, priceCell, type Price } from '../quotes/row.ts';
import { formatIsoTimestamp, parseTimestamp } from '../quotes/timestamp.ts';

export type LiveMessageResult =
  | {
      ok: true;
      fields: QuoteFields;
      /** bid > ask: kept (it is what the venue sent) but flagged so the caller can warn and count. */
      crossed: boolean;
      /** bid > 10 × ask: kept and flagged louder. */
      implausible?: true;
    }
  | { ok: false; reason: string };

type Json = Record<string, unknown>;

/** Accepted keys per field, in the order shown in messages. */
const KEYS = {
  ticker: ['ticker', 'symbol', 'instrument'],
  timestamp: ['timestamp', 'ts', 'time'],
  bid: ['bid', 'bid_price'],
  ask: ['ask', 'ask_price'],
  bidAmount: ['bidAmount', 'bid_amount', 'bid_size'],
  askAmount: ['askAmount', 'ask_amount', 'ask_size'],
} as const satisfies Record<string, readonly string[]>;

type Field = keyof typeof KEYS;

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

/** The one key present for `field` (with its value), none, or a reason when several are. */
function lookup(json: Json, field: Field): { key: string; value: unknown } | undefined | string {
  let found: { key: string; value: unknown } | undefined;
  for (const key of KEYS[field]) {
    if (!Object.hasOwn(json, key)) continue;
    if (found !== undefined) return `fields "${found.key}" and "${key}" both given; send one`;
    found = { key, value: json[key] };
  }
  return found;
}

/**
 * A decimal given as a string or a JSON number, as text. A number is converted with String(),
 * which prints the shortest decimal that reads back as the same double. That is exactly what the
 * sender wrote whenever it has at most 15 significant digits (every real price and size); a
 * longer literal was already rounded by JSON.parse, so feeds needing more digits send strings.
 */
function decimalText(key: string, value: unknown): string | { reason: string } {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number') return String(value); // JSON cannot carry NaN or Infinity
  return { reason: `field "${key}" must be a decimal string` };
}

/** A required price, with the plausibility rules of every format (positive, sane digits). */
function price(json: Json, field: 'bid' | 'ask'): Price | string {
  const entry = lookup(json, field);
  if (typeof entry === 'string') return entry;
  if (entry === undefined) return `field "${field}" is missing`;
  const text = decimalText(entry.key, entry.value);
  if (typeof text !== 'string') return text.reason;
  if (text.length === 0) return `field "${entry.key}" is empty`;
  return priceCell(text, `field "${entry.key}"`);
}

/**
 * An optional, non-negative amount in canonical form. `null` and `""` mean "not given", as an
 * empty CSV cell does: feeds commonly send null for a side without size.
 */
function amount(json: Json, field: 'bidAmount' | 'askAmount'): { text?: string } | string {
  const entry = lookup(json, field);
  if (typeof entry === 'string') return entry;
  if (entry === undefined || entry.value === null) return {};
  const text = decimalText(entry.key, entry.value);
  if (typeof text !== 'string') return text.reason;
  if (text.length === 0) return {};
  return nonNegativeCanonical(text, `field "${entry.key}"`);
}

function ticker(json: Json): string | { reason: string } {
  const entry = lookup(json, 'ticker');
  if (typeof entry === 'string') return { reason: entry };
  if (entry === undefined) return { reason: 'field "ticker" is missing' };
  if (typeof entry.value !== 'string') return { reason: `field "${entry.key}" must be a string` };
  const value = entry.value.trim();
  if (value.length === 0) return { reason: `field "${entry.key}" is empty` };
  const problem = tickerProblem(value);
  return problem === undefined ? value : { reason: `field "${entry.key}" ${problem}` };
}

/** `fields.timestamp` as row.ts makes it: ISO 8601 UTC at the input's precision. */
function timestamp(json: Json): string | { reason: string } {
  const entry = lookup(json, 'timestamp');
  if (typeof entry === 'string') return { reason: entry };
  if (entry === undefined) return { reason: 'field "timestamp" is missing' };
  let text: string;
  if (typeof entry.value === 'string') {
    text = entry.value;
  } else if (typeof entry.value === 'number') {
    // Epoch numbers: String() of an integer up to 2^53 is its digits; a fraction keeps its digits
    // as for prices. Negative epochs and exponent forms are refused by parseTimestamp.
    text = String(entry.value);
  } else {
    return { reason: `field "${entry.key}" must be a timestamp string or an epoch number` };
  }
  const parsed = parseTimestamp(text);
  if (typeof parsed === 'string') return { reason: `field "${entry.key}": ${parsed}` };
  return formatIsoTimestamp(parsed.micros, parsed.precision);
}

/**
 * Validates one live message. Checks, in order: JSON, object, ticker, timestamp, bid, ask,
 * amounts; the first failure is reported. `latencyMs` is never set: a live quote's arrival is
 * its receive time, not timestamp + latency.
 */
export function parseLiveMessage(text: string): LiveMessageResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return fail(`not valid JSON: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return fail(`expected a JSON object, got ${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json}`);
  }
  const message = json as Json;

  const tickerValue = ticker(message);
  if (typeof tickerValue !== 'string') return fail(tickerValue.reason);
  const timestampValue = timestamp(message);
  if (typeof timestampValue !== 'string') return fail(timestampValue.reason);
  const bid = price(message, 'bid');
  if (typeof bid === 'string') return fail(bid);
  const ask = price(message, 'ask');
  if (typeof ask === 'string') return fail(ask);

  const fields: QuoteFields = {
    ticker: tickerValue,
    timestamp: timestampValue,
    bid: bid.text,
    ask: ask.text,
  };
  const bidAmount = amount(message, 'bidAmount');
  if (typeof bidAmount === 'string') return fail(bidAmount);
  if (bidAmount.text !== undefined) fields.bidAmount = bidAmount.text;
  const askAmount = amount(message, 'askAmount');
  if (typeof askAmount === 'string') return fail(askAmount);
  if (askAmount.text !== undefined) fields.askAmount = askAmount.text;

  const crossed = isCrossed(bid, ask);
  if (crossed && isImplausible(bid, ask)) return { ok: true, fields, crossed, implausible: true };
  return { ok: true, fields, crossed };
}

/**
 * The message a feed sends for `fields`: canonical keys, prices and amounts as strings (never
 * JSON numbers, so no digit is lost). `latencyMs` is not part of the live format and is dropped.
 */
export function encodeLiveMessage(fields: QuoteFields): string {
  const message: Record<string, string> = {
    ticker: fields.ticker,
    timestamp: fields.timestamp,
    bid: fields.bid,
    ask: fields.ask,
  };
  if (fields.bidAmount !== undefined) message.bidAmount = fields.bidAmount;
  if (fields.askAmount !== undefined) message.askAmount = fields.askAmount;
  return JSON.stringify(message);
}
