/**
 * The whole historical pipeline on the real emulators: CSV → arrival order → Kinesis (kinesalite)
 * → local event source mapping with DynamoDB (dynalite) checkpoints → mid-price handler → files.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { before, describe, it } from 'node:test';
import { runHistorical } from '../../lib/cli/historical-run.ts';
import { resolveConfig, type Config } from '../../lib/config.ts';
import { InputError } from '../../lib/errors.ts';
import { silentLogger } from '../../lib/logging/logger.ts';
import { readLines as lines } from '../support/lines.ts';
import { assertConcurrentRunsApart } from '../support/concurrent-runs.ts';
import { useEmbeddedStack } from '../support/stack-fixture.ts';

const CSV = [
  '\uFEFFindex,timestamp,ticker,ask_amount,ask_price,bid_price,bid_amount,latency',
  '1,2025-01-01 00:00:00,AAA,100,200.02,199.98,100,120',
  '2,2025-01-01 00:00:00.200,AAA,100,0.2,0.1,100,1',
  '3,2025-01-01 00:00:00.700,BBB,100,100.08,100.07,100,10',
  '4,2025-01-01 00:00:00.100,BBB,100,"1,000.5",1000,100,5',
  '5,2025-01-01 00:00:00.150,BBB,100,50.5,50.25,100,0',
  '6,2025-01-01 00:00:00.050,AAA,100,10,9,100,20',
  '7,2025-01-01 00:00:00.300,AAA,100,,10,100,3',
  '8,not-a-time,AAA,100,10,9,100,3',
  '9,2025-01-01T00:00:00.400123Z,CCC,1,3,2,1,0',
].join('\r\n');

function subsequence(all: string[], wanted: string[]): string[] {
  return all.filter((line) => wanted.includes(line));
}

describe('historical run through Kinesis', () => {
  // An endpoint started outside the run stands for LocalStack or any other AWS endpoint.
  const env = useEmbeddedStack();
  let config: Config;

  before(() => {
    config = resolveConfig({}, { endpointUrl: env.stack.endpointUrl, outputDir: env.tmp.join('out'), logLevel: 'SILENT', latencyThresholdMs: 20 });
  });

  it('writes exact mids, latency errors and per-ticker arrival order, rejecting bad rows without stopping', async () => {
    const file = env.tmp.join('quotes.csv');
    await writeFile(file, CSV);
    const summary = await runHistorical({ config, file, speed: 'max', logger: silentLogger });

    assert.equal(summary.quotesRead, 9);
    assert.equal(summary.rejected, 3);
    assert.equal(summary.sent, 6);
    assert.equal(summary.midLines, 5);
    assert.equal(summary.errorLines, 1);
    assert.equal(summary.deadLetters, 0);

    const mids = await lines(env.tmp.join('out', 'mid_prices.log'));
    const aaa = ['2025-01-01 00:00:00.050, 9.5', '2025-01-01 00:00:00.200, 0.15'];
    const bbb = ['2025-01-01 00:00:00.150, 50.375', '2025-01-01 00:00:00.700, 100.075'];
    const ccc = ['2025-01-01 00:00:00.400123, 2.5'];
    assert.deepEqual([...mids].sort(), [...aaa, ...bbb, ...ccc].sort());
    assert.deepEqual(subsequence(mids, aaa), aaa);
    assert.deepEqual(subsequence(mids, bbb), bbb);
    assert.deepEqual(await lines(env.tmp.join('out', 'errors.log')), [
      'No mid price at 2025-01-01 00:00:00.000 as latency 120ms is bigger than 20ms',
    ]);
  });

  it('starts each run with fresh output files and consumes only what it produced', async () => {
    const file = env.tmp.join('small.csv');
    await writeFile(file, 'timestamp,symbol,bid,ask\n2025-01-01 00:00:01.5,ZZZ,1.1,1.2\n');
    const summary = await runHistorical({ config, file, speed: 'max', logger: silentLogger });
    assert.equal(summary.sent, 1);
    assert.deepEqual(await lines(env.tmp.join('out', 'mid_prices.log')), ['2025-01-01 00:00:01.500, 1.15']);
    assert.deepEqual(await lines(env.tmp.join('out', 'errors.log')), []);
  });

  it('replays the committed sample: every valid row exactly once, each ticker in arrival order, as an independent calculation says', async () => {
    const file = 'data/historical_sample.csv';
    const summary = await runHistorical({ config, file, speed: 'max', logger: silentLogger });
    const rows = (await readFile(file, 'utf8')).trim().split('\n').slice(1).map((l) => l.split(','));
    // Reference: prices have 2 decimals, so the mid is an integer number of tenths of a cent.
    const toMilli = (p: string): bigint => BigInt(p.replace('.', '')) * 10n;
    const fmt = (milli: bigint): string => {
      const s = milli.toString().padStart(4, '0');
      return `${s.slice(0, -3)}.${s.slice(-3)}`.replace(/0+$/, '').replace(/\.$/, '');
    };
    const expected = rows
      .map(([, ts, ticker, , ask, bid, , latency], index) => {
        const line =
          Number(latency) > 20
            ? `No mid price at ${ts} as latency ${latency}ms is bigger than 20ms`
            : `${ts}, ${fmt((toMilli(bid as string) + toMilli(ask as string)) / 2n)}`;
        return { ticker: ticker as string, line, arrival: Date.parse(`${(ts as string).replace(' ', 'T')}Z`) + Number(latency), index };
      })
      .sort((a, b) => a.arrival - b.arrival || a.index - b.index);
    const mids = await lines(env.tmp.join('out', 'mid_prices.log'));
    const errors = await lines(env.tmp.join('out', 'errors.log'));
    assert.equal(summary.rejected, 0);
    assert.equal(summary.sent, rows.length);
    const isError = (line: string): boolean => line.startsWith('No mid price');
    assert.deepEqual([...mids].sort(), expected.filter((e) => !isError(e.line)).map((e) => e.line).sort());
    assert.deepEqual([...errors].sort(), expected.filter((e) => isError(e.line)).map((e) => e.line).sort());

    // Per-ticker order: lines carry no ticker, so map each line to the ticker that produces it
    // (skipping the rare line two tickers could both produce) and compare sequences.
    const owners = new Map<string, Set<string>>();
    for (const e of expected) owners.set(e.line, (owners.get(e.line) ?? new Set()).add(e.ticker));
    const ownedBy = (ticker: string) => (line: string): boolean => owners.get(line)?.size === 1 && owners.get(line)?.has(ticker) === true;
    let checked = 0;
    for (const ticker of new Set(expected.map((e) => e.ticker))) {
      for (const output of [mids, errors]) {
        const actual = output.filter(ownedBy(ticker));
        const wanted = expected.map((e) => e.line).filter((line) => output.includes(line)).filter(ownedBy(ticker));
        assert.deepEqual(actual, wanted, `${ticker} lines in arrival order`);
        checked += actual.length;
      }
    }
    assert.ok(checked > rows.length * 0.95, `order checked on ${checked} of ${rows.length} lines`);
  });

  it('keeps concurrent runs on one stream apart: each output has only its own quotes', async () => {
    await assertConcurrentRunsApart(env.tmp, config, { aggregateFirst: false });
  });

  it('refuses a missing file before starting anything', async () => {
    await assert.rejects(
      runHistorical({ config, file: env.tmp.join('nope.csv'), speed: 'max', logger: silentLogger }),
      (error: unknown) => error instanceof InputError && /nope\.csv/.test(error.message),
    );
  });
});
