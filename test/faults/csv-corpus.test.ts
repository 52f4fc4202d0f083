/**
 * A corpus of bad CSV input through the historical source (the path a replay takes): every bad
 * row gives a specific message naming file, line and field, and every valid row is kept — the
 * exact set, by its marker in the `ticker` column. Files that cannot be used at all fail with an
 * InputError naming the file.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { InputError } from '../../lib/errors.ts';
import { HistoricalSource, scanCsv } from '../../lib/replay/historical-source.ts';
import { captureLogs, type LogLine } from '../support/capture-logs.ts';
import { useTempDir } from '../support/temp-dir.ts';

interface Outcome {
  kept: string[];
  rejected: Array<{ line: number; field: string | undefined; reason: string }>;
  crossed: number;
  warnings: LogLine[];
}

const HEADER = 'timestamp,ticker,bid,ask,latency';

describe('bad CSV input', () => {
  const tmp = useTempDir();
  let files = 0;

  async function write(text: string): Promise<string> {
    const file = tmp.join(`corpus-${++files}.csv`);
    await writeFile(file, text);
    return file;
  }

  /** Replays `text` through a HistoricalSource; kept rows by ticker, rejections from the log. */
  async function replayText(text: string, maxRecordSize?: number): Promise<Outcome & { file: string }> {
    const file = await write(text);
    const { logger, lines } = captureLogs();
    const source = new HistoricalSource(await scanCsv(file, { maxRecordSize }), { logger, maxRecordSize });
    const kept: string[] = [];
    for await (const quote of source) kept.push(quote.ticker);
    const rejected = lines
      .filter((l) => l.message === 'row rejected')
      .map((l) => {
        assert.equal(path.resolve(l.file as string), file, 'the rejection names the file');
        return { line: l.line as number, field: l.field as string | undefined, reason: l.reason as string };
      });
    assert.equal(source.stats.rejected, rejected.length, 'every rejection is counted and logged');
    return { file, kept: kept.sort(), rejected, crossed: source.stats.crossed, warnings: lines.filter((l) => l.level === 'WARN'), };
  }

  it('refuses an empty file and a header without the required columns, naming the file', async () => {
    const empty = await write('');
    await assert.rejects(scanCsv(empty), (e: unknown) => e instanceof InputError && e.message === `${empty}: empty file, expected a header row`);
    const noAsk = await write('timestamp,ticker,bid\n2025-01-01 00:00:00,A,1\n');
    await assert.rejects(scanCsv(noAsk), (e: unknown) => e instanceof InputError && e.message.startsWith(`${noAsk}: missing required`) && e.message.includes('ask'));
  });

  it('reads a header-only file as zero rows, and ignores unknown columns', async () => {
    const headerOnly = await replayText(`${HEADER}\n`);
    assert.deepEqual([headerOnly.kept, headerOnly.rejected], [[], []]);
    // An unknown column may hold a quoted newline: the row is kept and later line numbers stay right.
    const extra = await replayText('venue,timestamp,ticker,bid,ask,note\nX,2025-01-01 00:00:00,K1,1,2,"multi\nline"\nY,2025-01-01 00:00:01,K2,1,2,\nZ,2025-01-01 00:00:02,K3,1\n');
    assert.deepEqual(extra.kept, ['K1', 'K2']);
    assert.deepEqual(extra.rejected, [{ line: 5, field: undefined, reason: 'expected 6 fields, got 4' }]);
  });

  it('rejects ragged rows, bad quotes and bad prices one by one, keeping every valid row', async () => {
    const rows = [
      HEADER,
      '2025-01-01 00:00:00.001,OK1,1.5,1.6,0', // line 2
      '2025-01-01 00:00:00.002,RAGGED,1.5,1.6', // 3: one field short
      '2025-01-01 00:00:00.003,RAGGED2,1.5,1.6,0,extra', // 4: one field long
      '2025-01-01 00:00:00.004,"BAD"Q,1.5,1.6,0', // 5: text after a closing quote
      '2025-01-01 00:00:00.005,OK2,1.5,1.6,0', // 6
      '2025-01-01 00:00:00.006,NAN,NaN,1.6,0', // 7
      '2025-01-01 00:00:00.007,INF,1.5,Infinity,0', // 8
      '2025-01-01 00:00:00.008,NEG,-1.5,1.6,0', // 9
      '2025-01-01 00:00:00.009,EMPTY,,1.6,0', // 10
      '2025-01-01 00:00:00.010,"OK""3",1.5,1.6,0', // 11: an escaped quote is CSV, but not in a ticker
      '2025-01-01 00:00:00.011,"OK\n4",1.5,1.6,0', // 12-13: a quoted newline is CSV, but not in a ticker
      '2025-01-01 00:00:00.012,OK5,1.5,1.6,0', // 14
      '2025-01-01 00:00:00.013,CROSSED,1.7,1.6,0', // 15: bid > ask
      '2025-01-01 00:00:00.014,NEGLAT,1.5,1.6,-3', // 16
    ];
    const out = await replayText(rows.join('\n') + '\n');
    assert.deepEqual(out.kept, ['CROSSED', 'OK1', 'OK2', 'OK5'].sort());
    assert.deepEqual(
      out.rejected.map((r) => [r.line, r.field]),
      [
        [3, undefined],
        [4, undefined],
        [5, undefined],
        [7, 'bid'],
        [8, 'ask'],
        [9, 'bid'],
        [10, 'bid'],
        [11, 'ticker'],
        [12, 'ticker'],
        [16, 'latency'],
      ],
    );
    assert.match(out.rejected[0]?.reason ?? '', /expected 5 fields, got 4/);
    assert.match(out.rejected[1]?.reason ?? '', /expected 5 fields, got 6/);
    assert.match(out.rejected[2]?.reason ?? '', /^malformed CSV/);
    assert.deepEqual(
      out.rejected.slice(3, 7).map((r) => r.reason),
      ['bid "NaN" is not a decimal number', 'ask "Infinity" is not a decimal number', 'bid "-1.5" is negative', 'bid is empty'],
    );
    assert.match(out.rejected[7]?.reason ?? '', /^ticker "OK\\"3" contains "\\""; tickers are ASCII letters, digits and/);
    assert.equal(out.rejected[8]?.reason, 'ticker "OK\\n4" contains a control character');
    assert.match(out.rejected[9]?.reason ?? '', /latency/);
    // Crossed quotes are kept, warned about and counted (current, documented behaviour).
    assert.equal(out.crossed, 1);
    assert.equal(out.warnings.filter((w) => w.message === 'crossed quote (bid > ask) kept' && w.line === 15).length, 1);
  });

  it('accepts every supported timestamp format and rejects the others with the field named', async () => {
    const good = [
      '2025-01-02 14:30:00',
      '2025-01-02 14:30:00.5',
      '2025-01-02 14:30:00.123456',
      '2025-01-02 14:30',
      '2025-01-02T14:30:00Z',
      // The same minute in other zones (rows hours apart would be outside --max-disorder).
      '2025-01-02T16:30:00.250+02:00',
      '2025-01-02T09:30:00-0500',
      '1735828200',
      '1735828200123',
      '1735828200.5',
    ];
    const bad = ['02/01/2025 14:30:00', '2025-13-01 00:00:00', '2025-02-30 00:00:00', 'yesterday', '2025-01-02 24:00:00', '2025-01-02 14:30:60', ''];
    const rows = [HEADER, ...good.map((t, i) => `${t},G${i},1,2,0`), ...bad.map((t, i) => `${t},B${i},1,2,0`)];
    const out = await replayText(rows.join('\n') + '\n');
    assert.deepEqual(out.kept, good.map((_, i) => `G${i}`).sort());
    assert.deepEqual(out.rejected.map((r) => r.line), bad.map((_, i) => good.length + 2 + i));
    out.rejected.forEach((r, i) => {
      assert.equal(r.field, 'timestamp');
      const value = bad[i] as string;
      assert.ok(value === '' ? r.reason === 'timestamp is empty' : r.reason.includes(JSON.stringify(value)), `reason names the value: ${r.reason}`);
    });
  });

  it('rejects a line beyond the maximum record size and reads on after it', async () => {
    const long = `2025-01-01 00:00:00.002,${'L'.repeat(600)},1.5,1.6,0`;
    const rows = [HEADER, '2025-01-01 00:00:00.001,BEFORE,1.5,1.6,0', long, '2025-01-01 00:00:00.003,AFTER,1.5,1.6,0'];
    const out = await replayText(rows.join('\n') + '\n', 256);
    assert.deepEqual(out.kept, ['AFTER', 'BEFORE']);
    assert.equal(out.rejected.length, 1);
    assert.equal(out.rejected[0]?.line, 3);
    assert.match(out.rejected[0]?.reason ?? '', /256/);
  });
});
