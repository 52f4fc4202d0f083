import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { processBatch, type BatchRecord } from '../../../lib/midprice/process-batch.ts';
import type { Quote } from '../../../lib/quotes/quote.ts';
import { encodeQuote } from '../../../lib/records/quote-record.ts';

function quote(overrides: Partial<Quote>): Quote {
  return {
    ticker: 'AAPL',
    timestamp: '2025-01-01T00:00:00.120Z',
    arrival: '2025-01-01T00:00:00.140Z',
    bid: '200',
    ask: '201',
    latencyMs: 20,
    mode: 'historical',
    source: 'hist:test',
    seq: 1,
    ...overrides,
  };
}

let nextId = 0;
function record(data: Uint8Array | string): BatchRecord {
  return { id: String(++nextId), partitionKey: 'AAPL', data: typeof data === 'string' ? Buffer.from(data) : data };
}

describe('processBatch', () => {
  it('writes the exact decimal mid with the quote timestamp', () => {
    const out = processBatch(
      [
        record(encodeQuote(quote({}))),
        record(encodeQuote(quote({ bid: '0.1', ask: '0.2', timestamp: '2025-01-01T00:00:01.000Z' }))),
        record(encodeQuote(quote({ bid: '100.07', ask: '100.08', timestamp: '2025-01-01T00:00:02.000123Z' }))),
      ],
      20,
    );
    assert.deepEqual(out.midLines, ['2025-01-01 00:00:00.120, 200.5', '2025-01-01 00:00:01.000, 0.15', '2025-01-01 00:00:02.000123, 100.075']);
    assert.deepEqual(out.errorLines, []);
  });

  it('turns historical quotes strictly over the threshold into error lines', () => {
    const out = processBatch(
      [
        record(encodeQuote(quote({ latencyMs: 20 }))),
        record(encodeQuote(quote({ latencyMs: 21, timestamp: '2025-01-01T00:00:00.500Z' }))),
        record(encodeQuote(quote({ latencyMs: 150, timestamp: '2025-01-01T00:00:00.700Z' }))),
      ],
      20,
    );
    assert.deepEqual(out.midLines, ['2025-01-01 00:00:00.120, 200.5']);
    assert.deepEqual(out.errorLines, [
      'No mid price at 2025-01-01 00:00:00.500 as latency 21ms is bigger than 20ms',
      'No mid price at 2025-01-01 00:00:00.700 as latency 150ms is bigger than 20ms',
    ]);
  });

  it('never filters live quotes, whatever their latency field says', () => {
    const out = processBatch([record(encodeQuote(quote({ mode: 'live', latencyMs: 500 })))], 20);
    assert.equal(out.midLines.length, 1);
    assert.equal(out.errorLines.length, 0);
  });

  it('uses the configured threshold', () => {
    const out = processBatch([record(encodeQuote(quote({ latencyMs: 60 })))], 50);
    assert.deepEqual(out.errorLines, ['No mid price at 2025-01-01 00:00:00.120 as latency 60ms is bigger than 50ms']);
  });

  it('dead-letters malformed records with the reason and keeps processing the rest', () => {
    const bad = [
      record('not json'),
      record(JSON.stringify({ v: 2 })),
      record(Buffer.from(JSON.stringify({ ...quote({}), v: 1, bid: 'abc' }))),
      record(Buffer.from(JSON.stringify({ ...quote({}), v: 1, mode: 'paper' }))),
      record(Buffer.from(JSON.stringify({ ...quote({}), v: 1, timestamp: 'yesterday' }))),
    ];
    const good = record(encodeQuote(quote({})));
    const out = processBatch([...bad, good], 20);
    assert.equal(out.deadLetters, 5);
    assert.equal(out.midLines.length, 1);
    const letters = out.deadLetterLines.map((l) => JSON.parse(l) as { sequenceNumber: string; reason: string; data: string });
    assert.match(letters[0]?.reason ?? '', /not JSON/);
    assert.match(letters[1]?.reason ?? '', /unsupported record version/);
    assert.match(letters[2]?.reason ?? '', /"bid" is not a decimal/);
    assert.match(letters[3]?.reason ?? '', /"mode"/);
    assert.match(letters[4]?.reason ?? '', /"timestamp"/);
    assert.equal(Buffer.from(letters[0]?.data ?? '', 'base64').toString(), 'not json');
    assert.equal(letters[0]?.sequenceNumber, bad[0]?.id);
  });
});
