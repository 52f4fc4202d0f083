/**
 * HistoricalSource's iterator (one settled promise per quote, served from the batch of rows the
 * reorder buffer released): the same quotes in the same order however `next` is called, a stop
 * after close() at the quote in progress, and the rows released but not handed out still pending.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { HistoricalSource, scanCsv } from '../../../lib/replay/historical-source.ts';
import type { PacedQuote } from '../../../lib/replay/replay-source.ts';
import { mulberry32 } from '../../../data/generate.ts';
import { take } from '../../support/take.ts';
import { useTempDir } from '../../support/temp-dir.ts';

/** Rows that overtake each other (latency up to 300 ms): the buffer releases them in uneven batches. */
function csv(rows: number, seed: number): string {
  const random = mulberry32(seed);
  const lines = ['timestamp,ticker,bid,ask,latency'];
  let t = Date.UTC(2025, 0, 1);
  for (let i = 0; i < rows; i++) {
    t += Math.floor(random() * 40);
    lines.push(`${new Date(t).toISOString()},T${i % 3},${i}.5,${i + 1},${Math.floor(random() * 300)}`);
  }
  return lines.join('\n') + '\n';
}

describe('historical source iterator', () => {
  const tmp = useTempDir();

  it('gives the same quotes in the same order when next() is called again before the last call settled', async () => {
    const file = tmp.join('eager.csv');
    await writeFile(file, csv(3_000, 11));
    const scan = await scanCsv(file);
    const expected = (await take(new HistoricalSource(scan))).map((q) => q.seq);
    const iterator = new HistoricalSource(scan)[Symbol.asyncIterator]();
    const seqs: number[] = [];
    for (;;) {
      // Bursts of calls, none awaited before the next one is made.
      const results = await Promise.all(Array.from({ length: 37 }, () => iterator.next()));
      for (const result of results) if (result.done !== true) seqs.push(result.value.seq);
      if (results.some((result) => result.done === true)) break;
    }
    assert.deepEqual(seqs, expected);
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
  });

  it('stops after close() and leaves every quote not handed out to the next session', async () => {
    const file = tmp.join('close.csv');
    await writeFile(file, csv(2_000, 12));
    const scan = await scanCsv(file);
    const expected = (await take(new HistoricalSource(scan))).map((q) => q.seq);
    const source = new HistoricalSource(scan);
    const iterator = source[Symbol.asyncIterator]();
    const handed: PacedQuote[] = [];
    // Stop in the middle of a batch the reorder buffer released (not at a read boundary).
    for (let i = 0; i < 777; i++) {
      const result = await iterator.next();
      assert.notEqual(result.done, true);
      handed.push(result.value as PacedQuote);
    }
    await source.close();
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
    assert.equal(source.stats.emitted, handed.length);
    for (const quote of handed) source.acknowledge(quote.source, quote.seq);
    const rest = (await take(new HistoricalSource(scan, { start: source.position() }))).map((q) => q.seq);
    assert.deepEqual([...handed.map((q) => q.seq), ...rest], expected);
  });
});
