import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveFormat } from '../../../lib/quotes/row-format.ts';
import type { RowResult } from '../../../lib/quotes/row.ts';
import { CsvColumnsError } from '../../../lib/quotes/columns.ts';

const TARDIS = 'exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount'.split(',');
const DATABENTO =
  'ts_recv,ts_event,rtype,publisher_id,instrument_id,action,side,depth,price,size,flags,ts_in_delta,sequence,bid_px_00,ask_px_00,bid_sz_00,ask_sz_00,bid_ct_00,ask_ct_00,symbol'.split(',');

function parse(header: string[], row: string): RowResult {
  return resolveFormat(header, 'f.csv').parse(row.split(','), 2);
}

function accepted(header: string[], row: string): Extract<RowResult, { ok: true }> {
  const result = parse(header, row);
  assert.ok(result.ok, JSON.stringify(result));
  return result;
}

function reason(header: string[], row: string): string {
  const result = parse(header, row);
  assert.ok(!result.ok, JSON.stringify(result));
  return result.reason;
}

describe('tardis.dev quotes', () => {
  it('is recognised by its header, whatever the column order', () => {
    assert.equal(resolveFormat(TARDIS, 'f.csv').name, 'tardis');
    assert.equal(resolveFormat([...TARDIS].reverse(), 'f.csv').name, 'tardis');
  });

  it('makes exchange:symbol the ticker, timestamp the time, local_timestamp the arrival, the difference the exact latency', () => {
    const row = accepted(TARDIS, 'binance-futures,BTCUSDT,1735689600012345,1735689600032346,3.5,94123.5,94123.4,1.25');
    assert.deepEqual(row.fields, {
      ticker: 'binance-futures:BTCUSDT',
      timestamp: '2025-01-01T00:00:00.012345Z',
      bid: '94123.4',
      ask: '94123.5',
      bidAmount: '1.25',
      askAmount: '3.5',
      latencyMs: 20.001,
    });
    assert.equal(row.arrivalUs, 1735689600032346);
    assert.equal(row.precision, 6);
  });

  it('rejects an empty side with its reason', () => {
    assert.equal(reason(TARDIS, 'okex-swap,BTC-USDT-SWAP,1735689600012345,1735689600032346,3.5,94123.5,,'), 'bid_price is empty (no bid in the book)');
    assert.equal(reason(TARDIS, 'okex-swap,BTC-USDT-SWAP,1735689600012345,1735689600032346,,,94123.4,1'), 'ask_price is empty (no ask in the book)');
  });

  it('rejects a receive time before the exchange time (negative latency)', () => {
    assert.match(reason(TARDIS, 'deribit,BTC-PERPETUAL,1735689600012345,1735689600010345,1,2,1,1'), /local_timestamp is 2 ms before timestamp \(negative latency/);
  });

  it('names a missing column of a recognised tardis header', () => {
    assert.throws(() => resolveFormat(TARDIS.filter((c) => c !== 'ask_price'), 'f.csv'), (e: unknown) => e instanceof CsvColumnsError && /tardis\.dev quotes file but has no "ask_price" column/.test(e.message));
  });
});

describe('Databento MBP-1 / BBO / TBBO', () => {
  const row = (bid: string, ask: string, recv = '1735689600000123456', event = '1735689600000100000', symbol = 'ESH5'): string =>
    `${recv},${event},1,1,5482,A,B,0,${bid},3,130,17000,1170,${bid},${ask},3,5,1,2,${symbol}`;

  it('reads ns integers and fixed-point prices exactly, latency to the ns', () => {
    const r = accepted(DATABENTO, row('5000250000000', '5000500000001'));
    assert.equal(r.fields.ticker, 'ESH5');
    assert.equal(r.fields.timestamp, '2025-01-01T00:00:00.000100000Z');
    assert.equal(r.fields.bid, '5000.25');
    assert.equal(r.fields.ask, '5000.500000001');
    assert.equal(r.fields.latencyMs, 0.023456);
    assert.equal(String(r.fields.latencyMs), '0.023456');
    assert.equal(r.arrivalUs, 1735689600000123);
    assert.equal(r.arrivalNanos, 456);
    assert.equal(r.precision, 9);
  });

  it('reads pretty_ts and pretty_px to the same values', () => {
    const pretty = accepted(DATABENTO, row('5000.250000000', '5000.500000001', '2025-01-01T00:00:00.000123456Z', '2025-01-01T00:00:00.000100000Z'));
    const raw = accepted(DATABENTO, row('5000250000000', '5000500000001'));
    assert.deepEqual(pretty.fields, raw.fields);
    assert.equal(pretty.arrivalNanos, raw.arrivalNanos);
  });

  it('rejects UNDEF_PRICE, raw or pretty (empty), with its reason', () => {
    assert.equal(reason(DATABENTO, row('9223372036854775807', '5000500000000')), 'bid_px_00 is UNDEF_PRICE (no bid)');
    assert.equal(reason(DATABENTO, row('5000.25', '')), 'ask_px_00 is empty (no ask: UNDEF_PRICE)');
  });

  it('rejects negative and zero prices', () => {
    assert.match(reason(DATABENTO, row('-250000000', '5000500000000')), /bid_px_00 "-250000000" is negative/);
    assert.match(reason(DATABENTO, row('0', '5000500000000')), /bid_px_00 "0" is zero/);
  });

  it('uses instrument_id as the ticker when there is no symbol column', () => {
    const header = DATABENTO.filter((c) => c !== 'symbol');
    const r = resolveFormat(header, 'f.csv').parse(row('1', '2').split(',').slice(0, -1), 2);
    assert.ok(r.ok);
    assert.equal(r.fields.ticker, '5482');
  });

  it('refuses a Databento header without the top-of-book columns (trades, MBO)', () => {
    assert.throws(() => resolveFormat(DATABENTO.filter((c) => !c.endsWith('_00')), 'f.csv'), /Databento file but has no "bid_px_00" column \(MBP-1, BBO and TBBO exports have it\)/);
  });
});

describe('plausibility', () => {
  const GENERIC = ['timestamp', 'ticker', 'bid', 'ask'];

  it('rejects zero prices, too many digits and too many decimals', () => {
    assert.equal(reason(GENERIC, '2025-01-01 00:00:00,A,0,1'), 'bid "0" is zero');
    assert.match(reason(GENERIC, `2025-01-01 00:00:00,A,1,${'9'.repeat(5000)}`), /^ask "9{40}…" has 5000 integer digits; at most 15 are accepted$/);
    assert.match(reason(GENERIC, '2025-01-01 00:00:00,A,0.0000000000001,1'), /has 13 decimal places; at most 12/);
    assert.match(reason(GENERIC, '2025-01-01 00:00:00,A,1e300,1'), /has 301 integer digits/);
    // Trailing zeros are not precision: they do not count.
    assert.equal(accepted(GENERIC, '2025-01-01 00:00:00,A,1.500000000000000000,2').fields.bid, '1.5');
  });

  it('flags a bid more than 10 times the ask as implausible, and keeps it', () => {
    const wild = accepted(GENERIC, '2025-01-01 00:00:00,A,101,10');
    assert.equal(wild.crossed, true);
    assert.equal(wild.implausible, true);
    const crossed = accepted(GENERIC, '2025-01-01 00:00:00,A,100,10');
    assert.equal(crossed.crossed, true);
    assert.equal(crossed.implausible, undefined);
  });

  it('restricts tickers to ASCII letters, digits and the documented punctuation', () => {
    for (const ticker of ['BRK.B', 'BTC-PERPETUAL', 'XBT/USD', 'ES_F', '^GSPC', 'AAPL  240119C00150000', 'binance-futures:BTCUSDT']) {
      assert.equal(accepted(GENERIC, `2025-01-01 00:00:00,${ticker},1,2`).fields.ticker, ticker);
    }
    assert.match(reason(GENERIC, '2025-01-01 00:00:00,AAPL\uFFFD,1,2'), /contains U\+FFFD \(bytes that were not valid UTF-8\)/);
    assert.match(reason(GENERIC, '2025-01-01 00:00:00,ÄPFEL,1,2'), /contains U\+00C4; tickers are ASCII letters/);
    assert.match(reason(GENERIC, '2025-01-01 00:00:00,A"B,1,2'), /contains "\\""/);
  });

  it('cuts long values in reasons', () => {
    const long = 'X'.repeat(500);
    assert.ok(reason(GENERIC, `2025-01-01 00:00:00,${long},1,2`).length < 120);
  });
});
