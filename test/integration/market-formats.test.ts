/**
 * Real market-data exports end to end, as a user runs them: a tardis.dev quotes export (gzip)
 * and a Databento MBP-1 export (ns integers, fixed-point prices) replayed together by
 * `tick-replay run --historical A --historical B`. The expected lines are computed in the test
 * from the generated integers (test/support/market-files.ts, BigInt), never by the code under
 * test. One shard, so that the output order is the send order: the merged arrival order.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { databentoMbp1, expectedLine, inReplayOrder, tardisQuotes, zstdStored, type TruthRow } from '../support/market-files.ts';
import { cli } from '../support/cli-process.ts';
import { useTempDir } from '../support/temp-dir.ts';

function expectedOutput(rows: TruthRow[]): { mids: string; errors: string } {
  const lines = inReplayOrder(rows).map((row) => expectedLine(row, 20n));
  const join = (kind: 'mid' | 'error'): string => lines.filter((l) => l.kind === kind).map((l) => l.text + '\n').join('');
  return { mids: join('mid'), errors: join('error') };
}

describe('real market-data formats through tick-replay run', () => {
  const tmp = useTempDir();

  async function replay(files: string[], name: string): Promise<{ summary: Record<string, unknown>; mids: string; errors: string; stderr: string }> {
    const out = tmp.join(`out-${name}`);
    const args = ['run', ...files.flatMap((f) => ['--historical', f]), '--out', out, '--state-dir', tmp.join(`state-${name}`), '--edge-port', '0', '--shards', '1', '--speed', 'max'];
    const r = await cli(args);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    return { summary, mids: await readFile(`${out}/mid_prices.log`, 'utf8'), errors: await readFile(`${out}/errors.log`, 'utf8'), stderr: r.stderr };
  }

  it('replays a tardis .csv.gz and a Databento MBP-1 CSV together: exact mids and errors, precision kept, bad rows rejected', async () => {
    const tardis = tardisQuotes({ rows: 400, seed: 7, file: 0 });
    const databento = databentoMbp1({ rows: 300, seed: 8, file: 1 });
    const a = tmp.join('A.csv.gz');
    const b = tmp.join('B.csv');
    await writeFile(a, gzipSync(tardis.text));
    await writeFile(b, databento.text);
    const rows = [...tardis.rows, ...databento.rows];
    const { summary, mids, errors, stderr } = await replay([a, b], 'ab');
    const expected = expectedOutput(rows);
    const bad = rows.filter((r) => r.bad !== undefined);
    assert.ok(bad.length >= 20 && expected.mids.length > 0 && expected.errors.length > 0, 'the data exercises every case');
    assert.equal(mids, expected.mids);
    assert.equal(errors, expected.errors);
    assert.equal(summary.rejected, bad.length);
    assert.equal(summary.sent, rows.length - bad.length);
    // Each bad row is reported with its file, line and reason.
    const rejections = stderr.split('\n').filter((l) => l.includes('"row rejected"')).map((l) => JSON.parse(l) as { file: string; line: number; reason: string });
    for (const row of bad) {
      const found = rejections.find((r) => r.line === row.line && r.file.endsWith(row.file === 0 ? 'A.csv.gz' : 'B.csv'));
      assert.ok(found !== undefined && found.reason.startsWith(row.bad ?? ''), `line ${row.line} of file ${row.file}: ${JSON.stringify(found)}`);
    }
  });

  it('reads zstd by its magic bytes and Databento pretty_ts / pretty_px, through a glob', async () => {
    const tardis = tardisQuotes({ rows: 200, seed: 9, file: 0 });
    const databento = databentoMbp1({ rows: 150, seed: 10, file: 1, pretty: true });
    // Names sort as the files are numbered: the glob gives them in this order.
    await writeFile(tmp.join('g-1.csv'), zstdStored(Buffer.from(tardis.text))); // zstd despite the name
    await writeFile(tmp.join('g-2.csv'), databento.text);
    const { mids, errors } = await replay([tmp.join('g-*.csv')], 'glob');
    const expected = expectedOutput([...tardis.rows, ...databento.rows]);
    assert.equal(mids, expected.mids);
    assert.equal(errors, expected.errors);
  });
});
