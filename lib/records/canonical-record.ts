/**
 * A reader for the record text encodeQuote writes: the keys in its fixed order, no whitespace, no
 * escapes, plain-digit decimals. For such a record it gives exactly what JSON.parse plus
 * decodeQuote's checks give, without building the intermediate JSON object (JSON.parse and the
 * object it makes were the largest per-quote costs of the handler). Anything else (another key
 * order, an unknown key, an escape, a value the checks reject) is left to the general path by
 * returning undefined: this reader never rejects a record, so error reasons come from one place.
 */
import { isPlainDecimal } from '../quotes/decimal.ts';
import type { Quote } from '../quotes/quote.ts';
import { parseTimestamp, type ParsedTimestamp } from '../quotes/timestamp.ts';

/** What JSON.parse would unescape or refuse inside a string: left to it. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this must find
const ESCAPE_OR_CONTROL = /[\u0000-\u001f\\]/;
/**
 * Everything after the head, as encodeQuote writes it, in one match from `lastIndex` to the end
 * (one pass of compiled code instead of a dozen string calls per record): `seq` and `latencyMs`
 * as plain JSON numbers, the strings without escapes or controls (whatever JSON would unescape or
 * refuse is left to JSON.parse), the amounts and the latency each present or absent. Groups:
 * seq, ticker, timestamp, arrival, bid, ask, bidAmount, askAmount, latencyMs.
 */
const TAIL =
  // eslint-disable-next-line no-control-regex -- control characters are what the strings must not hold
  /,"seq":((?:0|[1-9]\d*)(?:\.\d+)?),"ticker":"([^"\\\u0000-\u001f]*)","timestamp":"([^"\\\u0000-\u001f]*)","arrival":"([^"\\\u0000-\u001f]*)","bid":"([^"\\\u0000-\u001f]*)","ask":"([^"\\\u0000-\u001f]*)"(?:,"bidAmount":"([^"\\\u0000-\u001f]*)")?(?:,"askAmount":"([^"\\\u0000-\u001f]*)")?(?:,"latencyMs":((?:0|[1-9]\d*)(?:\.\d+)?))?\}$/y;
type TailMatch = [string, string, string, string, string, string, string, string | undefined, string | undefined, string | undefined];

/**
 * The value of a JSON number text TAIL matched (`0|[1-9]\d*` and an optional fraction): summed
 * from its digits when it is an integer of at most 15 digits (every step exact, below 2^53, so
 * the same value as Number(), which costs more on a fresh string), Number() for anything else.
 */
function plainNumber(text: string): number {
  if (text.length > 15) return Number(text);
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) return Number(text);
    value = value * 10 + (c - 48);
  }
  return value;
}

/** Reads `text` left to right; every method returns undefined (or false) when the text is not as expected. */
class Cursor {
  pos = 0;

  constructor(readonly text: string) {}

  /** Skips `literal` when the text continues with it. */
  skip(literal: string): boolean {
    if (!this.text.startsWith(literal, this.pos)) return false;
    this.pos += literal.length;
    return true;
  }

  /** The string value after `,"key":` (the key already skipped): up to the next `"`. */
  string(): string | undefined {
    const text = this.text;
    if (text.charCodeAt(this.pos) !== 34 /* " */) return undefined;
    const end = text.indexOf('"', this.pos + 1);
    if (end === -1) return undefined;
    const value = text.slice(this.pos + 1, end);
    this.pos = end + 1;
    return value;
  }

  /** A string member `,"key":"…"` when the text continues with that key; null when it does not. */
  optionalString(key: string): string | undefined | null {
    return this.skip(key) ? this.string() : null;
  }
}

/** A non-empty string member, required. */
function requiredString(cursor: Cursor, key: string): string | undefined {
  if (!cursor.skip(key)) return undefined;
  const value = cursor.string();
  return value === '' ? undefined : value;
}

/**
 * The last head read (`{"v":1,"run":…,"mode":…,"source":"…"`, through the closing quote of the
 * source) and what it gave. Every record of one producer starts with the same head (it is a third
 * of the record): a record that starts with exactly these characters reads them exactly as the
 * last one did, so they are compared in one go instead of read member by member, and its mode
 * and source are the same strings.
 */
let lastHead = '';
let lastMode: Quote['mode'] = 'historical';
let lastSource = '';

/** Reads the head from the cursor's start; the mode and source, or undefined when it is not as encodeQuote writes it. */
function readHead(cursor: Cursor): { mode: Quote['mode']; source: string } | undefined {
  if (!cursor.skip('{"v":1,')) return undefined;
  cursor.pos--; // back on the comma: every member below starts with one
  if (cursor.optionalString(',"run":') === undefined) return undefined;
  if (!cursor.skip(',"mode":')) return undefined;
  const mode = cursor.string();
  if (mode !== 'historical' && mode !== 'live') return undefined;
  const source = requiredString(cursor, ',"source":');
  return source === undefined ? undefined : { mode, source };
}

/**
 * The decoded quote and its parsed timestamp when `text` is a record exactly as encodeQuote
 * writes it and decodeQuote would accept it; undefined otherwise (the general path decides).
 */
export function readCanonicalRecord(text: string): { quote: Quote; time: ParsedTimestamp } | undefined {
  const cursor = new Cursor(text);
  let mode: Quote['mode'];
  let source: string;
  if (lastHead !== '' && text.startsWith(lastHead)) {
    // The head was checked for escapes and controls when it was read; TAIL checks the rest.
    cursor.pos = lastHead.length;
    mode = lastMode;
    source = lastSource;
  } else {
    if (ESCAPE_OR_CONTROL.test(text)) return undefined;
    const head = readHead(cursor);
    if (head === undefined) return undefined;
    ({ mode, source } = head);
    lastHead = text.slice(0, cursor.pos);
    lastMode = mode;
    lastSource = source;
  }
  TAIL.lastIndex = cursor.pos;
  const tail = TAIL.exec(text);
  if (tail === null) return undefined;
  // By index: destructuring the match goes through the array iterator, a fifth of this function's time.
  const match = tail as unknown as TailMatch;
  const seqText = match[1];
  const ticker = match[2];
  const timestamp = match[3];
  const arrival = match[4];
  const bid = match[5];
  const ask = match[6];
  const bidAmount = match[7];
  const askAmount = match[8];
  const latencyText = match[9];
  if (seqText.length > 16) return undefined;
  const seq = plainNumber(seqText);
  if (!Number.isSafeInteger(seq) || seq < 1) return undefined;
  if (ticker === '' || timestamp === '' || arrival === '' || !isPlainDecimal(bid) || !isPlainDecimal(ask)) return undefined;
  if ((bidAmount !== undefined && !isPlainDecimal(bidAmount)) || (askAmount !== undefined && !isPlainDecimal(askAmount))) return undefined;
  let latencyMs: number | undefined;
  if (latencyText !== undefined) {
    latencyMs = plainNumber(latencyText);
    if (!Number.isFinite(latencyMs)) return undefined;
  }
  const time = parseTimestamp(timestamp);
  if (typeof time === 'string' || typeof parseTimestamp(arrival) === 'string') return undefined;
  // The same keys in the same order as decodeQuote's general path builds them; in one literal
  // when all are there (nearly always), so the object is made at its full size at once.
  if (bidAmount !== undefined && askAmount !== undefined && latencyMs !== undefined) {
    return { quote: { mode, source, seq, ticker, timestamp, arrival, bid, ask, bidAmount, askAmount, latencyMs }, time };
  }
  const quote: Quote = { mode, source, seq, ticker, timestamp, arrival, bid, ask };
  if (bidAmount !== undefined) quote.bidAmount = bidAmount;
  if (askAmount !== undefined) quote.askAmount = askAmount;
  if (latencyMs !== undefined) quote.latencyMs = latencyMs;
  return { quote, time };
}
