/**
 * KPL aggregation end to end on the emulators: the producer packs quotes into aggregated records,
 * the consumer's filter and the handler see through them, and the output is the same as without.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, describe, it } from 'node:test';
import { runHistorical } from '../../lib/cli/historical-run.ts';
import { resolveConfig, type Config } from '../../lib/config.ts';
import { silentLogger } from '../../lib/logging/logger.ts';
import { readLines as lines } from '../support/lines.ts';
import { assertConcurrentRunsApart } from '../support/concurrent-runs.ts';
import { useEmbeddedStack } from '../support/stack-fixture.ts';

describe('historical run with KPL aggregation', () => {
  const env = useEmbeddedStack();
  let config: Config;

  before(() => {
    config = resolveConfig({}, { endpointUrl: env.stack.endpointUrl, outputDir: env.tmp.join('out'), logLevel: 'SILENT', latencyThresholdMs: 20 });
  });

  it('writes exactly the same lines for the committed sample as an unaggregated run, each ticker in arrival order', async () => {
    const file = 'data/historical_sample.csv';
    const plain = await runHistorical({ config: { ...config, outputDir: env.tmp.join('plain') }, file, speed: 'max', logger: silentLogger });
    const agg = await runHistorical({ config: { ...config, outputDir: env.tmp.join('agg') }, file, speed: 'max', logger: silentLogger, aggregate: true });
    assert.equal(agg.sent, plain.sent);
    assert.equal(agg.acknowledged, plain.sent);
    assert.equal(agg.deadLetters, 0);
    for (const name of ['mid_prices.log', 'errors.log']) {
      const p = await lines(env.tmp.join('plain', name));
      const a = await lines(env.tmp.join('agg', name));
      assert.deepEqual([...a].sort(), [...p].sort(), `${name}: same multiset`);
    }
    // Per-ticker order: group the input's expected lines by ticker (lines carry no ticker) and
    // check each ticker's uniquely-owned lines come out in the same order in both outputs.
    const rows = (await readFile(file, 'utf8')).trim().split('\n').slice(1).map((l) => l.split(','));
    const owner = new Map<string, Set<string>>();
    const mids = await lines(env.tmp.join('agg', 'mid_prices.log'));
    const plainMids = await lines(env.tmp.join('plain', 'mid_prices.log'));
    const tsTicker = rows.map(([, ts, ticker]) => [ts as string, ticker as string] as const);
    for (const [ts, ticker] of tsTicker) owner.set(ts, (owner.get(ts) ?? new Set()).add(ticker));
    const tickerOf = (line: string): string | undefined => {
      const owners = owner.get(line.split(', ')[0] as string);
      return owners?.size === 1 ? [...owners][0] : undefined;
    };
    for (const ticker of new Set(tsTicker.map(([, t]) => t))) {
      assert.deepEqual(
        mids.filter((l) => tickerOf(l) === ticker),
        plainMids.filter((l) => tickerOf(l) === ticker),
        `${ticker} in the same (arrival) order`,
      );
    }
  });

  it('keeps concurrent runs on one stream apart when one aggregates and the other does not', async () => {
    await assertConcurrentRunsApart(env.tmp, config, { aggregateFirst: true });
  });
});
