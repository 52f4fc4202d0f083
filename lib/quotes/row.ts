/**
 * One CSV record → validated quote fields. Pure: no I/O, no logging, so the rules can be tested
 * row by row and reused by any reader. A bad row is a value (`ok: false`), never an exception:
 * the replay counts it and carries on.
 */
import type { ColumnField, ColumnMap } from './columns.ts';
import type { Decimal } from './decimal.ts';
import { compareDecimal, formatDecimal, isNegative, normaliseDecimalString, parseDecimal } from './decimal.ts';
import type { QuoteFields } from './quote.ts';
import type { Precision } from './timestamp.ts';
import { formatIsoTimestamp, parseTimestamp } from './timestamp.ts';

export type RowResult =
  | {
      ok: true;
      line: number;
      fields: QuoteFields;
      /** The quote's own timestamp, epoch µs. */
      timestampUs: number;
      /** Effective arrival = timestamp + latency (rounded half-up to whole µs), epoch µs: the replay order key. */
      arrivalUs: number;
      precision: Precision;
      /** bid > ask: kept (it is what the venue sent) but flagged so the caller can warn and count. */
      crossed: boolean;
    }
  | { ok: false; line: number; field?: string; reason: string };

export type RowRejection = Extract<RowResult, { ok: false }>;

export const MAX_TICKER_LENGTH = 64;
/** One day: a quote that arrives later than that is a data error, not latency. */
export const MAX_LATENCY_MS = 86_400_000;

/** Long cells are cut in messages so one bad row cannot flood errors.log. */
const MAX_VALUE_IN_MESSAGE = 40;

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

function shown(value: string): string {
  const cut = value.length > MAX_VALUE_IN_MESSAGE ? value.slice(0, MAX_VALUE_IN_MESSAGE) + '…' : value;
  return JSON.stringify(cut);
}

function reject(line: number, field: string, reason: string): RowRejection {
  return { ok: false, line, field, reason };
}

/** C0 controls, DEL and C1 controls: invisible in logs and never part of a ticker. */
function hasControlChar(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

/** A non-negative decimal cell, or the reason it is not one. `cell` is already trimmed. */
function nonNegativeDecimal(cell: string, name: string): Decimal | string {
  const value = parseDecimal(cell);
  if (value === undefined) return `${name} ${shown(cell)} is not a decimal number`;
  if (isNegative(value)) return `${name} ${shown(cell)} is negative`;
  return value;
}

/**
 * A non-negative decimal cell in canonical form, or the reason it is not one. For values that
 * are stored but never compared (amounts, latency) the canonical string is all we need, and
 * making it costs no BigInt. A canonical string is negative exactly when it starts with `-`.
 */
function nonNegativeCanonical(cell: string, name: string): { text: string } | string {
  const text = normaliseDecimalString(cell);
  if (text === undefined) return `${name} ${shown(cell)} is not a decimal number`;
  if (text.charCodeAt(0) === 45 /* '-' */) return `${name} ${shown(cell)} is negative`;
  return { text };
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
  if (record.length !== columns.width) {
    return { ok: false, line, reason: `expected ${columns.width} fields, got ${record.length}` };
  }

  const ticker = (record[columns.ticker] ?? '').trim();
  if (ticker.length === 0) return reject(line, nameOf(columns, 'ticker'), `${nameOf(columns, 'ticker')} is empty`);
  if (ticker.length > MAX_TICKER_LENGTH) {
    const name = nameOf(columns, 'ticker');
    return reject(line, name, `${name} ${shown(ticker)} is longer than ${MAX_TICKER_LENGTH} characters`);
  }
  if (hasControlChar(ticker)) {
    const name = nameOf(columns, 'ticker');
    return reject(line, name, `${name} ${shown(ticker)} contains a control character`);
  }

  const timestampCell = record[columns.timestamp] ?? '';
  const parsedTime = parseTimestamp(timestampCell);
  if (typeof parsedTime === 'string') {
    const name = nameOf(columns, 'timestamp');
    return reject(line, name, timestampCell.trim().length === 0 ? `${name} is empty` : parsedTime);
  }

  const bidName = nameOf(columns, 'bid');
  const bidCell = (record[columns.bid] ?? '').trim();
  if (bidCell.length === 0) return reject(line, bidName, `${bidName} is empty`);
  const bid = nonNegativeDecimal(bidCell, bidName);
  if (typeof bid === 'string') return reject(line, bidName, bid);

  const askName = nameOf(columns, 'ask');
  const askCell = (record[columns.ask] ?? '').trim();
  if (askCell.length === 0) return reject(line, askName, `${askName} is empty`);
  const ask = nonNegativeDecimal(askCell, askName);
  if (typeof ask === 'string') return reject(line, askName, ask);

  const fields: QuoteFields = {
    ticker,
    timestamp: formatIsoTimestamp(parsedTime.micros, parsedTime.precision),
    bid: formatDecimal(bid),
    ask: formatDecimal(ask),
  };

  // Amounts are optional per row: an empty cell means "not given", not zero.
  if (columns.bidAmount !== undefined) {
    const cell = (record[columns.bidAmount] ?? '').trim();
    if (cell.length > 0) {
      const value = nonNegativeCanonical(cell, nameOf(columns, 'bidAmount'));
      if (typeof value === 'string') return reject(line, nameOf(columns, 'bidAmount'), value);
      fields.bidAmount = value.text;
    }
  }
  if (columns.askAmount !== undefined) {
    const cell = (record[columns.askAmount] ?? '').trim();
    if (cell.length > 0) {
      const value = nonNegativeCanonical(cell, nameOf(columns, 'askAmount'));
      if (typeof value === 'string') return reject(line, nameOf(columns, 'askAmount'), value);
      fields.askAmount = value.text;
    }
  }

  // Without a latency column every quote arrives at its timestamp (latency 0 for ordering),
  // and latencyMs stays absent so consumers can tell "not given" from "0 ms".
  let latencyUs = 0;
  if (columns.latency !== undefined) {
    const name = nameOf(columns, 'latency');
    const cell = (record[columns.latency] ?? '').trim();
    if (cell.length === 0) return reject(line, name, `${name} is empty`);
    const value = nonNegativeCanonical(cell, name);
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
    return reject(line, nameOf(columns, 'latency'), 'arrival time (timestamp + latency) is out of the supported range');
  }

  return {
    ok: true,
    line,
    fields,
    timestampUs: parsedTime.micros,
    arrivalUs,
    precision: parsedTime.precision,
    crossed: compareDecimal(bid, ask) > 0,
  };
}
