/**
 * One CSV record → validated quote fields. Pure: no I/O, no logging, so the rules can be tested
 * row by row and reused by any reader. A bad row is a value (`ok: false`), never an exception:
 * the replay counts it and carries on.
 */
import type { ColumnField, ColumnMap } from './columns.ts';
import type { Decimal } from './decimal.ts';
import { compareCanonical, formatDecimal, isNegative, isPlainDecimal, normaliseDecimalString, parseDecimal } from './decimal.ts';
import { digitsProblem, isImplausibleCross, MAX_TICKER_LENGTH, shown, tickerProblem } from './plausibility.ts';
import type { QuoteFields } from './quote.ts';
import type { ParsedTimestamp, Precision } from './timestamp.ts';
import { isoOf, parseTimestamp } from './timestamp.ts';

export type RowResult =
  | {
      ok: true;
      line: number;
      fields: QuoteFields;
      /** The quote's own timestamp, epoch µs. */
      timestampUs: number;
      /**
       * Effective arrival, epoch µs: timestamp + latency (rounded half-up to whole µs), or the
       * receive time a format gives (`local_timestamp`, `ts_recv`). The replay order key.
       */
      arrivalUs: number;
      /** Nanoseconds of the arrival within `arrivalUs` (1-999), for ns inputs; absent when 0. */
      arrivalNanos?: number;
      /** Fraction digits of the timestamp, used for the arrival too. */
      precision: Precision;
      /** bid > ask: kept (it is what the venue sent) but flagged so the caller can warn and count. */
      crossed: boolean;
      /** bid > IMPLAUSIBLE_CROSS_RATIO × ask: kept and flagged louder (a unit or column mix-up?). */
      implausible?: true;
    }
  | { ok: false; line: number; field?: string; reason: string };

export type RowRejection = Extract<RowResult, { ok: false }>;
export type AcceptedRow = Extract<RowResult, { ok: true }>;

export { MAX_TICKER_LENGTH };
/** One day: a quote that arrives later than that is a data error, not latency. */
export const MAX_LATENCY_MS = 86_400_000;

/** Canonical header names used when the map carries no `names` (hand-built maps). */
const DEFAULT_NAMES: Readonly<Record<ColumnField, string>> = {
  timestamp: 'timestamp',
  ticker: 'ticker',
  bid: 'bid_price',
  ask: 'ask_price',
  bidAmount: 'bid_amount',
  askAmount: 'ask_amount',
  latency: 'latency',
};

function nameOf(columns: ColumnMap, field: ColumnField): string {
  return columns.names?.[field] ?? DEFAULT_NAMES[field];
}

export function reject(line: number, field: string, reason: string): RowRejection {
  return { ok: false, line, field, reason };
}

/** A price: its canonical text (exact; compared without BigInt by compareCanonical). */
export interface Price {
  text: string;
}

/**
 * A price cell (already trimmed, non-empty): a decimal number, not negative, not zero, with a
 * sane number of digits; or the reason it is not one.
 */
export function priceCell(cell: string, name: string): Price | string {
  // Plain digits (nearly every price): canonical text and checks without a BigInt. Such a cell
  // cannot be negative, and it is zero exactly when its canonical text is `0`.
  if (isPlainDecimal(cell)) {
    const text = normaliseDecimalString(cell) as string;
    if (text === '0') return `${name} ${shown(cell)} is zero`;
    const digits = digitsProblem(text);
    return digits === undefined ? { text } : `${name} ${shown(cell)} ${digits}`;
  }
  const value = parseDecimal(cell);
  if (value === undefined) return `${name} ${shown(cell)} is not a decimal number`;
  return checkedPrice(value, formatDecimal(value), cell, name);
}

/** The price checks on a value already parsed (`text` its canonical form, `cell` as written). */
export function checkedPrice(value: Decimal, text: string, cell: string, name: string): Price | string {
  if (isNegative(value)) return `${name} ${shown(cell)} is negative`;
  if (value.units === 0n) return `${name} ${shown(cell)} is zero`;
  const digits = digitsProblem(text);
  if (digits !== undefined) return `${name} ${shown(cell)} ${digits}`;
  return { text };
}

/**
 * A non-negative decimal cell in canonical form, or the reason it is not one. For values that
 * are stored but never compared (amounts, latency) the canonical string is all we need, and
 * making it costs no BigInt. A canonical string is negative exactly when it starts with `-`.
 * `limitDigits` false for latency, whose own bound (one day) is the one to report.
 */
export function nonNegativeCanonical(cell: string, name: string, limitDigits = true): { text: string } | string {
  const text = normaliseDecimalString(cell);
  if (text === undefined) return `${name} ${shown(cell)} is not a decimal number`;
  if (text.charCodeAt(0) === 45 /* '-' */) return `${name} ${shown(cell)} is negative`;
  if (!limitDigits) return { text };
  const digits = digitsProblem(text);
  if (digits !== undefined) return `${name} ${shown(cell)} ${digits}`;
  return { text };
}

/** An optional amount cell (trimmed): empty means "not given", not zero. */
export function amountCell(cell: string, name: string): { text?: string } | string {
  return cell.length === 0 ? {} : nonNegativeCanonical(cell, name);
}

/** Where a format keeps its optional amount columns, and what it calls them. */
export interface AmountColumns {
  bid?: number;
  ask?: number;
  bidName: string;
  askName: string;
}

/** Sets `fields.bidAmount` / `askAmount` from their cells (empty: not given); the rejection if one is bad. */
export function addAmounts(fields: QuoteFields, record: readonly string[], columns: AmountColumns, line: number): RowRejection | undefined {
  if (columns.bid !== undefined) {
    const amount = amountCell((record[columns.bid] ?? '').trim(), columns.bidName);
    if (typeof amount === 'string') return reject(line, columns.bidName, amount);
    if (amount.text !== undefined) fields.bidAmount = amount.text;
  }
  if (columns.ask !== undefined) {
    const amount = amountCell((record[columns.ask] ?? '').trim(), columns.askName);
    if (typeof amount === 'string') return reject(line, columns.askName, amount);
    if (amount.text !== undefined) fields.askAmount = amount.text;
  }
  return undefined;
}

/** A ticker cell (raw): trimmed, non-empty and within the ticker rules; or the reason it is not. */
export function tickerCell(cell: string, name: string): { ticker: string } | string {
  const ticker = cell.trim();
  return tickerRejection(ticker, name) ?? { ticker };
}

/** Why the trimmed ticker `ticker` of column `name` is refused; undefined when it is valid (tickerCell without its result object). */
function tickerRejection(ticker: string, name: string): string | undefined {
  if (ticker.length === 0) return `${name} is empty`;
  const problem = tickerProblem(ticker);
  return problem === undefined ? undefined : `${name} ${problem}`;
}

/** bid > ask (both validated prices). */
export function isCrossed(bid: Price, ask: Price): boolean {
  return compareCanonical(bid.text, ask.text) > 0;
}

/** bid > IMPLAUSIBLE_CROSS_RATIO × ask; asked only of crossed quotes (rare), so parsing here costs little. */
export function isImplausible(bid: Price, ask: Price): boolean {
  return isImplausibleCross(parseDecimal(bid.text) as Decimal, parseDecimal(ask.text) as Decimal);
}

/** The accepted row for validated parts; flags crossed and implausible quotes. */
export function acceptedRow(line: number, fields: QuoteFields, time: ParsedTimestamp, arrivalUs: number, arrivalNanos: number, bid: Price, ask: Price): AcceptedRow {
  const crossed = isCrossed(bid, ask);
  const row: AcceptedRow = { ok: true, line, fields, timestampUs: time.micros, arrivalUs, precision: time.precision, crossed };
  if (arrivalNanos !== 0) row.arrivalNanos = arrivalNanos;
  if (crossed && isImplausible(bid, ask)) row.implausible = true;
  return row;
}

/**
 * Latency from an exchange time to a receive time, both parsed (the formats that carry both,
 * tardis and Databento): exact to the nanosecond, as ms. The µs are subtracted first, so the
 * difference stays exact even though ns since the epoch exceed 2^53. Negative (the receiver's
 * clock behind the exchange's) and beyond one day are refused with the two column names.
 */
export function latencyBetween(event: ParsedTimestamp, received: ParsedTimestamp, eventName: string, receivedName: string): number | string {
  const ns = (received.micros - event.micros) * 1000 + ((received.nanos ?? 0) - (event.nanos ?? 0));
  if (ns < 0) {
    return `${receivedName} is ${-ns / 1e6} ms before ${eventName} (negative latency: the receiver's clock is behind the exchange's)`;
  }
  if (ns > MAX_LATENCY_MS * 1e6) return `${receivedName} is more than ${MAX_LATENCY_MS} ms (one day) after ${eventName}`;
  // Division of two exact doubles rounds once, to the double nearest the exact decimal: the same
  // double Number() gives for that decimal, so it prints as written (at most 15 digits: exact).
  return ns / 1e6;
}

/** Columns of a format that carries an exchange time and a receive time (tardis, Databento). */
export interface TimedColumns {
  event: number;
  received: number;
  eventName: string;
  receivedName: string;
  bid: number;
  ask: number;
  bidName: string;
  askName: string;
  amounts: AmountColumns;
}

/** Reads one side's price cell (trimmed) the way the format writes prices. */
export type SideReader = (cell: string, name: string, side: 'bid' | 'ask') => Price | string;

/**
 * The rest of a row once its ticker is known: timestamp = the exchange time, arrival = the receive
 * time, latency = their difference (exact), prices read by the format's `price`, amounts.
 */
export function timedRow(record: readonly string[], line: number, ticker: string, columns: TimedColumns, price: SideReader): RowResult {
  const event = timestampCell(record[columns.event] ?? '', columns.eventName);
  if (typeof event === 'string') return reject(line, columns.eventName, event);
  const received = timestampCell(record[columns.received] ?? '', columns.receivedName);
  if (typeof received === 'string') return reject(line, columns.receivedName, received);
  const latencyMs = latencyBetween(event, received, columns.eventName, columns.receivedName);
  if (typeof latencyMs === 'string') return reject(line, columns.receivedName, latencyMs);
  const bid = price((record[columns.bid] ?? '').trim(), columns.bidName, 'bid');
  if (typeof bid === 'string') return reject(line, columns.bidName, bid);
  const ask = price((record[columns.ask] ?? '').trim(), columns.askName, 'ask');
  if (typeof ask === 'string') return reject(line, columns.askName, ask);
  const fields: QuoteFields = { ticker, timestamp: isoOf(event), bid: bid.text, ask: ask.text };
  const badAmount = addAmounts(fields, record, columns.amounts, line);
  if (badAmount !== undefined) return badAmount;
  fields.latencyMs = latencyMs;
  return acceptedRow(line, fields, event, received.micros, received.nanos ?? 0, bid, ask);
}

/** A required timestamp cell, or the reason it is not one. */
export function timestampCell(cell: string, name: string): ParsedTimestamp | string {
  const parsed = parseTimestamp(cell);
  if (typeof parsed !== 'string') return parsed;
  return cell.trim().length === 0 ? `${name} is empty` : `${name}: ${parsed}`;
}

/**
 * Latency (canonical, non-negative ms) in whole µs, or the reason it cannot be one. Any number
 * of fraction digits is accepted (some systems report 12.3456 ms); the value is rounded half-up
 * to whole µs (`0.0004` → 0, `0.0005` → 1, `12.3456` → 12,346). Exact: built from the decimal
 * digits, never `ms * 1000` on a float (`4.35 * 1000` is 4349.999…). Half-up needs only the
 * fourth fraction digit: whatever follows it cannot move the remainder across one half. The bound
 * check comes first so that `1e100` is "too large", not a 101-digit number.
 */
function latencyMicros(canonical: string, cell: string, name: string): number | string {
  const dot = canonical.indexOf('.');
  const intText = dot === -1 ? canonical : canonical.slice(0, dot);
  const fracText = dot === -1 ? '' : canonical.slice(dot + 1);
  const whole = intText.length > 9 ? Infinity : Number(intText);
  // In canonical form a non-empty fraction is non-zero.
  if (whole > MAX_LATENCY_MS || (whole === MAX_LATENCY_MS && fracText.length > 0)) {
    return `${name} ${shown(cell)} exceeds ${MAX_LATENCY_MS} ms (one day)`;
  }
  if (fracText.length === 0) return whole * 1000;
  const millisFraction = Number((fracText + '00').slice(0, 3));
  const roundUp = fracText.length > 3 && fracText.charCodeAt(3) >= 53 /* '5' */ ? 1 : 0;
  return whole * 1000 + millisFraction + roundUp;
}

/**
 * Validates one record against the column map. `line` is the file line where the record starts
 * and is echoed in the result. Checks, in order: field count, ticker, timestamp, bid, ask,
 * amounts, latency; the first failure is reported.
 */
export function parseRow(record: string[], columns: ColumnMap, line: number): RowResult {
  return csvRowParser(columns)(record, line);
}

/**
 * parseRow for one column map, with what depends only on the map (column names, the amount
 * columns) worked out once instead of once per row.
 */
export function csvRowParser(columns: ColumnMap): (record: string[], line: number) => RowResult {
  const names = {
    ticker: nameOf(columns, 'ticker'),
    timestamp: nameOf(columns, 'timestamp'),
    bid: nameOf(columns, 'bid'),
    ask: nameOf(columns, 'ask'),
    latency: nameOf(columns, 'latency'),
  };
  const amounts: AmountColumns = { bid: columns.bidAmount, ask: columns.askAmount, bidName: nameOf(columns, 'bidAmount'), askName: nameOf(columns, 'askAmount') };
  return (record, line) => parseRecord(record, columns, line, names, amounts);
}

function parseRecord(
  record: string[],
  columns: ColumnMap,
  line: number,
  names: { ticker: string; timestamp: string; bid: string; ask: string; latency: string },
  amounts: AmountColumns,
): RowResult {
  if (record.length !== columns.width) {
    return { ok: false, line, reason: `expected ${columns.width} fields, got ${record.length}` };
  }

  const tickerName = names.ticker;
  const ticker = (record[columns.ticker] ?? '').trim();
  const tickerRefused = tickerRejection(ticker, tickerName);
  if (tickerRefused !== undefined) return reject(line, tickerName, tickerRefused);

  const timestampCell = record[columns.timestamp] ?? '';
  const parsedTime = parseTimestamp(timestampCell);
  if (typeof parsedTime === 'string') {
    const name = names.timestamp;
    return reject(line, name, timestampCell.trim().length === 0 ? `${name} is empty` : parsedTime);
  }

  const bidName = names.bid;
  const bidCell = (record[columns.bid] ?? '').trim();
  if (bidCell.length === 0) return reject(line, bidName, `${bidName} is empty`);
  const bid = priceCell(bidCell, bidName);
  if (typeof bid === 'string') return reject(line, bidName, bid);

  const askName = names.ask;
  const askCell = (record[columns.ask] ?? '').trim();
  if (askCell.length === 0) return reject(line, askName, `${askName} is empty`);
  const ask = priceCell(askCell, askName);
  if (typeof ask === 'string') return reject(line, askName, ask);

  const fields: QuoteFields = { ticker, timestamp: isoOf(parsedTime), bid: bid.text, ask: ask.text };

  // Amounts are optional per row: an empty cell means "not given", not zero.
  const badAmount = addAmounts(fields, record, amounts, line);
  if (badAmount !== undefined) return badAmount;

  // Without a latency column every quote arrives at its timestamp (latency 0 for ordering),
  // and latencyMs stays absent so consumers can tell "not given" from "0 ms".
  let latencyUs = 0;
  if (columns.latency !== undefined) {
    const name = names.latency;
    const cell = (record[columns.latency] ?? '').trim();
    if (cell.length === 0) return reject(line, name, `${name} is empty`);
    const value = nonNegativeCanonical(cell, name, false);
    if (typeof value === 'string') return reject(line, name, value);
    const micros = latencyMicros(value.text, cell, name);
    if (typeof micros === 'string') return reject(line, name, micros);
    latencyUs = micros;
    // The value as written (the nearest double to the exact decimal), not the µs-rounded one: it
    // is what the `latency <n>ms` text prints and what the threshold is compared with. The
    // canonical text denotes the same decimal as the cell, so Number() gives the same double.
    fields.latencyMs = Number(value.text);
  }

  const arrivalUs = parsedTime.micros + latencyUs;
  if (!Number.isSafeInteger(arrivalUs)) {
    return reject(line, names.latency, 'arrival time (timestamp + latency) is out of the supported range');
  }
  // A ns timestamp keeps its nanoseconds in the arrival (latency is whole µs here).
  return acceptedRow(line, fields, parsedTime, arrivalUs, parsedTime.nanos ?? 0, bid, ask);
}
