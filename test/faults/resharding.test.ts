/**
 * Resharding while everything runs: `up --speed max` replays an unseen file and consumes it
 * (application mid-price, in process), `consume --workers 2` reads the same stream as a second
 * application (two worker processes sharing the shards), and the test splits one shard and then
 * merges two others through the Kinesis API. Both outputs must hold every quote exactly once
 * (duplicates only within the bound a takeover logs) in per-ticker arrival order: the producer
 * refreshed its shard map without letting a key's requests race, and the consumers found the
 * children and processed each only after its parents.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { DescribeStreamSummaryCommand, MergeShardsCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients.ts';
import { listShards } from '../../lib/aws/shard-map.ts';
import { ERRORS_FILE, MID_PRICES_FILE } from '../../lib/output/log-files.ts';
import { waitUntil } from '../support/processes.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';
import { startUpProcess, upLogs, type UpProcess } from '../support/up-process.ts';
import { startConsumeProcess, type ConsumeProcess } from './support/consume-process.ts';
import { checkDelivery, outputLineCount, writeQuoteFile } from './support/quote-file.ts';

const ROWS = 30_000;
const STREAM = 'tick-replay-quotes';


describe('resharding during a replay', () => {
  let tmp: TempDir;
  let up: UpProcess | undefined;
  let consume: ConsumeProcess | undefined;
  let clients: AwsClients | undefined;

  before(async () => {
    tmp = await makeTempDir('tick-replay-reshard-');
  });

  after(async () => {
    clients?.destroy();
    for (const p of [consume, up]) {
      if (p === undefined) continue;
      p.kill();
      await p.exited;
    }
    await tmp.remove();
  });

  it('splits and merges shards under up and consume --workers 2: every quote once, per-ticker order kept', { timeout: 300_000 }, async (t) => {
    const input = await writeQuoteFile(tmp.join('unseen.csv'), ROWS);
    up = startUpProcess({ outDir: tmp.join('out'), stateDir: tmp.join('state'), speed: 'max', historical: tmp.join('unseen.csv'), liveFile: null });
    const running = up;
    const { apiUrl, endpointUrl } = await running.ready;
    consume = startConsumeProcess(['--workers', '2', '--app', 'audit', '--out', tmp.join('out-audit'), '--endpoint', endpointUrl]);
    clients = createAwsClients({ endpointUrl, region: 'us-east-1' });
    const kinesis = clients.kinesis;
    const done = async (): Promise<number> =>
      ((await (await fetch(`${apiUrl}/mode`)).json()) as { status: { historical: { done: number } } | null }).status?.historical.done ?? 0;
    const active = async (): Promise<boolean> => (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: STREAM }))).StreamDescriptionSummary?.StreamStatus === 'ACTIVE';
    const openShards = async (): Promise<string[]> =>
      (await listShards(kinesis, STREAM)).filter((s) => s.SequenceNumberRange?.EndingSequenceNumber === undefined).map((s) => s.ShardId ?? '');

    await waitUntil('5% replayed', async () => (await done()) >= ROWS * 0.05, 120_000);
    const [first] = await listShards(kinesis, STREAM);
    const start = BigInt(first?.HashKeyRange?.StartingHashKey ?? '0');
    const end = BigInt(first?.HashKeyRange?.EndingHashKey ?? '0');
    await kinesis.send(new SplitShardCommand({ StreamName: STREAM, ShardToSplit: first?.ShardId, NewStartingHashKey: String((start + end) / 2n) }));
    await waitUntil('the split done', async () => (await active()) && (await openShards()).length === 5, 30_000);
    const splitAt = await done();

    await waitUntil('25% replayed', async () => (await done()) >= ROWS * 0.25, 120_000);
    await kinesis.send(new MergeShardsCommand({ StreamName: STREAM, ShardToMerge: 'shardId-000000000002', AdjacentShardToMerge: 'shardId-000000000003' }));
    await waitUntil('the merge done', async () => (await active()) && (await openShards()).length === 4, 30_000);
    const mergedAt = await done();
    assert.ok(mergedAt < ROWS, `the merge happened during the replay (at ${mergedAt} of ${ROWS})`);

    await waitUntil('every row in both outputs', async () => {
      assert.equal(running.child.exitCode, null, `up exited:\n${running.stderr().slice(-2000)}`);
      return (await outputLineCount(tmp.join('out'))) >= ROWS && (await outputLineCount(tmp.join('out-audit'))) >= ROWS;
    }, 180_000);
    running.child.kill('SIGINT');
    consume.child.kill('SIGINT');
    assert.equal(await running.exited, 0, running.stderr().slice(-2000));
    assert.equal(await consume.exited, 0);

    const logs = [...upLogs(running), ...consume.logs()];
    // Every takeover of an expired lease logs how many quotes its first batch may repeat.
    const bound = logs.filter((l) => l.message.startsWith('first batch after taking over an expired lease')).reduce((sum, l) => sum + (l.possibleDuplicates as number), 0);
    for (const dir of ['out', 'out-audit']) {
      const report = checkDelivery(input, await readFile(tmp.join(dir, MID_PRICES_FILE), 'utf8'), await readFile(tmp.join(dir, ERRORS_FILE), 'utf8'));
      assert.deepEqual(report.foreign, [], `${dir}: whole lines of the file's rows only`);
      assert.deepEqual(report.missing.slice(0, 10), [], `${dir}: no row missing`);
      assert.deepEqual(report.outOfOrder.slice(0, 10), [], `${dir}: per-ticker arrival order`);
      assert.ok(report.duplicates <= bound, `${dir}: ${report.duplicates} duplicates, logged bound ${bound}`);
      t.diagnostic(`${dir}: ${report.duplicates} duplicates (bound ${bound})`);
    }
    assert.ok(logs.some((l) => l.message.startsWith('the stream was resharded: new shard map')), 'the producer refreshed its shard map');
    const finished = logs.filter((l) => l.message.startsWith('shard finished')).map((l) => l.shard);
    assert.deepEqual([...new Set(finished)].sort(), ['shardId-000000000000', 'shardId-000000000002', 'shardId-000000000003'], 'every parent was read to its end');
    t.diagnostic(`split at ${splitAt}, merged at ${mergedAt} of ${ROWS} quotes`);
  });
});
