/**
 * Several files replayed as one stream: merged by arrival, ties by file order then position,
 * one reorder window per file, filters applied before anything is buffered.
 */
import { SPLIT_BATCH_BYTES } from '../../../lib/quotes/csv-reader.ts';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { START_POSITION, type HistoricalPosition } from '../../../lib/replay/ack-tracker.ts';
import { HistoricalSource, scanCsv } from '../../../lib/replay/historical-source.ts';
import { MergedSource } from '../../../lib/replay/merged-source.ts';
import type { PacedQuote } from '../../../lib/replay/replay-source.ts';
import { DEFAULT_SELECTION, type Selection } from '../../../lib/replay/selection.ts';
import { mulberry32 } from '../../../data/generate.ts';
import { take } from '../../support/take.ts';
import { useTempDir } from '../../support/temp-dir.ts';

/** Rows with latencies up to 300 ms, so arrivals overtake each other, within and across files. */
function csv(rows: number, seed: number, ticker: string): string {
  const random = mulberry32(seed);
  const lines = ['timestamp,ticker,bid,ask,latency'];
  let t = Date.UTC(2025, 0, 1);
  for (let i = 0; i < rows; i++) {
    t += Math.floor(random() * 20);
    lines.push(`${new Date(t).toISOString()},${ticker}${i % 2},${i + 1},${i + 2},${Math.floor(random() * 300)}`);
  }
  return lines.join('\n') + '\n';
}


describe('MergedSource', () => {
  const tmp = useTempDir();

  async function sources(names: string[], selection: Selection = DEFAULT_SELECTION, starts: HistoricalPosition[] = []): Promise<MergedSource> {
    const files = await Promise.all(names.map(async (name) => scanCsv(tmp.join(name), { selection })));
    return new MergedSource(files.map((scan, i) => new HistoricalSource(scan, { selection, start: starts[i] ?? START_POSITION })));
  }

  it('emits the quotes of all files in arrival order, ties by file order then file position', async () => {
    await writeFile(tmp.join('a.csv'), csv(1_500, 1, 'A'));
    await writeFile(tmp.join('b.csv'), csv(1_500, 2, 'B'));
    // Same content under another name would be the same source: a third file with exact ties.
    await writeFile(tmp.join('c.csv'), 'timestamp,ticker,bid,ask,latency\n2025-01-01T00:00:00.000Z,C0,1,2,5\n2025-01-01T00:00:00.005Z,C1,1,2,0\n');
    const merged = await take(await sources(['a.csv', 'b.csv', 'c.csv']));
    assert.equal(merged.length, 3_002);
    const fileOf = (q: PacedQuote): number => (q.ticker.startsWith('A') ? 0 : q.ticker.startsWith('B') ? 1 : 2);
    for (let i = 1; i < merged.length; i++) {
      const a = merged[i - 1] as PacedQuote;
      const b = merged[i] as PacedQuote;
      const inOrder = a.arrivalUs < b.arrivalUs || (a.arrivalUs === b.arrivalUs && (fileOf(a) < fileOf(b) || (fileOf(a) === fileOf(b) && a.seq < b.seq)));
      assert.ok(inOrder, `quote ${i}: ${a.source}#${a.seq} @${a.arrivalUs} before ${b.source}#${b.seq} @${b.arrivalUs}`);
    }
    const c = merged.filter((q) => q.ticker.startsWith('C')).map((q) => q.ticker);
    assert.deepEqual(c, ['C0', 'C1'], 'equal arrivals in one file keep file order');
  });

  it('resumes every file from its own position: the rest of the merge is what an uninterrupted one would send', async () => {
    const full = (await take(await sources(['a.csv', 'b.csv']))).map((q) => `${q.source}#${q.seq}`);
    const first = await sources(['a.csv', 'b.csv']);
    const head = await take(first, 1_234);
    const random = mulberry32(5);
    // The last 100 sent are in flight: acknowledged or not, at random; not acknowledged ones come again.
    const acked = head.filter((_, i) => i < head.length - 100 || random() < 0.5);
    for (const q of acked) first.acknowledge(q.source, q.seq);
    const positions = first.files.map((f) => f.position());
    await first.close();
    const rest = (await take(await sources(['a.csv', 'b.csv'], DEFAULT_SELECTION, positions))).map((q) => `${q.source}#${q.seq}`);
    const ackedKeys = new Set(acked.map((q) => `${q.source}#${q.seq}`));
    assert.deepEqual(rest, full.filter((k) => !ackedKeys.has(k)));
  });

  it('filters on arrival window and tickers before anything is sent', async () => {
    const fromUs = (Date.UTC(2025, 0, 1) + 3_000) * 1000;
    const toUs = (Date.UTC(2025, 0, 1) + 9_000) * 1000;
    const selection: Selection = { ...DEFAULT_SELECTION, fromUs, toUs, tickers: new Set(['A1', 'B0']) };
    const all = await take(await sources(['a.csv', 'b.csv']));
    const expected = all.filter((q) => q.arrivalUs >= fromUs && q.arrivalUs < toUs && (q.ticker === 'A1' || q.ticker === 'B0')).map((q) => `${q.ticker}#${q.seq}`);
    const source = await sources(['a.csv', 'b.csv'], selection);
    assert.equal(source.total, expected.length, 'the progress total counts the selected quotes');
    assert.deepEqual((await take(source)).map((q) => `${q.ticker}#${q.seq}`), expected);
    assert.ok(expected.length > 10);
    // A selection is its own replay: its own source ids, so its own checkpoints.
    assert.notEqual(source.files[0]?.sourceId, (await sources(['a.csv'])).files[0]?.sourceId);
  });
});

describe('a row dated centuries away', () => {
  const tmp = useTempDir();

  it('is rejected, and the reorder window stays the file\'s own (memory flat)', async () => {
    const rows = 200_000;
    const lines = ['timestamp,ticker,bid,ask,latency'];
    const t0 = Date.UTC(2025, 0, 1);
    for (let i = 0; i < rows; i++) {
      if (i === 50_000) lines.push('1700-01-01T00:00:00.000Z,OLD,1,2,0');
      if (i === 120_000) lines.push('2250-01-01T00:00:00.000Z,FUTURE,1,2,0');
      lines.push(`${new Date(t0 + i).toISOString()},T,1,2,${i % 5}`);
    }
    await writeFile(tmp.join('centuries.csv'), lines.join('\n') + '\n');
    const scan = await scanCsv(tmp.join('centuries.csv'));
    assert.equal(scan.rejectedRows, 2);
    assert.equal(scan.disorderUs, 0, 'the outliers do not widen the window');
    const source = new HistoricalSource(scan);
    let count = 0;
    let peakBuffered = 0;
    for await (const quote of source) {
      count++;
      assert.notEqual(quote.ticker, 'OLD');
      assert.notEqual(quote.ticker, 'FUTURE');
      // Rows read and not yet emitted (the reorder buffer, the row the gate holds, and the rest of
      // the batch of rows read with this one, which the reader parses per 16 KiB of input): a
      // window of latencies up to 4 ms over rows 1 ms apart plus one read batch, never the file.
      peakBuffered = Math.max(peakBuffered, source.stats.read - source.stats.rejected - count);
    }
    assert.equal(count, rows);
    assert.equal(source.stats.rejected, 2);
    const shortestLine = lines.slice(1).reduce((min, line) => Math.min(min, line.length + 1), Infinity);
    const readBatch = Math.ceil(SPLIT_BATCH_BYTES / shortestLine);
    assert.ok(peakBuffered <= 10 + readBatch, `at most a few rows and one read batch (${readBatch} rows) buffered, got ${peakBuffered}`);
  });
});
