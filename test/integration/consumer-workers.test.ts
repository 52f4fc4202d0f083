/**
 * Consumer worker processes as users start them: `run --workers 2` with one worker killed -9
 * mid-run, two independent `consume --app` applications on one stream, and `up --workers 2`.
 * Each compares the output with a one-worker reference run of the same file.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { writeSyntheticCsv } from '../../bench/synthetic.ts';
import { openAwsEnvironment } from '../../lib/cli/aws-environment.ts';
import { runHistorical } from '../../lib/cli/historical-run.ts';
import { KinesisProducer } from '../../lib/aws/producer.ts';
import { loadShardMap } from '../../lib/aws/shard-map.ts';
import { resolveConfig, type Config } from '../../lib/config.ts';
import { silentLogger } from '../../lib/logging/logger.ts';
import { HistoricalSource, scanCsv } from '../../lib/replay/historical-source.ts';
import { replay, type QuoteEntry } from '../../lib/replay/replayer.ts';
import { captureLogs } from '../support/capture-logs.ts';
import { readLines } from '../support/lines.ts';
import { isAlive, waitUntil } from '../support/processes.ts';
import { useEmbeddedStack } from '../support/stack-fixture.ts';
import { EMBEDDED_TARGET_ENV } from '../support/aws-env.ts';
import { embeddedChildEnv } from '../support/aws-env.ts';

const LEASE_MS = 1_500;
const SAMPLE = 'data/historical_sample.csv';
const MID_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}, -?\d+(\.\d+)?$/;
const ERROR_LINE = /^No mid price at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} as latency \d+(\.\d+)?ms is bigger than 20ms$/;

async function output(dir: string): Promise<{ mids: string[]; errors: string[] }> {
  return { mids: await readLines(`${dir}/mid_prices.log`), errors: await readLines(`${dir}/errors.log`) };
}

const counts = (lines: string[]): Map<string, number> => {
  const m = new Map<string, number>();
  for (const l of lines) m.set(l, (m.get(l) ?? 0) + 1);
  return m;
};

/** Lines of the reference missing from `actual`, and lines `actual` has beyond the reference. */
function compare(reference: string[], actual: string[]): { missing: number; extra: number; foreign: number } {
  const want = counts(reference);
  const got = counts(actual);
  let missing = 0;
  let extra = 0;
  for (const [line, n] of want) {
    const g = got.get(line) ?? 0;
    if (g < n) missing += n - g;
    else extra += g - n;
  }
  const foreign = [...got.keys()].filter((l) => !want.has(l)).length;
  return { missing, extra, foreign };
}

function cli(args: string[], env: Record<string, string> = {}): { child: ChildProcess; stdout: () => string; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['bin/tick-replay.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: embeddedChildEnv(env) });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

describe('consumer worker processes', () => {
  const children: ChildProcess[] = [];
  // Registered before the stack fixture, so it runs first (after hooks run in order): no child
  // outlives the stack it talks to.
  after(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const env = useEmbeddedStack();
  let config: Config;

  before(() => {
    config = resolveConfig({}, { endpointUrl: env.stack.endpointUrl, outputDir: env.tmp.join('ref'), logLevel: 'INFO', leaseDurationMs: LEASE_MS });
  });

  it('run --workers 2 loses nothing when one worker is killed -9 mid-run', { timeout: 180_000 }, async (t) => {
    const csv = env.tmp.join('syn.csv');
    await writeSyntheticCsv(csv, 30_000, 7);
    await runHistorical({ config: { ...config, outputDir: env.tmp.join('ref') }, file: csv, speed: 'max', logger: silentLogger });
    const reference = await output(env.tmp.join('ref'));

    const { logger, lines } = captureLogs();
    const outDir = env.tmp.join('two');
    let killed: number | undefined;
    const run = runHistorical({ config: { ...config, outputDir: outDir }, file: csv, speed: 'max', logger, workers: 2 });
    const killer = (async () => {
      await waitUntil('the workers started', () => lines.some((l) => l.message === 'consumer workers started'), 60_000);
      const pids = lines.find((l) => l.message === 'consumer workers started')?.pids as number[];
      assert.equal(pids.length, 2);
      // Both workers hold leases before one dies: the survivor has to take shards over.
      await waitUntil('both workers consuming', () => new Set(lines.filter((l) => l.message === 'lease taken' || l.message === 'lease received').map((l) => l.worker)).size === 2, 60_000);
      await waitUntil('some output', async () => (await readLines(`${outDir}/errors.log`).catch(() => [])).length >= 2_000, 60_000);
      const victim = pids[0] ?? assert.fail('no worker pid');
      killed = victim;
      process.kill(victim, 'SIGKILL');
    })();
    const [summary] = await Promise.all([run, killer]);
    assert.ok(killed !== undefined && !isAlive(killed));
    assert.equal(summary.acknowledged, 30_000);
    assert.ok(lines.some((l) => l.message.startsWith('consumer worker died')), 'the death was reported');
    const takeovers = lines.filter((l) => l.message === 'lease taken' && typeof l.from === 'string' && l.from.includes(`:${killed}:`));
    assert.ok(takeovers.length >= 1, 'the survivor took the dead worker\'s leases over');

    const actual = await output(outDir);
    for (const line of actual.mids) assert.match(line, MID_LINE);
    for (const line of actual.errors) assert.match(line, ERROR_LINE);
    const mids = compare(reference.mids, actual.mids);
    const errors = compare(reference.errors, actual.errors);
    t.diagnostic(`killed worker ${killed}: ${mids.extra + errors.extra} duplicate lines, ${takeovers.length} leases taken over`);
    assert.equal(mids.missing + errors.missing, 0, 'nothing lost');
    assert.equal(mids.foreign + errors.foreign, 0, 'nothing that is not in the reference');
    // At most the batch in hand on each shard the dead worker held (4 shards, batch size 100).
    assert.ok(mids.extra + errors.extra <= 4 * config.batchSize, `${mids.extra + errors.extra} duplicates`);
  });

  it('gives two --app consumer applications the whole stream each, independently', { timeout: 120_000 }, async () => {
    await runHistorical({ config: { ...config, outputDir: env.tmp.join('sample-ref') }, file: SAMPLE, speed: 'max', logger: silentLogger });
    const reference = await output(env.tmp.join('sample-ref'));
    const stream = 'apps-stream';
    // Put the sample on a stream of its own, unstamped, as `up` does.
    const aws = await openAwsEnvironment({ ...config, streamName: stream }, silentLogger);
    try {
      const producer = new KinesisProducer<QuoteEntry>({ client: aws.clients.kinesis, streamName: stream, shardMap: await loadShardMap(aws.clients.kinesis, stream) });
      await replay(new HistoricalSource(await scanCsv(SAMPLE)), { producer });
      await producer.flush();
    } finally {
      await aws.close();
    }
    const common = ['consume', '--endpoint', env.stack.endpointUrl, '--stream', stream, '--table', config.tableName, '--lease-ms', String(LEASE_MS)];
    const a = cli([...common, '--app', 'audit', '--out', env.tmp.join('app-a')]);
    const b = cli([...common, '--app', 'research', '--workers', '2', '--out', env.tmp.join('app-b')]);
    children.push(a.child, b.child);
    const total = async (dir: string): Promise<number> => {
      const o = await output(dir).catch(() => ({ mids: [], errors: [] }));
      return o.mids.length + o.errors.length;
    };
    await waitUntil('both applications complete', async () => (await total(env.tmp.join('app-a'))) >= 6_000 && (await total(env.tmp.join('app-b'))) >= 6_000, 90_000);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    assert.equal(await a.exited, 0, a.stderr().slice(-2000));
    assert.equal(await b.exited, 0, b.stderr().slice(-2000));
    for (const dir of ['app-a', 'app-b']) {
      const actual = await output(env.tmp.join(dir));
      assert.deepEqual(compare(reference.mids, actual.mids), { missing: 0, extra: 0, foreign: 0 }, dir);
      assert.deepEqual(compare(reference.errors, actual.errors), { missing: 0, extra: 0, foreign: 0 }, dir);
    }
    assert.match(b.stdout(), /2 consumer workers for application "research"/);
  });

  it('up --workers 2 writes the complete output and stops cleanly', { timeout: 150_000 }, async () => {
    const reference = await output(env.tmp.join('sample-ref'));
    const up = cli(
      ['up', '--historical', SAMPLE, '--speed', 'max', '--workers', '2', '--out', env.tmp.join('up'), '--state-dir', env.tmp.join('up-state'), '--edge-port', '0', '--api-port', '0', '--live-port', '0', '--dashboard-port', '0'],
      { ...EMBEDDED_TARGET_ENV, LEASE_DURATION_MS: String(LEASE_MS) },
    );
    children.push(up.child);
    await waitUntil('the whole file written', async () => {
      const o = await output(env.tmp.join('up')).catch(() => ({ mids: [], errors: [] }));
      return o.mids.length + o.errors.length >= 6_000;
    }, 120_000);
    up.child.kill('SIGINT');
    assert.equal(await up.exited, 0, up.stderr().slice(-3000));
    const actual = await output(env.tmp.join('up'));
    assert.deepEqual(compare(reference.mids, actual.mids), { missing: 0, extra: 0, foreign: 0 });
    assert.deepEqual(compare(reference.errors, actual.errors), { missing: 0, extra: 0, foreign: 0 });
    const workers = new Set([...up.stderr().matchAll(/"message":"event source mapping started".*?"worker":"([^"]+)"/g)].map((m) => m[1]));
    assert.equal(workers.size, 2, 'two worker processes consumed');
  });
});
