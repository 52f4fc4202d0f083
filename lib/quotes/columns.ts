/**
 * Header-driven column mapping: quotes are located by header name, not by position, so files
 * from different exporters (`bid` vs `bid_price`, extra columns, any order) all work.
 */
import { InputError } from '../errors.ts';

/** The quote fields a CSV column can feed. */
export type ColumnField = 'timestamp' | 'ticker' | 'bid' | 'ask' | 'bidAmount' | 'askAmount' | 'latency';

/** Indexes into a record for each field; `width` is the header length (a row must match it). */
export interface ColumnMap {
  timestamp: number;
  ticker: number;
  bid: number;
  ask: number;
  bidAmount?: number;
  askAmount?: number;
  latency?: number;
  width: number;
  /**
   * Header text as written (trimmed) for each mapped field, so row errors can say `bid_price`
   * when that is what the file calls it. Optional so that hand-built maps stay valid.
   */
  names?: Partial<Record<ColumnField, string>>;
}

/** Accepted header names per field (lower case), in the order shown in messages. */
export const COLUMN_ALIASES: Readonly<Record<ColumnField, readonly string[]>> = {
  timestamp: ['timestamp', 'ts', 'time'],
  ticker: ['ticker', 'symbol', 'instrument'],
  bid: ['bid_price', 'bid'],
  ask: ['ask_price', 'ask'],
  bidAmount: ['bid_amount', 'bid_size'],
  askAmount: ['ask_amount', 'ask_size'],
  latency: ['latency', 'latency_ms'],
};

const REQUIRED_FIELDS = ['timestamp', 'ticker', 'bid', 'ask'] as const;

/** Lower-case alias → field, built once from COLUMN_ALIASES. */
const FIELD_BY_ALIAS: ReadonlyMap<string, ColumnField> = new Map(
  (Object.entries(COLUMN_ALIASES) as [ColumnField, readonly string[]][]).flatMap(([field, aliases]) =>
    aliases.map((alias): [string, ColumnField] => [alias, field]),
  ),
);

/** The name a field goes by in messages: the key users think in (`bid`), not our camelCase. */
const FIELD_LABEL: Readonly<Record<ColumnField, string>> = {
  timestamp: 'timestamp',
  ticker: 'ticker',
  bid: 'bid',
  ask: 'ask',
  bidAmount: 'bid_amount',
  askAmount: 'ask_amount',
  latency: 'latency',
};

/** Keeps a pathological header (thousands of columns) from producing a megabyte-long message. */
const MAX_HEADER_IN_MESSAGE = 200;

/** The header cannot be mapped to quote fields: a required column is missing or ambiguous. */
export class CsvColumnsError extends InputError {}

function describeHeader(header: readonly string[]): string {
  const text = header.join(',');
  return text.length > MAX_HEADER_IN_MESSAGE ? text.slice(0, MAX_HEADER_IN_MESSAGE) + '…' : text;
}

/**
 * Maps a header row to column indexes. Names are matched case-insensitively after trimming
 * (a leading UTF-8 BOM on the first name is ignored too); unknown columns are ignored.
 * Throws CsvColumnsError naming the file when a required column is missing or when two header
 * cells map to the same field (e.g. both `bid` and `bid_price`): guessing which one is meant
 * would silently replay the wrong prices.
 */
export function resolveColumns(header: string[], file: string): ColumnMap {
  const found: Partial<Record<ColumnField, number>> = {};
  const names: Partial<Record<ColumnField, string>> = {};
  for (let i = 0; i < header.length; i++) {
    let name = (header[i] ?? '').trim();
    if (i === 0 && name.charCodeAt(0) === 0xfeff) name = name.slice(1).trim();
    const field = FIELD_BY_ALIAS.get(name.toLowerCase());
    if (field === undefined) continue;
    const previous = found[field];
    if (previous !== undefined) {
      throw new CsvColumnsError(
        `${file}: ambiguous column "${FIELD_LABEL[field]}": header has both ${JSON.stringify(names[field])} ` +
          `(column ${previous + 1}) and ${JSON.stringify(name)} (column ${i + 1}); keep one`,
        { file, field, columns: [previous + 1, i + 1] },
      );
    }
    found[field] = i;
    names[field] = name;
  }

  const missing = REQUIRED_FIELDS.filter((field) => found[field] === undefined);
  if (missing.length > 0) {
    const parts = missing.map(
      (field) => `column "${FIELD_LABEL[field]}" (accepted names: ${COLUMN_ALIASES[field].join(', ')})`,
    );
    throw new CsvColumnsError(
      `${file}: missing required ${parts.join(' and ')}; header is: ${describeHeader(header)}`,
      { file, missing },
    );
  }

  const { timestamp, ticker, bid, ask, bidAmount, askAmount, latency } = found;
  // The missing-check above guarantees the required four; this narrows the types without `!`.
  if (timestamp === undefined || ticker === undefined || bid === undefined || ask === undefined) {
    throw new Error('unreachable: required columns were checked');
  }
  const map: ColumnMap = { timestamp, ticker, bid, ask, width: header.length, names };
  if (bidAmount !== undefined) map.bidAmount = bidAmount;
  if (askAmount !== undefined) map.askAmount = askAmount;
  if (latency !== undefined) map.latency = latency;
  return map;
}
