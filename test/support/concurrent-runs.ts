/**
 * Two `run`s of different files at once on one stream (as two users would): each output must
 * hold exactly its own 2,000 quotes. Shared by the plain and the aggregated historical-run suites.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { runHistorical } from '../../lib/cli/historical-run.ts';
import type { Config } from '../../lib/config.ts';
import { silentLogger } from '../../lib/logging/logger.ts';
import { readLines } from './lines.ts';
import type { TempDir } from './temp-dir.ts';

export async function assertConcurrentRunsApart(tmp: TempDir, config: Config, options: { aggregateFirst: boolean }): Promise<void> {
  const a = tmp.join('a.csv');
  const b = tmp.join('b.csv');
  const body = (year: number): string =>
    ['timestamp,ticker,bid,ask', ...Array.from({ length: 2_000 }, (_, i) => `${year}-01-01 00:00:${String(i % 60).padStart(2, '0')}.${String(i).padStart(3, '0').slice(-3)},T${i % 5},1,2`)].join('\n');
  await writeFile(a, body(2025));
  await writeFile(b, body(2030));
  const [ra, rb] = await Promise.all([
    runHistorical({ config: { ...config, outputDir: tmp.join('out-a') }, file: a, speed: 'max', logger: silentLogger, aggregate: options.aggregateFirst }),
    runHistorical({ config: { ...config, outputDir: tmp.join('out-b') }, file: b, speed: 'max', logger: silentLogger }),
  ]);
  const outA = await readLines(tmp.join('out-a', 'mid_prices.log'));
  const outB = await readLines(tmp.join('out-b', 'mid_prices.log'));
  assert.equal(ra.midLines, 2_000);
  assert.equal(rb.midLines, 2_000);
  assert.equal(outA.length, 2_000);
  assert.equal(outB.length, 2_000);
  assert.ok(outA.every((l) => l.startsWith('2025-')));
  assert.ok(outB.every((l) => l.startsWith('2030-')));
}
