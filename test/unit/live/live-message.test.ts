import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeLiveMessage, parseLiveMessage, type LiveMessageResult } from '../../../lib/live/live-message.ts';
import type { QuoteFields } from '../../../lib/quotes/quote.ts';

const BASE = { ticker: 'AAPL', timestamp: '2025-01-02 14:32:00.027', bid: '243.12', ask: '243.14' };

function parse(message: unknown): LiveMessageResult {
  return parseLiveMessage(JSON.stringify(message));
}

function fields(message: unknown): QuoteFields {
  const result = parse(message);
  assert.ok(result.ok, `expected a valid message, got: ${result.ok ? '' : result.reason}`);
  return result.fields;
}

function reason(message: unknown): string {
  const result = typeof message === 'string' ? parseLiveMessage(message) : parse(message);
  assert.ok(!result.ok, 'expected a rejection');
  return result.reason;
}

void describe('parseLiveMessage', () => {
  void it('accepts a quote and normalises its timestamp to ISO UTC at the input precision', () => {
    const result = parse({ ...BASE, bidAmount: '2300', askAmount: '1800' });
    assert.deepEqual(result, {
      ok: true,
      crossed: false,
      fields: {
        ticker: 'AAPL',
        timestamp: '2025-01-02T14:32:00.027Z',
        bid: '243.12',
        ask: '243.14',
        bidAmount: '2300',
        askAmount: '1800',
      },
    });
  });

  void it('keeps microseconds, converts offsets to UTC and reads epoch timestamps', () => {
    assert.equal(fields({ ...BASE, timestamp: '2025-01-02T15:32:00.027123+01:00' }).timestamp, '2025-01-02T14:32:00.027123Z');
    assert.equal(fields({ ...BASE, timestamp: 1735828320027 }).timestamp, '2025-01-02T14:32:00.027Z');
    assert.equal(fields({ ...BASE, timestamp: '1735828320027' }).timestamp, '2025-01-02T14:32:00.027Z');
  });

  void it('never sets latencyMs, even when the message carries a latency', () => {
    assert.equal(fields({ ...BASE, latency: 5, latencyMs: 5 }).latencyMs, undefined);
  });

  void it('accepts the CSV aliases for every field', () => {
    const quote = fields({
      symbol: 'MSFT',
      ts: '2025-01-02 14:32:00',
      bid_price: '421.58',
      ask_price: '421.63',
      bid_amount: '300',
      ask_size: '400',
    });
    assert.deepEqual(quote, {
      ticker: 'MSFT',
      timestamp: '2025-01-02T14:32:00.000Z',
      bid: '421.58',
      ask: '421.63',
      bidAmount: '300',
      askAmount: '400',
    });
    assert.equal(fields({ ...BASE, ticker: undefined, instrument: 'X' }).ticker, 'X');
  });

  void it('accepts JSON numbers for prices and amounts, exactly as written', () => {
    const quote = fields({ ...BASE, bid: 0.1, ask: 0.2, bidAmount: 1500, askAmount: 2.5e3 });
    assert.equal(quote.bid, '0.1');
    assert.equal(quote.ask, '0.2');
    assert.equal(quote.bidAmount, '1500');
    assert.equal(quote.askAmount, '2500');
    assert.equal(fields({ ...BASE, bid: 1e-7 }).bid, '0.0000001');
    // The literal in the text, not a re-serialised double, is what JSON.parse rounds.
    assert.equal(parseLiveMessage('{"ticker":"A","timestamp":"2025-01-02 00:00:00","bid":243.12,"ask":243.140}').ok, true);
  });

  void it('canonicalises decimal strings like the CSV path does', () => {
    const quote = fields({ ...BASE, bid: ' 243.120 ', ask: '+2.4314e2', bidAmount: '0100' });
    assert.equal(quote.bid, '243.12');
    assert.equal(quote.ask, '243.14');
    assert.equal(quote.bidAmount, '100');
  });

  void it('ignores unknown fields', () => {
    assert.deepEqual(fields({ ...BASE, venue: 'XNAS', nested: { a: [1, 2] }, bid_exchange: null }), fields(BASE));
  });

  void it('treats null or empty amounts as not given', () => {
    const quote = fields({ ...BASE, bidAmount: null, askAmount: '' });
    assert.equal('bidAmount' in quote, false);
    assert.equal('askAmount' in quote, false);
  });

  void it('flags crossed quotes (bid > ask) but keeps them', () => {
    const result = parse({ ...BASE, bid: '10', ask: '9.99' });
    assert.equal(result.ok && result.crossed, true);
  });

  void it('rejects what is not a JSON object', () => {
    assert.match(reason('not json'), /^not valid JSON: /);
    assert.match(reason(''), /^not valid JSON: /);
    assert.equal(reason('[1,2]'), 'expected a JSON object, got an array');
    assert.equal(reason('null'), 'expected a JSON object, got null');
    assert.equal(reason('42'), 'expected a JSON object, got number');
    assert.equal(reason('"AAPL"'), 'expected a JSON object, got string');
  });

  void it('rejects missing required fields, naming them', () => {
    for (const field of ['ticker', 'timestamp', 'bid', 'ask'] as const) {
      const message: Record<string, unknown> = { ...BASE };
      delete message[field];
      assert.equal(reason(message), `field "${field}" is missing`);
    }
  });

  void it('rejects each wrong type with its reason', () => {
    assert.equal(reason({ ...BASE, ticker: 42 }), 'field "ticker" must be a string');
    assert.equal(reason({ ...BASE, ticker: null }), 'field "ticker" must be a string');
    assert.equal(reason({ ...BASE, timestamp: true }), 'field "timestamp" must be a timestamp string or an epoch number');
    assert.equal(reason({ ...BASE, timestamp: null }), 'field "timestamp" must be a timestamp string or an epoch number');
    assert.equal(reason({ ...BASE, bid: true }), 'field "bid" must be a decimal string');
    assert.equal(reason({ ...BASE, bid: null }), 'field "bid" must be a decimal string');
    assert.equal(reason({ ...BASE, ask: ['1'] }), 'field "ask" must be a decimal string');
    assert.equal(reason({ ...BASE, ask: { value: '1' } }), 'field "ask" must be a decimal string');
    assert.equal(reason({ ...BASE, bid_amount: false }), 'field "bid_amount" must be a decimal string');
    assert.equal(reason({ ...BASE, askAmount: {} }), 'field "askAmount" must be a decimal string');
  });

  void it('rejects bad values with the key the sender used', () => {
    assert.equal(reason({ ...BASE, ticker: '  ' }), 'field "ticker" is empty');
    assert.equal(reason({ ...BASE, ticker: 'X'.repeat(65) }), `field "ticker" "${'X'.repeat(40)}…" is longer than 64 characters`);
    assert.equal(fields({ ...BASE, ticker: 'X'.repeat(64) }).ticker.length, 64);
    assert.equal(reason({ ...BASE, symbol: 'A\u0000B', ticker: undefined }), 'field "symbol" "A\\u0000B" contains a control character');
    assert.equal(reason({ ...BASE, timestamp: '02/01/2025 10:00' }), 'field "timestamp": unsupported timestamp format "02/01/2025 10:00"');
    assert.match(reason({ ...BASE, ts: '2025-02-30 00:00:00', timestamp: undefined }), /^field "ts": invalid date/);
    assert.match(reason({ ...BASE, timestamp: -1 }), /^field "timestamp": unsupported timestamp format "-1"/);
    assert.equal(reason({ ...BASE, bid: '' }), 'field "bid" is empty');
    assert.equal(reason({ ...BASE, bid_price: 'abc', bid: undefined }), 'field "bid_price" "abc" is not a decimal number');
    assert.equal(reason({ ...BASE, ask: 'NaN' }), 'field "ask" "NaN" is not a decimal number');
  });

  void it('rejects negative and zero prices, negative amounts, and what the CSV formats refuse', () => {
    assert.equal(reason({ ...BASE, bid: '-0.01' }), 'field "bid" "-0.01" is negative');
    assert.equal(reason({ ...BASE, ask: -1 }), 'field "ask" "-1" is negative');
    assert.equal(reason({ ...BASE, askAmount: '-5' }), 'field "askAmount" "-5" is negative');
    assert.equal(reason({ ...BASE, bid: '-0' }), 'field "bid" "-0" is zero');
    assert.equal(reason({ ...BASE, bid: '1'.repeat(16) }), `field "bid" "${'1'.repeat(16)}" has 16 integer digits; at most 15 are accepted`);
    assert.match(reason({ ...BASE, ticker: 'BTC USD\uFFFD' }), /^field "ticker" "BTC USD\uFFFD" contains U\+FFFD/);
    assert.equal(fields({ ...BASE, askAmount: '-0' }).askAmount, '0');
  });

  void it('rejects a field given under two aliases', () => {
    assert.equal(reason({ ...BASE, bid_price: '243.12' }), 'fields "bid" and "bid_price" both given; send one');
    assert.equal(reason({ ...BASE, bid_amount: '1', bid_size: '1' }), 'fields "bid_amount" and "bid_size" both given; send one');
  });
});

void describe('encodeLiveMessage', () => {
  void it('writes prices as strings and drops latency; parse gives the fields back', () => {
    const quote: QuoteFields = {
      ticker: 'AAPL',
      timestamp: '2025-01-02T14:32:00.027123Z',
      bid: '0.1',
      ask: '0.2',
      askAmount: '1800',
      latencyMs: 4,
    };
    const text = encodeLiveMessage(quote);
    assert.equal(text, '{"ticker":"AAPL","timestamp":"2025-01-02T14:32:00.027123Z","bid":"0.1","ask":"0.2","askAmount":"1800"}');
    const { latencyMs: _dropped, ...expected } = quote;
    assert.deepEqual(fields(JSON.parse(text)), expected);
  });
});
