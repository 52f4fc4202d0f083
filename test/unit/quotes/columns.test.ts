import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CsvColumnsError, resolveColumns } from '../../../lib/quotes/columns.ts';
import { InputError } from '../../../lib/errors.ts';

const FILE = 'data/x.csv';

describe('resolveColumns', () => {
  it('maps the canonical header to column indexes and the header width', () => {
    const map = resolveColumns(['timestamp', 'ticker', 'bid_price', 'ask_price', 'bid_amount', 'ask_amount', 'latency'], FILE);
    assert.equal(map.timestamp, 0);
    assert.equal(map.ticker, 1);
    assert.equal(map.bid, 2);
    assert.equal(map.ask, 3);
    assert.equal(map.bidAmount, 4);
    assert.equal(map.askAmount, 5);
    assert.equal(map.latency, 6);
    assert.equal(map.width, 7);
  });

  it('accepts every alias, in any case and order, with surrounding whitespace', () => {
    const map = resolveColumns([' Latency_MS ', 'ASK', 'bid', 'Symbol', ' TS', 'bid_size', 'Ask_Size'], FILE);
    assert.deepEqual(
      [map.latency, map.ask, map.bid, map.ticker, map.timestamp, map.bidAmount, map.askAmount],
      [0, 1, 2, 3, 4, 5, 6],
    );
    assert.equal(resolveColumns(['time', 'instrument', 'bid', 'ask'], FILE).ticker, 1);
  });

  it('remembers the header names as written, for messages', () => {
    const map = resolveColumns(['TS', 'Symbol', 'bid', 'ask'], FILE);
    assert.deepEqual(map.names, { timestamp: 'TS', ticker: 'Symbol', bid: 'bid', ask: 'ask' });
  });

  it('ignores unknown extra columns but counts them in the width', () => {
    const map = resolveColumns(['exchange', 'timestamp', 'ticker', 'bid', 'ask', 'notes', ''], FILE);
    assert.equal(map.timestamp, 1);
    assert.equal(map.ask, 4);
    assert.equal(map.width, 7);
  });

  it('leaves optional columns undefined when absent', () => {
    const map = resolveColumns(['timestamp', 'ticker', 'bid', 'ask'], FILE);
    assert.equal(map.bidAmount, undefined);
    assert.equal(map.askAmount, undefined);
    assert.equal(map.latency, undefined);
    assert.equal('latency' in map, false);
  });

  it('ignores a byte order mark on the first header name', () => {
    assert.equal(resolveColumns(['\ufefftimestamp', 'ticker', 'bid', 'ask'], FILE).timestamp, 0);
  });

  it('names the missing required column, its accepted names and the header', () => {
    assert.throws(() => resolveColumns(['timestamp', 'ticker', 'ask'], FILE), {
      name: 'CsvColumnsError',
      message: 'data/x.csv: missing required column "bid" (accepted names: bid_price, bid); header is: timestamp,ticker,ask',
    });
  });

  it('names every missing required column at once', () => {
    assert.throws(() => resolveColumns(['a', 'b', 'c'], FILE), (err: unknown) => {
      assert.ok(err instanceof CsvColumnsError);
      assert.match(err.message, /^data\/x\.csv: missing required column "timestamp" \(accepted names: timestamp, ts, time\)/);
      for (const field of ['"ticker"', '"bid"', '"ask"']) assert.ok(err.message.includes(field), field);
      assert.ok(err.message.endsWith('; header is: a,b,c'));
      return true;
    });
  });

  it('refuses two columns that mean the same field', () => {
    assert.throws(() => resolveColumns(['timestamp', 'ticker', 'bid', 'bid_price', 'ask'], FILE), {
      name: 'CsvColumnsError',
      message: /^data\/x\.csv: ambiguous column "bid": header has both "bid" \(column 3\) and "bid_price" \(column 4\)/,
    });
    assert.throws(() => resolveColumns(['ts', 'time', 'ticker', 'bid', 'ask'], FILE), /ambiguous column "timestamp"/);
    assert.throws(() => resolveColumns(['timestamp', 'ticker', 'bid', 'ask', 'ASK'], FILE), /ambiguous column "ask"/);
  });

  it('throws an InputError subclass so callers can treat it as a bad input file', () => {
    assert.throws(() => resolveColumns([], FILE), (err: unknown) => err instanceof InputError && err instanceof CsvColumnsError);
  });
});
