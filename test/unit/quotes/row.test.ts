import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveColumns } from '../../../lib/quotes/columns.ts';
import type { ColumnMap } from '../../../lib/quotes/columns.ts';
import { parseRow } from '../../../lib/quotes/row.ts';
import type { RowResult } from '../../../lib/quotes/row.ts';

/** 2025-01-01T00:00:00Z in epoch µs. */
const NEW_YEAR_2025_US = 1_735_689_600_000_000;

const FULL = resolveColumns(['timestamp', 'ticker', 'bid_price', 'ask_price', 'bid_amount', 'ask_amount', 'latency_ms'], 'f.csv');
const MINIMAL = resolveColumns(['ts', 'symbol', 'bid', 'ask'], 'f.csv');

type Accepted = Extract<RowResult, { ok: true }>;
type Rejected = Extract<RowResult, { ok: false }>;

/** A full row with one or more cells replaced. */
function row(overrides: Partial<Record<'timestamp' | 'ticker' | 'bid' | 'ask' | 'bidAmount' | 'askAmount' | 'latency', string>> = {}): string[] {
  const cells = {
    timestamp: '2025-01-01 00:00:00.120',
    ticker: 'AAPL',
    bid: '101.50',
    ask: '101.52',
    bidAmount: '100',
    askAmount: '200',
    latency: '5',
    ...overrides,
  };
  return [cells.timestamp, cells.ticker, cells.bid, cells.ask, cells.bidAmount, cells.askAmount, cells.latency];
}

function accepted(record: string[], columns: ColumnMap = FULL): Accepted {
  const result = parseRow(record, columns, 7);
  assert.ok(result.ok, `expected acceptance, got ${JSON.stringify(result)}`);
  return result;
}

function rejected(record: string[], columns: ColumnMap = FULL): Rejected {
  const result = parseRow(record, columns, 7);
  assert.ok(!result.ok, `expected rejection, got ${JSON.stringify(result)}`);
  return result;
}

describe('parseRow: accepted rows', () => {
  it('turns a full row into canonical quote fields with its line, times and precision', () => {
    assert.deepEqual(parseRow(row(), FULL, 7), {
      ok: true,
      line: 7,
      fields: {
        ticker: 'AAPL',
        timestamp: '2025-01-01T00:00:00.120Z',
        bid: '101.5',
        ask: '101.52',
        bidAmount: '100',
        askAmount: '200',
        latencyMs: 5,
      },
      timestampUs: NEW_YEAR_2025_US + 120_000,
      arrivalUs: NEW_YEAR_2025_US + 125_000,
      precision: 3,
      crossed: false,
    });
  });

  it('keeps microsecond precision in the stored timestamp', () => {
    const result = accepted(row({ timestamp: '2025-01-01T00:00:00.123456Z' }));
    assert.equal(result.fields.timestamp, '2025-01-01T00:00:00.123456Z');
    assert.equal(result.precision, 6);
  });

  it('stores prices in canonical form, whatever the notation', () => {
    const result = accepted(row({ bid: ' 1.5e2 ', ask: '00150.10' }));
    assert.equal(result.fields.bid, '150');
    assert.equal(result.fields.ask, '150.1');
  });

  it('stores a -0 amount as 0', () => {
    assert.equal(accepted(row({ bidAmount: '-0' })).fields.bidAmount, '0');
  });

  it('flags a crossed quote (bid above ask) but keeps it', () => {
    const result = accepted(row({ bid: '101.53', ask: '101.52' }));
    assert.equal(result.crossed, true);
    assert.equal(accepted(row({ bid: '101.520', ask: '101.52' })).crossed, false);
  });

  it('trims the ticker and accepts exactly 64 characters', () => {
    assert.equal(accepted(row({ ticker: '  MSFT ' })).fields.ticker, 'MSFT');
    assert.equal(accepted(row({ ticker: 'X'.repeat(64) })).fields.ticker.length, 64);
  });

  it('omits amounts whose cell is empty', () => {
    const result = accepted(row({ bidAmount: '', askAmount: '  ' }));
    assert.equal('bidAmount' in result.fields, false);
    assert.equal('askAmount' in result.fields, false);
  });

  it('stores amounts in canonical form', () => {
    const result = accepted(row({ bidAmount: '10.50', askAmount: '2e3' }));
    assert.equal(result.fields.bidAmount, '10.5');
    assert.equal(result.fields.askAmount, '2000');
  });

  it('computes arrival from latency in exact microseconds', () => {
    const base = NEW_YEAR_2025_US + 120_000;
    assert.equal(accepted(row({ latency: '0.001' })).arrivalUs, base + 1);
    assert.equal(accepted(row({ latency: '120' })).arrivalUs, base + 120_000);
    // 4.35 * 1000 is 4349.999999999999 in doubles; the decimal digits give 4350 exactly.
    assert.equal(accepted(row({ latency: '4.35' })).arrivalUs, base + 4_350);
    assert.equal(accepted(row({ latency: '0.0010' })).arrivalUs, base + 1);
    assert.equal(accepted(row({ latency: '1.5e1' })).arrivalUs, base + 15_000);
    assert.equal(accepted(row({ latency: '0' })).arrivalUs, base);
  });

  it('stores latency as a number of milliseconds', () => {
    assert.equal(accepted(row({ latency: '4.35' })).fields.latencyMs, 4.35);
    assert.equal(accepted(row({ latency: '0.001' })).fields.latencyMs, 0.001);
  });

  it('accepts latency finer than 1 µs, rounding arrival half-up to whole µs', () => {
    const base = NEW_YEAR_2025_US + 120_000;
    assert.equal(accepted(row({ latency: '0.0004' })).arrivalUs, base);
    assert.equal(accepted(row({ latency: '0.0005' })).arrivalUs, base + 1);
    assert.equal(accepted(row({ latency: '0.00049999999' })).arrivalUs, base);
    assert.equal(accepted(row({ latency: '12.3456' })).arrivalUs, base + 12_346);
    assert.equal(accepted(row({ latency: '12.3454999' })).arrivalUs, base + 12_345);
    assert.equal(accepted(row({ latency: '0.9995' })).arrivalUs, base + 1_000);
    assert.equal(accepted(row({ latency: '1.23e-4' })).arrivalUs, base);
    assert.equal(accepted(row({ latency: '5e-4' })).arrivalUs, base + 1);
    assert.equal(accepted(row({ latency: '86399999.9999' })).arrivalUs, base + 86_400_000_000);
  });

  it('keeps latencyMs as the value as written, not the rounded one', () => {
    assert.equal(accepted(row({ latency: '12.3456' })).fields.latencyMs, 12.3456);
    assert.equal(accepted(row({ latency: '0.0004' })).fields.latencyMs, 0.0004);
    assert.equal(accepted(row({ latency: '20.0001' })).fields.latencyMs, 20.0001);
    assert.equal(accepted(row({ latency: '1.23e-4' })).fields.latencyMs, 0.000123);
    assert.equal(accepted(row({ latency: '12.34560' })).fields.latencyMs, 12.3456);
  });

  it('accepts a latency of exactly one day', () => {
    assert.equal(accepted(row({ latency: '86400000' })).fields.latencyMs, 86_400_000);
  });

  it('without a latency column, arrives at its timestamp and leaves latencyMs absent', () => {
    const result = accepted(['2025-01-01 00:00:00.120', 'AAPL', '1', '2'], MINIMAL);
    assert.equal(result.arrivalUs, result.timestampUs);
    assert.equal('latencyMs' in result.fields, false);
    assert.equal('bidAmount' in result.fields, false);
  });
});

describe('parseRow: rejected rows', () => {
  it('rejects a row with fewer or more fields than the header, with its line', () => {
    assert.deepEqual(parseRow(row().slice(0, 6), FULL, 9), { ok: false, line: 9, reason: 'expected 7 fields, got 6' });
    assert.equal(rejected([...row(), 'extra']).reason, 'expected 7 fields, got 8');
  });

  it('rejects an empty ticker, naming the column as the header does', () => {
    assert.deepEqual(rejected(['2025-01-01 00:00:00', '  ', '1', '2'], MINIMAL), {
      ok: false,
      line: 7,
      field: 'symbol',
      reason: 'symbol is empty',
    });
  });

  it('rejects a ticker longer than 64 characters', () => {
    assert.match(rejected(row({ ticker: 'X'.repeat(65) })).reason, /^ticker "X+…" is longer than 64 characters$/);
  });

  it('rejects a ticker with control characters', () => {
    for (const ticker of ['AB\tC', 'AB\u0000', 'A\nB', 'A\u007fB', 'A\u0085B']) {
      assert.match(rejected(row({ ticker })).reason, /contains a control character/, JSON.stringify(ticker));
    }
  });

  it('rejects a bad timestamp with the parser reason', () => {
    const result = rejected(row({ timestamp: '2025-02-30 00:00:00' }));
    assert.equal(result.field, 'timestamp');
    assert.match(result.reason, /^invalid date "2025-02-30 00:00:00"/);
    assert.equal(rejected(row({ timestamp: '' })).reason, 'timestamp is empty');
    assert.equal(rejected(['', 'A', '1', '2'], MINIMAL).reason, 'ts is empty');
  });

  it('rejects prices that are not decimal numbers', () => {
    assert.deepEqual(rejected(row({ bid: 'abc' })), {
      ok: false,
      line: 7,
      field: 'bid_price',
      reason: 'bid_price "abc" is not a decimal number',
    });
    assert.equal(rejected(row({ ask: '1,5' })).reason, 'ask_price "1,5" is not a decimal number');
    assert.equal(rejected(row({ bid: 'NaN' })).reason, 'bid_price "NaN" is not a decimal number');
  });

  it('rejects empty prices', () => {
    assert.equal(rejected(row({ ask: '' })).reason, 'ask_price is empty');
    assert.equal(rejected(['2025-01-01 00:00:00', 'A', ' ', '2'], MINIMAL).reason, 'bid is empty');
  });

  it('rejects negative prices', () => {
    assert.equal(rejected(row({ bid: '-1' })).reason, 'bid_price "-1" is negative');
    assert.equal(rejected(row({ ask: '-0.01' })).reason, 'ask_price "-0.01" is negative');
  });

  it('rejects amounts that are negative or not numbers', () => {
    assert.equal(rejected(row({ bidAmount: '-5' })).reason, 'bid_amount "-5" is negative');
    assert.equal(rejected(row({ askAmount: 'lots' })).reason, 'ask_amount "lots" is not a decimal number');
  });

  it('requires latency when the column exists', () => {
    assert.equal(rejected(row({ latency: '' })).reason, 'latency_ms is empty');
  });

  it('rejects latency that is negative, not a number, infinite or beyond one day', () => {
    assert.equal(rejected(row({ latency: '-1' })).reason, 'latency_ms "-1" is negative');
    assert.equal(rejected(row({ latency: 'fast' })).reason, 'latency_ms "fast" is not a decimal number');
    assert.match(rejected(row({ latency: '86400000.001' })).reason, /exceeds 86400000 ms/);
    assert.match(rejected(row({ latency: '90000000' })).reason, /exceeds 86400000 ms/);
    assert.match(rejected(row({ latency: '1e100' })).reason, /exceeds 86400000 ms/);
    assert.match(rejected(row({ latency: '86400000.0001' })).reason, /exceeds 86400000 ms/);
    assert.equal(rejected(row({ latency: '-0.0005' })).reason, 'latency_ms "-0.0005" is negative');
    assert.equal(rejected(row({ latency: 'NaN' })).reason, 'latency_ms "NaN" is not a decimal number');
    assert.equal(rejected(row({ latency: 'Infinity' })).reason, 'latency_ms "Infinity" is not a decimal number');
    assert.equal(rejected(row({ latency: '1.2.3' })).reason, 'latency_ms "1.2.3" is not a decimal number');
    assert.equal(rejected(row({ latency: '0x10' })).reason, 'latency_ms "0x10" is not a decimal number');
  });

  it('reports the first failing field only', () => {
    assert.equal(rejected(row({ bid: 'x', ask: 'y' })).field, 'bid_price');
  });

  it('cuts long values in messages', () => {
    const reason = rejected(row({ bid: '9'.repeat(500) + 'x' })).reason;
    assert.ok(reason.length < 100, reason);
    assert.match(reason, /…" is not a decimal number$/);
  });

  it('works with a hand-built column map without names', () => {
    const columns: ColumnMap = { timestamp: 0, ticker: 1, bid: 2, ask: 3, width: 4 };
    assert.equal(rejected(['2025-01-01 00:00:00', 'A', 'x', '2'], columns).reason, 'bid_price "x" is not a decimal number');
    assert.equal(accepted(['2025-01-01 00:00:00', 'A', '1', '2'], columns).fields.ask, '2');
  });
});
