/**
 * Timestamps at the input's precision, held as integer epoch microseconds in a JS number, plus
 * the nanoseconds within that microsecond (0-999) when the input had nanoseconds.
 *
 * Why microseconds in a number: a Date holds only milliseconds, and a BigInt per row is slow to
 * sort. Nanoseconds (Databento) ride beside the microseconds as a small remainder instead of
 * turning every timestamp into a BigInt: ms and µs inputs, the common case, pay nothing for them. A double holds integers exactly up to 2^53 µs ≈ 285 years either side of 1970, so the
 * supported range is 1684-07-28 to 2255-06-05 UTC; anything outside is rejected with a reason
 * instead of being silently rounded. Dates before 1970 are supported (negative micros) and are
 * formatted with floor division, so their fractions print correctly.
 *
 * Text formats are parsed field by field and computed with Date.UTC, never Date.parse: Date.parse
 * is lenient (`2025-02-30` rolls over to March) and reads naive timestamps in local time.
 */

/** Fraction digits kept: 3 (ms), 6 (µs) or 9 (ns). */
export type Precision = 3 | 6 | 9;

export interface ParsedTimestamp {
  micros: number;
  precision: Precision;
  /**
   * Nanoseconds within `micros` (0-999); present only with precision 9, so that ms and µs values
   * keep their two-field shape.
   */
  nanos?: number;
}

/**
 * `YYYY-MM-DD HH:MM[:SS[.f…]]` or the same with `T`: seconds optional (a fraction only after
 * seconds), optional `Z` / `±HH:MM` / `±HHMM` / `±HH` offset. Compiled once (hot path).
 * Groups: year, month, day, hour, minute, second, fraction, zone.
 */
const DATE_TIME_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

/** An unsigned epoch number, integer or decimal. Groups: integer part, fraction. */
const EPOCH_PATTERN = /^(\d+)(?:\.(\d+))?$/;

/** Sub-second digits beyond nanoseconds have no meaning for market data: rejected, not rounded. */
const MAX_FRACTION_DIGITS = 9;

const MS_PER_MINUTE = 60_000;

/** Integers this short are refused as epochs (see parseEpoch). */
const MAX_NON_EPOCH_DIGITS = 8;

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
}

/**
 * The time `secondsMicros` plus the sub-second digits `text[start, end)` (digits only; the caller
 * matched them): 0-3 digits → ms precision, 4-6 → µs, 7-9 → ns (the digits past the sixth become
 * `nanos`). Read in place, without slicing: the per-row path (fromCachedSecond) calls it for every
 * quote. Undefined when the sum is not a safe integer.
 */
function withFraction(secondsMicros: number, text: string, start: number, end: number): ParsedTimestamp | undefined {
  const digits = end - start;
  let fractionMicros = 0;
  for (let i = 0; i < 6; i++) fractionMicros = fractionMicros * 10 + (i < digits ? text.charCodeAt(start + i) - 48 : 0);
  const micros = secondsMicros + fractionMicros;
  if (!Number.isSafeInteger(micros)) return undefined;
  if (digits <= 3) return { micros, precision: 3 };
  if (digits <= 6) return { micros, precision: 6 };
  let nanos = 0;
  for (let i = 6; i < 9; i++) nanos = nanos * 10 + (i < digits ? text.charCodeAt(start + i) - 48 : 0);
  return { micros, precision: 9, nanos };
}

function outOfRange(text: string): string {
  return `timestamp ${JSON.stringify(text)} is out of the supported range (1684-07-28 to 2255-06-05 UTC)`;
}

function parseDateTime(text: string, m: RegExpExecArray): ParsedTimestamp | string {
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  // No seconds (`00:00Z`) means second 0; precision stays 3 as for any time without a fraction.
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const fraction = m[7] ?? '';
  const zone = m[8];
  if (month < 1 || month > 12) return `invalid date ${JSON.stringify(text)}: month ${m[2]} is not 01-12`;
  if (day < 1 || day > daysInMonth(year, month)) {
    return `invalid date ${JSON.stringify(text)}: day ${m[3]} does not exist in ${m[1]}-${m[2]}`;
  }
  // Second 60 (a leap second) is refused: epoch time has no slot for it.
  if (hour > 23 || minute > 59 || second > 59) return `invalid time ${JSON.stringify(text)}`;
  if (fraction.length > MAX_FRACTION_DIGITS) {
    return `timestamp ${JSON.stringify(text)} has ${fraction.length} fraction digits; at most ${MAX_FRACTION_DIGITS} (ns) are supported`;
  }
  let offsetMinutes = 0;
  if (zone !== undefined && zone !== 'Z' && zone !== 'z') {
    const offsetHours = Number(zone.slice(1, 3));
    // `±HH` (3 characters) has no minutes; `±HH:MM` and `±HHMM` end with them.
    const offsetMins = zone.length === 3 ? 0 : Number(zone.slice(zone.length - 2));
    if (offsetHours > 23 || offsetMins > 59) return `invalid UTC offset in ${JSON.stringify(text)}`;
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  // Date.UTC maps years 0-99 to 1900-1999; such years are outside the range anyway.
  if (year < 1000) return outOfRange(text);
  // Local time = UTC + offset, so UTC = local - offset.
  const ms = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMinutes * MS_PER_MINUTE;
  return withFraction(ms * 1000, fraction, 0, fraction.length) ?? outOfRange(text);
}

/**
 * Epoch number; the unit follows the magnitude of the integer part (leading zeros ignored):
 * 9-11 digits seconds, 12-14 ms, 15-17 µs, 18-20 ns. Negative epochs are not accepted, and
 * neither are 8 digits or fewer: `20250101` is a date written without dashes far more often than
 * a time in 1970 (the 9-digit seconds start in March 1973).
 */
function parseEpoch(text: string, m: RegExpExecArray): ParsedTimestamp | string {
  const intDigits = (m[1] ?? '').replace(/^0+/, '');
  const fracDigits = m[2] ?? '';
  const n = intDigits.length;
  if (n <= MAX_NON_EPOCH_DIGITS) {
    return `${JSON.stringify(text)} is not an epoch timestamp: epoch numbers have at least 9 integer digits (seconds since 1973); write a date as YYYY-MM-DD`;
  }
  const unitDigits = n <= 11 ? 0 : n <= 14 ? 3 : n <= 17 ? 6 : n <= 20 ? 9 : -1;
  if (unitDigits < 0) return `epoch timestamp ${JSON.stringify(text)} has more than 20 digits`;
  const subDigitCount = unitDigits + fracDigits.length;
  if (subDigitCount > MAX_FRACTION_DIGITS) {
    return `epoch timestamp ${JSON.stringify(text)} is finer than nanoseconds; at most ${MAX_FRACTION_DIGITS} sub-second digits are supported`;
  }
  const all = intDigits + fracDigits;
  const secondsText = all.slice(0, all.length - subDigitCount);
  // At most 11 digits of seconds: exact in a double.
  const seconds = Number(secondsText === '' ? '0' : secondsText) * 1_000_000;
  return withFraction(seconds, all, all.length - subDigitCount, all.length) ?? outOfRange(text);
}

/** `YYYY-MM-DD HH:MM:SS` (or with `T`): the part of a date-time that the second cache keys on. */
const SECOND_PREFIX_LENGTH = 19;

/**
 * The last two whole seconds parsed (prefix text → epoch µs): quotes come in time order, many a
 * second, so the date and time to the second repeat for hundreds of rows while only the fraction
 * changes. Two slots, because a record carries two timestamps (quote time and arrival).
 */
const secondKeys = ['', ''];
const secondMicros = [0, 0];

/**
 * `text` parsed through the second cache, when it is a date-time to the second followed by
 * nothing, `.` and 1-9 digits, and/or `Z`: exactly what parseDateTime gives for it (there is no
 * offset to apply and the fraction is in range). Undefined for any other text, and for a second
 * that is not valid: parseTimestamp then takes the general path, errors included.
 */
function fromCachedSecond(text: string): ParsedTimestamp | undefined {
  const length = text.length;
  if (length < SECOND_PREFIX_LENGTH) return undefined;
  let end = length;
  const last = text.charCodeAt(end - 1);
  if (last === 90 /* Z */ || last === 122 /* z */) end--;
  let fractionStart = end;
  if (end > SECOND_PREFIX_LENGTH) {
    if (text.charCodeAt(SECOND_PREFIX_LENGTH) !== 46 /* . */) return undefined;
    fractionStart = SECOND_PREFIX_LENGTH + 1;
    const digits = end - fractionStart;
    if (digits < 1 || digits > MAX_FRACTION_DIGITS) return undefined;
    for (let i = fractionStart; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) return undefined;
    }
  }
  let micros: number;
  // Compared in place: a cache hit (nearly every row) makes no key string. An empty slot
  // (nothing cached yet) is a prefix of everything: it must not match.
  const key0 = secondKeys[0] as string;
  const key1 = secondKeys[1] as string;
  if (key0 !== '' && text.startsWith(key0)) {
    micros = secondMicros[0] as number;
  } else if (key1 !== '' && text.startsWith(key1)) {
    micros = secondMicros[1] as number;
  } else {
    const key = text.slice(0, SECOND_PREFIX_LENGTH);
    const match = DATE_TIME_PATTERN.exec(key);
    if (match === null || match[6] === undefined) return undefined;
    const second = parseDateTime(key, match);
    if (typeof second === 'string') return undefined;
    micros = second.micros;
    secondKeys[1] = secondKeys[0] as string;
    secondMicros[1] = secondMicros[0] as number;
    secondKeys[0] = key;
    secondMicros[0] = micros;
  }
  return withFraction(micros, text, fractionStart, end);
}

/**
 * Parses a quote timestamp. Returns the epoch µs and precision, or a human-readable reason
 * (e.g. `unsupported timestamp format "01/02/2025 10:00"`, `invalid date "2025-02-30 00:00:00": …`).
 * Naive timestamps are UTC; offsets are converted to UTC. Surrounding whitespace is ignored.
 */
export function parseTimestamp(text: string): ParsedTimestamp | string {
  const cached = fromCachedSecond(text);
  if (cached !== undefined) return cached;
  const trimmed = text.trim();
  if (trimmed.length === 0) return 'timestamp is empty';
  const dateTime = DATE_TIME_PATTERN.exec(trimmed);
  if (dateTime !== null) return parseDateTime(trimmed, dateTime);
  const epoch = EPOCH_PATTERN.exec(trimmed);
  if (epoch !== null) return parseEpoch(trimmed, epoch);
  return `unsupported timestamp format ${JSON.stringify(trimmed)}`;
}

const MS_PER_DAY = 86_400_000;

/** '00'…'99': two-digit fields without padStart calls on the hot path. */
const TWO_DIGITS: readonly string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
/** '000'…'999' for milli- and microsecond fractions. */
const THREE_DIGITS: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/**
 * `YYYY-MM-DD` of the last day formatted. Quotes come in time order, so consecutive rows almost
 * always share the day: the calendar conversion (via Date) runs once per day, not once per row.
 */
let cachedDay = Number.NaN;
let cachedDayText = '';

function dayText(day: number): string {
  if (day !== cachedDay) {
    cachedDayText = new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
    cachedDay = day;
  }
  return cachedDayText;
}

/** '000Z'…'999Z': the last fraction digits of an ISO timestamp and its zone in one piece. */
const THREE_DIGITS_Z: readonly string[] = THREE_DIGITS.map((digits) => digits + 'Z');

/**
 * `YYYY-MM-DD<sep>HH:MM:SS.` of the last whole second formatted, per separator (ISO `T`, log
 * ` `), and where that second starts (epoch µs): hundreds of quotes share a second, so a quote's
 * text is this plus its fraction digits, found from the µs since the second's start without the
 * floor divisions of the whole value.
 */
class SecondText {
  startMicros = Number.NaN;
  text = '';
}
const isoSecond = new SecondText();
const logSecond = new SecondText();

/**
 * `YYYY-MM-DD<sep>HH:MM:SS.fff` with 3, 6 or 9 fraction digits (the last three from `nanos`), then
 * `Z` when `zone`. With precision 3 any sub-millisecond part is truncated. Floor division keeps
 * pre-1970 fractions positive: -1000 µs is 1969-12-31 23:59:59.999000.
 */
function formatNaive(micros: number, precision: Precision, separator: string, nanos: number, zone: boolean): string {
  const cache = separator === 'T' ? isoSecond : separator === ' ' ? logSecond : undefined;
  let prefix: string;
  let msOfSecond: number;
  let subMs: number;
  // Within the cached second (an integer offset below 1 s from its start, both exact): the same
  // digits as the general computation below, which a test holds it to.
  const offset = cache === undefined ? Number.NaN : micros - cache.startMicros;
  if (cache !== undefined && offset >= 0 && offset < 1_000_000 && Number.isInteger(offset)) {
    prefix = cache.text;
    subMs = offset % 1000;
    msOfSecond = (offset - subMs) / 1000;
  } else {
    // `%` and the division of an exact multiple are exact on doubles; `Math.floor(micros / 1000)`
    // is not (the quotient is rounded before the floor near 2^53).
    subMs = ((micros % 1000) + 1000) % 1000;
    const ms = (micros - subMs) / 1000;
    msOfSecond = ((ms % 1000) + 1000) % 1000;
    const secondMs = ms - msOfSecond;
    const msOfDay = ((secondMs % MS_PER_DAY) + MS_PER_DAY) % MS_PER_DAY;
    const day = (secondMs - msOfDay) / MS_PER_DAY;
    const seconds = msOfDay / 1000;
    prefix = dayText(day) + separator + TWO_DIGITS[Math.floor(seconds / 3600)] + ':' + TWO_DIGITS[Math.floor(seconds / 60) % 60] + ':' + TWO_DIGITS[seconds % 60] + '.';
    if (cache !== undefined) {
      cache.startMicros = secondMs * 1000;
      cache.text = prefix;
    }
  }
  const last = zone ? THREE_DIGITS_Z : THREE_DIGITS;
  if (precision === 3) return prefix + last[msOfSecond];
  const millis = prefix + THREE_DIGITS[msOfSecond];
  return precision === 6 ? millis + last[subMs] : millis + THREE_DIGITS[subMs] + last[nanos];
}

/**
 * `2025-01-01T00:00:00.120Z` (precision 3), `2025-01-01T00:00:00.120456Z` (6) or
 * `2025-01-01T00:00:00.120456789Z` (9, the last three digits being `nanos`).
 */
export function formatIsoTimestamp(micros: number, precision: Precision, nanos = 0): string {
  return formatNaive(micros, precision, 'T', nanos, true);
}

/** `2025-01-01 00:00:00.120` (or 6 or 9 fraction digits): the mid_prices.log / errors.log format. */
export function formatLogTimestamp(micros: number, precision: Precision, nanos = 0): string {
  return formatNaive(micros, precision, ' ', nanos, false);
}

/** formatIsoTimestamp of a parsed timestamp. */
export function isoOf(time: ParsedTimestamp): string {
  return formatNaive(time.micros, time.precision, 'T', time.nanos ?? 0, true);
}
