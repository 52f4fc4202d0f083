import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeQuote, encodeQuote, RecordDecodeError } from '../../../lib/records/quote-record.ts';
import type { Quote } from '../../../lib/quotes/quote.ts';

const BASE: Quote = {
  mode: 'historical',
  source: 'hist:0123456789abcdef',
  seq: 7,
  ticker: 'BRK.B',
  timestamp: '2025-01-02T14:30:00.003Z',
  arrival: '2025-01-02T14:30:00.029Z',
  bid: '421.6',
  ask: '421.64',
  bidAmount: '600',
  askAmount: '1100',
  latencyMs: 26,
};

/** What encodeQuote wrote when it was JSON.stringify of an object: the record contract. */
function reference(quote: Quote, run?: string): string {
  const { mode, source, seq, ticker, timestamp, arrival, bid, ask, bidAmount, askAmount, latencyMs } = quote;
  return JSON.stringify({ v: 1, run, mode, source, seq, ticker, timestamp, arrival, bid, ask, bidAmount, askAmount, latencyMs });
}

describe('encodeQuote', () => {
  it('writes exactly JSON.stringify of the record object, escapes and absent fields included', () => {
    const variants: Array<[Quote, string | undefined]> = [
      [BASE, undefined],
      [BASE, 'bench'],
      [{ ...BASE, bidAmount: undefined, askAmount: undefined, latencyMs: undefined }, 'r"un\\'],
      [{ ...BASE, ticker: 'A"B\\C\n\u0001\u001f', source: 'live:é€😀' }, undefined],
      [{ ...BASE, ticker: 'lone \ud800 surrogate \udfff', latencyMs: 0.1 }, 'x'],
      [{ ...BASE, latencyMs: Number.NaN }, undefined],
      [{ ...BASE, seq: 2 ** 53 - 1, latencyMs: 1e21 }, ''],
    ];
    for (const [quote, run] of variants) {
      assert.equal(Buffer.from(encodeQuote(quote, { run })).toString('utf8'), reference(quote, run));
    }
  });

  it('round-trips through decodeQuote', () => {
    const { quote, time } = decodeQuote(encodeQuote(BASE, { run: 'r' }));
    assert.deepEqual(quote, BASE);
    assert.deepEqual(time, { micros: Date.UTC(2025, 0, 2, 14, 30, 0, 3) * 1000, precision: 3 });
  });
});

describe('decodeQuote', () => {
  function decodeWith(changes: Record<string, unknown>): () => unknown {
    return () => decodeQuote(Buffer.from(JSON.stringify({ v: 1, ...BASE, ...changes })));
  }

  it('still rejects decimals that are not plain digits when they are not decimal numbers or negative', () => {
    assert.throws(decodeWith({ bid: '-1.5' }), (e: unknown) => e instanceof RecordDecodeError && e.reason === 'field "bid" is negative: "-1.5"');
    assert.throws(decodeWith({ ask: '1.2.3' }), (e: unknown) => e instanceof RecordDecodeError && e.reason === 'field "ask" is not a decimal number: "1.2.3"');
    assert.throws(decodeWith({ bidAmount: '.' }), (e: unknown) => e instanceof RecordDecodeError && e.reason === 'field "bidAmount" is not a decimal number: "."');
    assert.throws(decodeWith({ askAmount: 5 }), (e: unknown) => e instanceof RecordDecodeError && e.reason === 'field "askAmount" must be a decimal string');
    assert.doesNotThrow(decodeWith({ bid: '1.5e2', ask: '+2', bidAmount: '-0' }));
  });

  it('still rejects malformed timestamps, including in the second it caches', () => {
    assert.doesNotThrow(decodeWith({ timestamp: '2025-01-02T14:30:00.004Z' }));
    assert.throws(decodeWith({ timestamp: '2025-01-02T14:30:00.Z' }), RecordDecodeError);
    assert.throws(decodeWith({ timestamp: '2025-01-02T14:30:00.0040000000Z' }), RecordDecodeError);
    assert.throws(decodeWith({ arrival: '2025-02-30T14:30:00.004Z' }), RecordDecodeError);
    assert.throws(decodeWith({ arrival: '2025-01-02T14:30:00.004ZZ' }), RecordDecodeError);
  });
});
