/**
 * The venue mappers on frames written from each venue's public documentation
 * (test/fixtures/venues/): what becomes ticker, timestamp, bid and ask, exactly, what is ignored,
 * what is rejected and why, and the sequence numbers each venue carries.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../../lib/logging/logger.ts';
import { SequenceCheck, type SequenceStats } from '../../../lib/live/sequence-check.ts';
import { JsonNumber, parseJsonText } from '../../../lib/live/venues/json-text.ts';
import type { VenueMessage } from '../../../lib/live/venues/venue.ts';
import { subscribeMessages, venueMapper } from '../../../lib/live/venues/venues.ts';

const RECEIVED = Date.UTC(2025, 0, 2, 14, 30, 0, 7);

function frames(name: string): string[] {
  const file = fileURLToPath(new URL(`../../fixtures/venues/${name}`, import.meta.url));
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
}

/** Each frame as `ticker timestamp bid ask [bidAmount askAmount]`, `ignored` or `rejected: reason`. */
function mapped(format: string, name: string): { lines: string[]; messages: VenueMessage[] } {
  const mapper = venueMapper(format);
  const messages = frames(name).map((f) => mapper.map(f, RECEIVED));
  const lines = messages.flatMap((m) => {
    if (m.kind === 'ignored') return ['ignored'];
    if (m.kind === 'rejected') return [`rejected: ${m.reason}`];
    return m.quotes.map(({ fields: f }) => [f.ticker, f.timestamp, f.bid, f.ask, f.bidAmount, f.askAmount].filter((x) => x !== undefined).join(' '));
  });
  return { lines, messages };
}

function gaps(messages: VenueMessage[]): SequenceStats {
  const stats: SequenceStats = { sequenceGaps: 0, missedMessages: 0, sequenceRegressions: 0 };
  const check = new SequenceCheck(stats, silentLogger);
  for (const m of messages) if (m.kind !== 'rejected' && m.sequence !== undefined) check.observe(m.sequence);
  return stats;
}

describe('binance bookTicker', () => {
  it('maps futures frames: s, b, a, stamped with T, the subscribe answer ignored', () => {
    assert.deepEqual(mapped('binance', 'binance-futures-bookticker.jsonl').lines, [
      'BTCUSDT 2025-01-02T14:00:00.123Z 94123.4 94123.5 1.25 0.8',
      'ignored',
      'BTCUSDT 2025-01-02T14:00:00.248Z 94123.4 94124.1 1.1 2',
      'BTCUSDT 2025-01-02T14:00:00.389Z 0.1 0.2 1 1',
    ]);
  });

  it('reads combined streams, falls back to E then to the receive time (spot), skips other events, rejects a zero bid', () => {
    const { lines, messages } = mapped('binance', 'binance-variants.jsonl');
    assert.deepEqual(lines, [
      'BNBUSDT 2019-09-09T07:34:20.891Z 25.3519 25.3652 31.21 40.66',
      'BNBUSDT 2019-09-09T07:34:20.895Z 25.3519 25.3652 31.21 40.66',
      'BNBUSDT 2025-01-02T14:30:00.007Z 25.3519 25.3652 31.21 40.66',
      'ignored',
      'rejected: field "b" "0" is zero',
    ]);
    // u: 400900217, then 400900216 (back), then 400900217 (repeat): two steps back, no gap counted.
    assert.deepEqual(gaps(messages), { sequenceGaps: 0, missedMessages: 0, sequenceRegressions: 2 });
  });

  it('counts no gap for u jumping ahead: update ids are not consecutive', () => {
    assert.deepEqual(gaps(mapped('binance', 'binance-futures-bookticker.jsonl').messages), { sequenceGaps: 0, missedMessages: 0, sequenceRegressions: 0 });
  });

  it('subscribes only when symbols are given (the URL names the stream otherwise)', () => {
    assert.deepEqual(subscribeMessages(venueMapper('binance'), undefined, 'wss://fstream.binance.com/ws/btcusdt@bookTicker'), []);
    assert.deepEqual(subscribeMessages(venueMapper('binance'), 'BTCUSDT,ETHUSDT', 'wss://fstream.binance.com/ws'), [
      '{"method":"SUBSCRIBE","params":["btcusdt@bookTicker","ethusdt@bookTicker"],"id":1}',
    ]);
  });
});

describe('coinbase ticker', () => {
  it('maps best_bid / best_ask of every ticker, stamped with the message timestamp (ns kept)', () => {
    assert.deepEqual(mapped('coinbase', 'coinbase-advanced-trade-ticker.jsonl').lines, [
      'ignored',
      'BTC-USD 2025-01-02T14:00:00.123456789Z 94123.4 94123.5 0.5 1.25',
      'ETH-USD 2025-01-02T14:00:00.123456789Z 3401.11 3401.12 10 7.5',
      'ignored',
      'BTC-USD 2025-01-02T14:00:01.500000001Z 0.1 0.2 1 1',
      'rejected: the venue reported an error: failure to subscribe',
    ]);
  });

  it('counts a sequence_num jump as a gap of the messages missed', () => {
    // 0, 1, 2, then 5: one gap, two messages missed.
    assert.deepEqual(gaps(mapped('coinbase', 'coinbase-advanced-trade-ticker.jsonl').messages), { sequenceGaps: 1, missedMessages: 2, sequenceRegressions: 0 });
  });

  it('subscribes to ticker and heartbeats, from the option or the URL fragment', () => {
    const expected = [
      '{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"ticker"}',
      '{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"heartbeats"}',
    ];
    assert.deepEqual(subscribeMessages(venueMapper('coinbase'), 'BTC-USD, ETH-USD', 'wss://advanced-trade-ws.coinbase.com'), expected);
    assert.deepEqual(subscribeMessages(venueMapper('coinbase'), undefined, 'wss://advanced-trade-ws.coinbase.com#BTC-USD,ETH-USD'), expected);
    assert.deepEqual(subscribeMessages(venueMapper('coinbase'), '{"type":"subscribe","product_ids":["X"],"channel":"ticker","jwt":"t"}', 'wss://h'), [
      '{"type":"subscribe","product_ids":["X"],"channel":"ticker","jwt":"t"}',
    ]);
  });
});

describe('kraken v2 ticker', () => {
  it('keeps the decimal text of JSON numbers exactly, stamps with the entry timestamp or the receive time', () => {
    assert.deepEqual(mapped('kraken', 'kraken-v2-ticker.jsonl').lines, [
      'ignored',
      'ignored',
      'ignored',
      'BTC/USD 2025-01-02T14:00:00.123456Z 94123.4 94123.5 0.5 1.25',
      'ALGO/USD 2025-01-02T14:30:00.007Z 0.10025 0.10035 740 740',
      'SHIB/USD 2025-01-02T14:00:02.000000Z 0.00001234 0.00001235 12345678.9 10000000',
      'rejected: the venue refused a request: Currency pair not supported',
    ]);
  });

  it('subscribes to ticker on best bid/offer changes', () => {
    assert.deepEqual(subscribeMessages(venueMapper('kraken'), 'BTC/USD', 'wss://ws.kraken.com/v2'), [
      '{"method":"subscribe","params":{"channel":"ticker","symbol":["BTC/USD"],"event_trigger":"bbo","snapshot":true}}',
    ]);
  });
});

describe('parseJsonText', () => {
  it('keeps number literals as text and parses the rest as JSON.parse does', () => {
    const value = parseJsonText('{"a":[1,-0.5e-7,"x\\u00e9"],"__proto__":{"b":true,"c":null},"d":0.1}') as Record<string, unknown>;
    const a = value.a as unknown[];
    assert.ok(a[0] instanceof JsonNumber && a[0].text === '1');
    assert.ok(a[1] instanceof JsonNumber && a[1].text === '-0.5e-7');
    assert.equal(a[2], 'xé');
    assert.deepEqual({ ...(value.__proto__ as object) }, { b: true, c: null });
    assert.equal(Object.getPrototypeOf(value), null);
    assert.equal((value.d as JsonNumber).text, '0.1');
  });

  it('refuses what JSON refuses, with the position', () => {
    for (const bad of ['{"a":01}', '{"a":.5}', '{"a":1,}', '[1 2]', '{"a":NaN}', '"unterminated', '{"a":1} x', '{a:1}', '[' .repeat(40) + ']'.repeat(40)]) {
      assert.throws(() => parseJsonText(bad), SyntaxError, bad);
    }
  });
});
