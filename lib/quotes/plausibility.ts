/**
 * What a plausible quote looks like, whatever format it came in (CSV row, venue message). Pure:
 * each check returns the reason a value is refused, or undefined. The limits are generous for
 * real markets and tight enough that one hostile cell cannot become a 1,000-character output line
 * or a log flood; README "Input" states them.
 */
import type { Decimal } from './decimal.ts';

/** Longest ticker accepted (a Kinesis partition key may be 256; real symbols are far shorter). */
export const MAX_TICKER_LENGTH = 64;

/**
 * Characters a ticker may hold besides ASCII letters and digits: what real symbologies use
 * (`BRK.B`, `BTC-PERPETUAL`, `binance-futures:BTCUSDT`, `XBT/USD`, `ES_F`, `^GSPC`, `BTC@USDT`,
 * `6E=F`, `ABC+`, `A&B`, `$SPX`, `ESH4*`, `#1`) and inner spaces (OCC option roots `AAPL  240119C…`).
 */
export const TICKER_PUNCTUATION = '._-:/^@=+&$*# ';

/** Most integer digits in a price or amount (10^15: more than any price or size traded). */
export const MAX_INTEGER_DIGITS = 15;
/** Most fraction digits in a price or amount, canonical form (Databento's 1e-9, crypto's 1e-8, with room). */
export const MAX_FRACTION_DIGITS = 12;

/** A bid more than this many times the ask is flagged as implausible (a unit or column mix-up). */
export const IMPLAUSIBLE_CROSS_RATIO = 10;

/** Long values are cut in messages and logs, so one bad cell cannot flood errors or logs. */
export const MAX_VALUE_IN_MESSAGE = 40;

/** A value for a message: JSON-quoted (control characters visible) and cut at MAX_VALUE_IN_MESSAGE. */
export function shown(value: string): string {
  return JSON.stringify(value.length > MAX_VALUE_IN_MESSAGE ? value.slice(0, MAX_VALUE_IN_MESSAGE) + '…' : value);
}

const ALLOWED = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) ALLOWED[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) ALLOWED[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) ALLOWED[c] = 1;
for (const ch of TICKER_PUNCTUATION) ALLOWED[ch.charCodeAt(0)] = 1;

function isControl(c: number): boolean {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

/** `U+00E9` for a code unit, for messages about characters that do not print well. */
function codePoint(c: number): string {
  return 'U+' + c.toString(16).toUpperCase().padStart(4, '0');
}

/**
 * Why `ticker` (already trimmed, non-empty) is not a ticker, or undefined: too long, a control
 * character, or a character outside ASCII letters, digits and TICKER_PUNCTUATION. U+FFFD (what
 * a decoder puts for bytes that are not UTF-8) is outside the set too, so a mis-encoded ticker is
 * refused, never replayed under a mangled name.
 */
export function tickerProblem(ticker: string): string | undefined {
  if (ticker.length > MAX_TICKER_LENGTH) return `${shown(ticker)} is longer than ${MAX_TICKER_LENGTH} characters`;
  for (let i = 0; i < ticker.length; i++) {
    const c = ticker.charCodeAt(i);
    if (c < 128 && ALLOWED[c] === 1) continue;
    if (isControl(c)) return `${shown(ticker)} contains a control character`;
    const what = c === 0xfffd ? 'U+FFFD (bytes that were not valid UTF-8)' : c < 128 ? JSON.stringify(String.fromCharCode(c)) : codePoint(c);
    return `${shown(ticker)} contains ${what}; tickers are ASCII letters, digits and ${JSON.stringify(TICKER_PUNCTUATION.trim())} (and inner spaces)`;
  }
  return undefined;
}

/**
 * Why a canonical decimal (no sign, no exponent, no redundant zeros: what normaliseDecimalString
 * and formatDecimal return) has too many digits, or undefined.
 */
export function digitsProblem(canonical: string): string | undefined {
  const dot = canonical.indexOf('.');
  const integerDigits = dot === -1 ? canonical.length : dot;
  const fractionDigits = dot === -1 ? 0 : canonical.length - dot - 1;
  if (integerDigits > MAX_INTEGER_DIGITS) return `has ${integerDigits} integer digits; at most ${MAX_INTEGER_DIGITS} are accepted`;
  if (fractionDigits > MAX_FRACTION_DIGITS) return `has ${fractionDigits} decimal places; at most ${MAX_FRACTION_DIGITS} are accepted`;
  return undefined;
}

/** Whether bid > IMPLAUSIBLE_CROSS_RATIO × ask (both non-negative; exact, no float). */
export function isImplausibleCross(bid: Decimal, ask: Decimal): boolean {
  // bid/10^b > R × ask/10^a  ⇔  bid × 10^a > R × ask × 10^b
  const left = bid.units * 10n ** BigInt(ask.scale);
  const right = BigInt(IMPLAUSIBLE_CROSS_RATIO) * ask.units * 10n ** BigInt(bid.scale);
  return left > right;
}
