import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeQuote } from '../../../lib/records/quote-record.ts';
import type { Quote } from '../../../lib/quotes/quote.ts';
import { pick, seededRandom } from '../../support/seeded-random.ts';

/** What encodeQuote must write: JSON.stringify of the record object (the record contract). */
function reference(quote: Quote, run?: string): string {
  const { mode, source, seq, ticker, timestamp, arrival, bid, ask, bidAmount, askAmount, latencyMs } = quote;
  return JSON.stringify({ v: 1, run, mode, source, seq, ticker, timestamp, arrival, bid, ask, bidAmount, askAmount, latencyMs });
}

describe('encodeQuote: plain records written byte by byte', () => {
  it('writes JSON.stringify of the record for plain and odd quotes alike, across slab boundaries, leaving earlier records intact', () => {
    const random = seededRandom(5);
    const written: Array<[Uint8Array, string]> = [];
    for (let i = 0; i < 5_000; i++) {
      const quote: Quote = {
        mode: pick(random, ['historical', 'live'] as const),
        source: pick(random, ['hist:0123456789abcdef', 'hist:0123456789abcdef', 'live:é', 'a"b']),
        seq: pick(random, [1, 9, 10, 99, 100, 123456789, 2 ** 53 - 1, 2 ** 53 - 2, 1e15 + 9, 0.5, -1]),
        ticker: pick(random, ['MSFT', 'BRK.B', 'x'.repeat(300), 'é', 'A"B', 'tab\t', '~', ' ', '\u007f']),
        timestamp: '2025-01-02T14:30:00.003Z',
        arrival: pick(random, ['2025-01-02T14:30:00.029Z', '2025-01-02T14:30:00.029123456Z']),
        bid: pick(random, ['421.6', '0.15', '7']),
        ask: pick(random, ['421.64', '1e3', '\\']),
      };
      if (random() < 0.7) quote.bidAmount = pick(random, ['600', '0.5']);
      if (random() < 0.7) quote.askAmount = pick(random, ['1100', '']);
      if (random() < 0.8) quote.latencyMs = pick(random, [0, 7, 26, 150, 99999, 2 ** 53 - 1, 0.1, 1e21, Number.NaN]);
      const run = pick(random, [undefined, 'bench', 'r"un', 'ü']);
      const data = encodeQuote(quote, { run });
      const expected = reference(quote, run);
      assert.equal(Buffer.from(data).toString('utf8'), expected);
      written.push([data, expected]);
    }
    // Every record still holds its own bytes after all the later ones were written.
    for (const [data, expected] of written) assert.equal(Buffer.from(data).toString('utf8'), expected);
    // Both ways were taken: records in the writer's 64 KiB slabs, and text-built ones (Node's 8 KiB pool or their own).
    const inSlabs = written.filter(([data]) => data.buffer.byteLength === 64 * 1024).length;
    assert.ok(inSlabs > 500 && inSlabs < written.length - 500, `${inSlabs} of ${written.length} in slabs`);
  });
});
