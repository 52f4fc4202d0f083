/**
 * Resuming a historical replay from a checkpoint: nothing acknowledged is emitted again, nothing
 * is lost, and the order of what remains is the order a full replay would have used.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { AckTracker, START_POSITION, type HistoricalPosition } from '../../../lib/replay/ack-tracker.ts';
import { HistoricalSource, scanCsv, type CsvScan } from '../../../lib/replay/historical-source.ts';
import { mulberry32 } from '../../../data/generate.ts';
import { take } from '../../support/take.ts';
import { useTempDir } from '../../support/temp-dir.ts';

/** A CSV whose rows overtake each other (latency up to 300 ms), with a few bad rows. */
function csv(rows: number, seed: number, sorted: boolean): string {
  const random = mulberry32(seed);
  const lines = ['timestamp,ticker,bid,ask,latency'];
  let t = Date.UTC(2025, 0, 1);
  for (let i = 0; i < rows; i++) {
    t += Math.floor(random() * 40);
    const ts = sorted ? t : t + Math.floor(random() * 200) - 100;
    if (i % 97 === 13) lines.push(`${new Date(ts).toISOString()},T${i % 3},oops,2,1`);
    else lines.push(`${new Date(ts).toISOString()},T${i % 3},${i}.5,${i + 1},${Math.floor(random() * 300)}`);
  }
  return lines.join('\n') + '\n';
}


describe('historical resume', () => {
  const tmp = useTempDir();

  for (const sorted of [true, false]) {
    it(`resumes after a partial, out-of-order acknowledgement without loss or repeats (${sorted ? 'sorted' : 'unsorted'} input)`, async () => {
      const file = tmp.join(`q-${String(sorted)}.csv`);
      await writeFile(file, csv(3_000, sorted ? 7 : 8, sorted));
      const scan: CsvScan = await scanCsv(file);
      const full = (await take(new HistoricalSource(scan))).map((q) => q.seq);
      const random = mulberry32(99);

      // Several sessions, each stopping at a random point with a random subset of its tail unacknowledged.
      let position: HistoricalPosition = START_POSITION;
      const delivered: number[] = [];
      for (let session = 0; session < 20 && !position.completed; session++) {
        const source = new HistoricalSource(scan, { start: position });
        const count = 1 + Math.floor(random() * 400);
        const emitted = await take(source, count);
        for (const q of emitted) {
          // The last few are "in flight": acknowledged or not, at random.
          const inFlight = emitted.length - emitted.indexOf(q) <= 30;
          if (!inFlight || random() < 0.5) {
            source.acknowledge(q.source, q.seq);
            delivered.push(q.seq);
          }
        }
        await source.close();
        position = source.position();
      }
      // A last session to the end, acknowledging everything.
      const last = new HistoricalSource(scan, { start: position });
      for (const q of await take(last)) {
        last.acknowledge(q.source, q.seq);
        delivered.push(q.seq);
      }
      assert.equal(last.position().completed, true);
      assert.equal(last.position().done, full.length);

      assert.equal(new Set(delivered).size, delivered.length, 'no quote acknowledged twice');
      assert.deepEqual([...delivered].sort((a, b) => a - b), [...full].sort((a, b) => a - b), 'every quote delivered');
    });
  }

  it('emits the remaining quotes in the same order as an uninterrupted replay', async () => {
    const file = tmp.join('order.csv');
    await writeFile(file, csv(2_000, 3, true));
    const scan = await scanCsv(file);
    const full = (await take(new HistoricalSource(scan))).map((q) => q.seq);
    const first = new HistoricalSource(scan);
    const head = await take(first, 700);
    for (const q of head) first.acknowledge(q.source, q.seq);
    await first.close();
    const rest = (await take(new HistoricalSource(scan, { start: first.position() }))).map((q) => q.seq);
    assert.deepEqual([...head.map((q) => q.seq), ...rest], full);
  });

  it('reads from the checkpoint offset, not from the top of the file', async () => {
    const file = tmp.join('offset.csv');
    await writeFile(file, csv(2_000, 5, true));
    const scan = await scanCsv(file);
    const first = new HistoricalSource(scan);
    for (const q of await take(first, 1_500)) first.acknowledge(q.source, q.seq);
    await first.close();
    const position = first.position();
    assert.ok((position.resumeAt?.offset ?? 0) > 0);
    const resumed = new HistoricalSource(scan, { start: position });
    await take(resumed);
    // Rows before the resume point are not read again (a few may be, inside the latency window).
    assert.ok(resumed.stats.read < 600, `read ${resumed.stats.read} rows`);
  });
});

describe('AckTracker', () => {
  it('folds contiguous acknowledgements and keeps the out-of-order ones apart', () => {
    const tracker = new AckTracker();
    for (let seq = 1; seq <= 5; seq++) tracker.emitted({ arrivalUs: seq * 10, seq }, { seq, offset: seq * 100, line: seq + 1 });
    tracker.acknowledged(1);
    tracker.acknowledged(2);
    tracker.acknowledged(4);
    const position = tracker.position(undefined, false);
    assert.deepEqual(position.ackedThrough, { arrivalUs: 20, seq: 2 });
    assert.deepEqual(position.ackedBeyond, [4]);
    assert.deepEqual(position.resumeAt, { seq: 3, offset: 300, line: 4 });
    assert.equal(position.done, 3);
    assert.equal(position.unacknowledged, 2);
    assert.equal(position.completed, false);
    tracker.acknowledged(3);
    tracker.acknowledged(5);
    assert.deepEqual(tracker.position(undefined, true), { ackedThrough: { arrivalUs: 50, seq: 5 }, ackedBeyond: [], resumeAt: undefined, done: 5, unacknowledged: 0, completed: true });
  });
});
