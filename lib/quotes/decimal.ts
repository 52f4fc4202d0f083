/**
 * Exact decimal arithmetic for prices and amounts. A price never passes through a binary float:
 * `0.1 + 0.2` in doubles is `0.30000000000000004`, and the mid-price log must print `0.15`.
 */

/** value = units / 10^scale. `scale` is a non-negative integer for values made by parseDecimal. */
export interface Decimal {
  units: bigint;
  scale: number;
}

/**
 * Bounds the exponent of `1.5e3`-style input: without it `1e1000000000` would allocate a
 * billion-digit BigInt (or string) from one CSV cell. No price or amount is anywhere near 10^±1000.
 */
const MAX_EXPONENT = 1000;

/** 10^0 … 10^32 as BigInt: aligning prices of different scales must not compute a power per row. */
const POWERS_OF_TEN: readonly bigint[] = Array.from({ length: 33 }, (_, i) => 10n ** BigInt(i));

function pow10(exponent: number): bigint {
  return POWERS_OF_TEN[exponent] ?? 10n ** BigInt(exponent);
}

/**
 * Sign, integer digits, optional fraction, optional exponent. Compiled once: this runs several
 * times per CSV row. `\d` without the `u` flag is ASCII-only, so full-width digits are refused.
 */
const DECIMAL_PATTERN = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** A parsed decimal before it becomes a BigInt: normalising to a string needs no BigInt at all. */
interface DecimalParts {
  negative: boolean;
  /** The significant digits as written (may have leading/trailing zeros), never empty. */
  digits: string;
  /** Number of digits of `digits` after the decimal point; negative means trailing zeros to add. */
  scale: number;
}

/**
 * For plain `123`, `123.45`, `.5`, `12.` (ASCII digits and at most one dot, at least one digit,
 * nothing else): the index of the dot, or -1 without one. NOT_PLAIN for any other text.
 */
const NOT_PLAIN = -2;

function plainDot(text: string): number {
  let dot = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) continue;
    if (c !== 46 || dot !== -1) return NOT_PLAIN;
    dot = i;
  }
  if (text.length === 0 || (dot !== -1 && text.length === 1)) return NOT_PLAIN;
  return dot;
}

/** Whether `text` is a plain decimal (see plainDot): a non-negative number with no sign or exponent. */
export function isPlainDecimal(text: string): boolean {
  return plainDot(text) !== NOT_PLAIN;
}

/** What DECIMAL_PATTERN gives for a plain decimal, without the regex (prices are written so nearly always). */
function plainParts(text: string): DecimalParts | undefined {
  const dot = plainDot(text);
  if (dot === NOT_PLAIN) return undefined;
  if (dot === -1) return { negative: false, digits: text, scale: 0 };
  return { negative: false, digits: text.slice(0, dot) + text.slice(dot + 1), scale: text.length - dot - 1 };
}

function splitDecimal(text: string): DecimalParts | undefined {
  const plain = plainParts(text);
  if (plain !== undefined) return plain;
  const match = DECIMAL_PATTERN.exec(text.trim());
  if (match === null) return undefined;
  const intDigits = match[2] ?? '';
  const fracDigits = match[3] ?? '';
  // `.` alone, `+`, `e5` match the pattern but carry no digit.
  if (intDigits.length === 0 && fracDigits.length === 0) return undefined;
  let exponent = 0;
  if (match[4] !== undefined) {
    exponent = Number(match[4]);
    if (Math.abs(exponent) > MAX_EXPONENT) return undefined;
  }
  return { negative: match[1] === '-', digits: intDigits + fracDigits, scale: fracDigits.length - exponent };
}

/** Canonical text of sign × digits / 10^scale: no exponent, no redundant zeros, no `-0`. */
function formatParts(negative: boolean, digits: string, scale: number): string {
  let intPart: string;
  let fracPart: string;
  if (scale <= 0) {
    intPart = scale === 0 ? digits : digits + '0'.repeat(-scale);
    fracPart = '';
  } else {
    const padded = digits.length > scale ? digits : '0'.repeat(scale - digits.length + 1) + digits;
    intPart = padded.slice(0, padded.length - scale);
    fracPart = padded.slice(padded.length - scale);
  }
  let fracEnd = fracPart.length;
  while (fracEnd > 0 && fracPart.charCodeAt(fracEnd - 1) === 48 /* '0' */) fracEnd--;
  let intStart = 0;
  while (intStart < intPart.length - 1 && intPart.charCodeAt(intStart) === 48) intStart++;
  intPart = intPart.slice(intStart);
  if (fracEnd === 0) {
    if (intPart === '0') return '0';
    return negative ? '-' + intPart : intPart;
  }
  const text = intPart + '.' + fracPart.slice(0, fracEnd);
  return negative ? '-' + text : text;
}

/**
 * Parses `12`, `-12.5`, `.5`, `12.`, `+1.5e3`, `2E-2` (surrounding whitespace ignored).
 * Returns undefined for anything else: empty, `NaN`, `Infinity`, `1,5`, `0x10`, `1.2.3`,
 * or an exponent beyond ±1000.
 */
export function parseDecimal(text: string): Decimal | undefined {
  const parts = splitDecimal(text);
  if (parts === undefined) return undefined;
  let units = BigInt(parts.digits);
  let scale = parts.scale;
  if (scale < 0) {
    // Keep the invariant scale >= 0 so that callers can compare scales without a sign case.
    units *= pow10(-scale);
    scale = 0;
  }
  return { units: parts.negative ? -units : units, scale };
}

/** Canonical form: no exponent, trailing fraction zeros stripped, no trailing dot, `-0` → `0`. */
export function formatDecimal(d: Decimal): string {
  const negative = d.units < 0n;
  return formatParts(negative, (negative ? -d.units : d.units).toString(), d.scale);
}

/**
 * Whether `text` is a plain decimal already in canonical form (`0`, `12`, `0.5`, `421.64`; not
 * `012`, `.5`, `1.`, `1.50`): then it is its own canonical text, and normalising it needs no new
 * string (prices, amounts and latencies are nearly always written so).
 */
function isCanonicalPlain(text: string): boolean {
  const dot = plainDot(text);
  if (dot === NOT_PLAIN) return false;
  const intLength = dot === -1 ? text.length : dot;
  if (intLength === 0 || (intLength > 1 && text.charCodeAt(0) === 48 /* '0' */)) return false;
  return dot === -1 || (dot < text.length - 1 && text.charCodeAt(text.length - 1) !== 48);
}

/** Parse + canonical format; how prices and amounts are stored. Undefined when not a decimal. */
export function normaliseDecimalString(text: string): string | undefined {
  if (isCanonicalPlain(text)) return text;
  const parts = splitDecimal(text);
  return parts === undefined ? undefined : formatParts(parts.negative, parts.digits, parts.scale);
}

/** An optionally signed run of ASCII digits: a fixed-point integer. */
const INTEGER_PATTERN = /^([+-]?)(\d+)$/;

/**
 * Canonical decimal text of an integer count of 10^-scale units: `fixedPointToDecimalString(
 * '5000250000000', 9)` is `5000.25` (Databento prices, 1 unit = 1e-9). Exact: digits are moved,
 * never divided. Undefined when `text` is not an integer.
 */
export function fixedPointToDecimalString(text: string, scale: number): string | undefined {
  const match = INTEGER_PATTERN.exec(text);
  if (match === null) return undefined;
  return formatParts(match[1] === '-', match[2] ?? '0', scale);
}

/** Both values' units at the larger of the two scales, so they can be added or compared. */
function align(a: Decimal, b: Decimal): [bigint, bigint, number] {
  if (a.scale === b.scale) return [a.units, b.units, a.scale];
  if (a.scale > b.scale) return [a.units, b.units * pow10(a.scale - b.scale), a.scale];
  return [a.units * pow10(b.scale - a.scale), b.units, b.scale];
}

export function compareDecimal(a: Decimal, b: Decimal): -1 | 0 | 1 {
  const [x, y] = align(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * compareDecimal for two non-negative decimals in canonical form (formatDecimal's output: no
 * sign, no exponent, no leading or trailing zeros beyond `0` itself, no trailing dot), on the
 * text alone: the longer integer part is larger; with equal lengths the characters decide, the
 * integer part first, then the fraction (a fraction that is a prefix of the other is smaller).
 */
export function compareCanonical(a: string, b: string): -1 | 0 | 1 {
  const dotA = a.indexOf('.');
  const dotB = b.indexOf('.');
  const intA = dotA === -1 ? a.length : dotA;
  const intB = dotB === -1 ? b.length : dotB;
  if (intA !== intB) return intA < intB ? -1 : 1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

export function isNegative(d: Decimal): boolean {
  return d.units < 0n;
}

/**
 * Exact (bid + ask) / 2 in canonical form: `midPrice('0.1', '0.2') === '0.15'`.
 * Halving is exact in base 10: an odd sum s gives s / 2 = (s × 5) / 10, one more fraction digit.
 * Throws a TypeError naming the argument when either side is not a decimal number.
 */
export function midPrice(bid: string, ask: string): string {
  return plainMidPrice(bid, ask) ?? bigIntMidPrice(bid, ask);
}

/** midPrice's general path: any decimal text, in BigInt units. */
export function bigIntMidPrice(bid: string, ask: string): string {
  const b = parseDecimal(bid);
  if (b === undefined) throw new TypeError(`midPrice: bid ${JSON.stringify(bid)} is not a decimal number`);
  const a = parseDecimal(ask);
  if (a === undefined) throw new TypeError(`midPrice: ask ${JSON.stringify(ask)} is not a decimal number`);
  const [x, y, scale] = align(b, a);
  const sum = x + y;
  if (sum % 2n === 0n) return formatDecimal({ units: sum / 2n, scale });
  return formatDecimal({ units: sum * 5n, scale: scale + 1 });
}

/**
 * Digits (after aligning the two scales) up to which a plain decimal's units are exact in a
 * double, and so are their sum and five times it: 2 × 10^14 × 5 = 10^15 < 2^53.
 */
const MAX_DOUBLE_DIGITS = 14;

/** 10^0 … 10^14 as doubles (exact). */
const DOUBLE_POWERS_OF_TEN: readonly number[] = Array.from({ length: MAX_DOUBLE_DIGITS + 1 }, (_, i) => 10 ** i);

/**
 * The units of plain decimal `text` (dot at `dot`, -1 for none) at `scale` fraction digits, as an
 * exact integer double; undefined when they would have more than MAX_DOUBLE_DIGITS digits.
 */
function plainUnitsAt(text: string, dot: number, scale: number): number | undefined {
  const ownScale = dot === -1 ? 0 : text.length - dot - 1;
  const digits = text.length - (dot === -1 ? 0 : 1) + (scale - ownScale);
  if (digits > MAX_DOUBLE_DIGITS) return undefined;
  let units = 0;
  for (let i = 0; i < text.length; i++) if (i !== dot) units = units * 10 + (text.charCodeAt(i) - 48);
  return units * (DOUBLE_POWERS_OF_TEN[scale - ownScale] as number);
}

/**
 * midPrice of two plain decimals (nearly every price) in integer doubles instead of BigInts: the
 * same digits, the same halving rule, the same canonical formatting, exact because every
 * intermediate integer stays below 2^53. Undefined when either side is not plain or is too long.
 */
function plainMidPrice(bid: string, ask: string): string | undefined {
  const bidDot = plainDot(bid);
  const askDot = plainDot(ask);
  if (bidDot === NOT_PLAIN || askDot === NOT_PLAIN) return undefined;
  const scale = Math.max(bidDot === -1 ? 0 : bid.length - bidDot - 1, askDot === -1 ? 0 : ask.length - askDot - 1);
  const x = plainUnitsAt(bid, bidDot, scale);
  const y = plainUnitsAt(ask, askDot, scale);
  if (x === undefined || y === undefined) return undefined;
  const sum = x + y;
  if (sum % 2 === 0) return formatParts(false, String(sum / 2), scale);
  return formatParts(false, String(sum * 5), scale + 1);
}
