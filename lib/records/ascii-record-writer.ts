/**
 * Writes a quote record's bytes straight into a shared slab, for records whose every string is
 * printable ASCII without `"` or `\` and whose numbers are non-negative safe integers (nearly
 * every record): the JSON text is then the characters themselves, one byte each. Building the
 * record as a string first cost a dozen concatenations, a flattened copy and its UTF-8 encoding
 * per quote (about 1.5 KB of garbage each). Any other record returns undefined, and encodeQuote
 * builds it as text (escapes, non-ASCII, fractions, NaN); a test holds both to JSON.stringify.
 */
import type { Quote } from '../quotes/quote.ts';

/** Slab size: a few hundred records; a record keeps only its slab alive, never the next ones. */
const SLAB_BYTES = 64 * 1024;
/** The members after the head, in record order, with the text that introduces each. */
const KEYS = {
  seq: ',"seq":',
  ticker: ',"ticker":"',
  timestamp: ',"timestamp":"',
  arrival: ',"arrival":"',
  bid: ',"bid":"',
  ask: ',"ask":"',
  bidAmount: ',"bidAmount":"',
  askAmount: ',"askAmount":"',
  latencyMs: ',"latencyMs":',
} as const;
/** Decimal digits of Number.MAX_SAFE_INTEGER: the most a safe integer writes. */
const MAX_INTEGER_DIGITS = 16;

let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let used = 0;

/** Writes `text` (ASCII) at `pos`; returns the position after it. */
function writeAscii(target: Buffer, pos: number, text: string): number {
  for (let i = 0; i < text.length; i++) target[pos + i] = text.charCodeAt(i);
  return pos + text.length;
}

/** Writes a JSON string's characters at `pos`; -1 when one of them needs escaping or is not ASCII. */
function writeJsonChars(target: Buffer, pos: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return -1;
    target[pos + i] = c;
  }
  return pos + text.length;
}

/** Writes the digits of a non-negative safe integer at `pos`; returns the position after them. */
function writeInteger(target: Buffer, pos: number, value: number): number {
  // `(n - n % 10) / 10` is exact on doubles; `Math.floor(n / 10)` is not near 2^53.
  let digits = 1;
  for (let rest = value; rest >= 10; rest = (rest - (rest % 10)) / 10) digits++;
  let rest = value;
  for (let i = digits - 1; i >= 0; i--) {
    const digit = rest % 10;
    target[pos + i] = 48 + digit;
    rest = (rest - digit) / 10;
  }
  return pos + digits;
}

/** Writes `key` and the string `value` and its closing quote; `pos` as it was for undefined; -1 when not plain. */
function writeMember(target: Buffer, pos: number, key: string, value: string | undefined): number {
  if (value === undefined || pos === -1) return pos;
  const end = writeJsonChars(target, writeAscii(target, pos, key), value);
  if (end === -1) return -1;
  target[end] = 0x22; // "
  return end + 1;
}

function isWholeCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * The record bytes for `quote` after `head` (the bytes of `{"v":1,…"source":"…"`, which the caller
 * built and checked to be ASCII; copied in one go, not character by character: they are a third of
 * a record), or undefined when the record is not of the plain kind described above.
 */
export function writeAsciiRecord(head: Uint8Array, quote: Quote): Buffer | undefined {
  const { seq, ticker, timestamp, arrival, bid, ask, bidAmount, askAmount, latencyMs } = quote;
  if (!isWholeCount(seq) || (latencyMs !== undefined && !isWholeCount(latencyMs))) return undefined;
  // Upper bound of the record's length: every key, every string, the longest integers.
  let bound = head.length + 2 * MAX_INTEGER_DIGITS + 160 + ticker.length + timestamp.length + arrival.length + bid.length + ask.length;
  if (bidAmount !== undefined) bound += bidAmount.length;
  if (askAmount !== undefined) bound += askAmount.length;
  if (bound > SLAB_BYTES) return undefined;
  if (used + bound > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    used = 0;
  }
  const target = slab;
  const start = used;
  target.set(head, start);
  let pos = start + head.length;
  pos = writeAscii(target, pos, KEYS.seq);
  pos = writeInteger(target, pos, seq);
  pos = writeMember(target, pos, KEYS.ticker, ticker);
  pos = writeMember(target, pos, KEYS.timestamp, timestamp);
  pos = writeMember(target, pos, KEYS.arrival, arrival);
  pos = writeMember(target, pos, KEYS.bid, bid);
  pos = writeMember(target, pos, KEYS.ask, ask);
  pos = writeMember(target, pos, KEYS.bidAmount, bidAmount);
  pos = writeMember(target, pos, KEYS.askAmount, askAmount);
  // Not plain after all: the slab space is simply reused by the next record.
  if (pos === -1) return undefined;
  if (latencyMs !== undefined) {
    pos = writeAscii(target, pos, KEYS.latencyMs);
    pos = writeInteger(target, pos, latencyMs);
  }
  target[pos++] = 0x7d; // }
  used = pos;
  return target.subarray(start, pos);
}
