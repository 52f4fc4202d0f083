/**
 * A full disk under `tick-replay up`: the output directory is a 64 KiB tmpfs, far too small for
 * the unseen file's lines. While it is full, `up` keeps running, the consumer retries with
 * backoff, logs one clear error (not one per attempt), leaves no torn line and does not move its
 * checkpoints; once the filesystem is enlarged it carries on by itself and ends with every line
 * exactly once.
 */
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients.ts';
import { LeaseTable, type Lease } from '../../lib/consumer/lease-table.ts';
import { listShards } from '../../lib/aws/shard-map.ts';
import { ERRORS_FILE, MID_PRICES_FILE } from '../../lib/output/log-files.ts';
import { waitUntil } from '../support/processes.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';
import { startUpProcess, upLogs, type UpProcess } from '../support/up-process.ts';
import { checkDelivery, outputLineCount, writeQuoteFile } from './support/quote-file.ts';
import { tryMountTmpfs, type Tmpfs } from './support/tmpfs.ts';

const ROWS = 6_000;
const OUTAGE_ERROR = 'cannot write output; batches are retried until it can (logged again when it recovers)';

interface Snapshot {
  consumer: { failedInvocations: number };
}

async function metrics(dashboardUrl: string): Promise<Snapshot> {
  return (await (await fetch(`${dashboardUrl}/api/snapshot`)).json()) as Snapshot;
}

describe('a full output disk under up', () => {
  let tmp: TempDir;
  let disk: Tmpfs | string;
  let up: UpProcess | undefined;
  let clients: AwsClients | undefined;

  before(async () => {
    tmp = await makeTempDir('tick-replay-full-disk-');
    disk = await tryMountTmpfs(tmp.join('out'), '64k');
  });

  after(async () => {
    clients?.destroy();
    if (up !== undefined) {
      up.kill();
      await up.exited;
    }
    if (typeof disk !== 'string') await disk.unmount();
    await tmp.remove();
  });

  it('keeps running while the disk is full, then finishes with every line exactly once', { timeout: 180_000 }, async (t) => {
    if (typeof disk === 'string') {
      t.skip(disk);
      return;
    }
    const out = disk.dir;
    const input = await writeQuoteFile(tmp.join('unseen.csv'), ROWS);
    up = startUpProcess({ outDir: out, stateDir: tmp.join('state'), speed: 'max', historical: tmp.join('unseen.csv'), liveFile: null });
    const running = up;
    const { apiUrl, dashboardUrl, endpointUrl } = await running.ready;
    clients = createAwsClients({ endpointUrl, region: 'us-east-1' });
    const leases = new LeaseTable(clients.dynamodb, 'tick-replay-state', 'mid-price', 'tick-replay-quotes');
    const shardIds = (await listShards(clients.kinesis, 'tick-replay-quotes')).map((s) => s.ShardId ?? '');
    const checkpoints = async (): Promise<Array<Pick<Lease, 'shardId' | 'checkpoint'>>> =>
      (await leases.list(shardIds)).map(({ shardId, checkpoint }) => ({ shardId, checkpoint }));
    const sizes = async (): Promise<number[]> => [(await stat(`${out}/${MID_PRICES_FILE}`)).size, (await stat(`${out}/${ERRORS_FILE}`)).size];
    const alive = (): boolean => running.child.exitCode === null && running.child.signalCode === null;

    await waitUntil('the disk to fill up', () => {
      assert.ok(alive(), `up exited:\n${running.stderr().slice(-2000)}`);
      return upLogs(running).some((l) => l.message === OUTAGE_ERROR);
    }, 90_000);
    // Until the disk is truly full, a small batch may still fit. Full: four failed attempts in a
    // row during which neither the output nor any checkpoint moved.
    let full = { failed: 0, checkpoints: await checkpoints(), sizes: await sizes() };
    for (let round = 0; ; round++) {
      full = { failed: (await metrics(dashboardUrl)).consumer.failedInvocations, checkpoints: await checkpoints(), sizes: await sizes() };
      await waitUntil('four more failed attempts', async () => (await metrics(dashboardUrl)).consumer.failedInvocations >= full.failed + 4, 60_000);
      const still = { checkpoints: await checkpoints(), sizes: await sizes() };
      if (JSON.stringify(still) === JSON.stringify({ checkpoints: full.checkpoints, sizes: full.sizes })) break;
      assert.ok(round < 10, 'the output kept growing: the disk never filled up');
    }
    assert.ok(alive(), 'up keeps running while the disk is full');
    assert.ok(full.sizes.every((size) => size > 0), 'lines were written before the disk filled up');
    for (const file of [MID_PRICES_FILE, ERRORS_FILE]) {
      const text = await readFile(`${out}/${file}`, 'utf8');
      assert.ok(text === '' || text.endsWith('\n'), `${file} holds no torn line while full`);
    }
    assert.equal(upLogs(running).filter((l) => l.message === OUTAGE_ERROR).length, 1, 'one error for the whole outage, not one per attempt');

    await disk.resize('4m');
    await waitUntil('every row written', async () => {
      assert.ok(alive(), `up exited:\n${running.stderr().slice(-2000)}`);
      return (await outputLineCount(out)) >= ROWS;
    }, 120_000);
    // The replayer publishes its status every few hundred ms: the lines can be complete before it says so.
    const historicalDone = async (): Promise<number> => ((await (await fetch(`${apiUrl}/mode`)).json()) as { status: { historical: { done: number } } }).status.historical.done;
    await waitUntil('the replayer to report every row acknowledged', async () => (await historicalDone()) === ROWS, 30_000);
    const recoveryLine = (): ReturnType<typeof upLogs>[number] | undefined => upLogs(running).find((l) => l.message === 'output writable again; the batches that failed are written');
    await waitUntil('the recovery logged', () => recoveryLine() !== undefined, 30_000);
    const recovered = recoveryLine() as ReturnType<typeof upLogs>[number];
    assert.equal(upLogs(running).filter((l) => l.message === OUTAGE_ERROR).length, 1, 'one error for the whole outage');
    running.child.kill('SIGINT');
    assert.equal(await running.exited, 0, running.stderr().slice(-2000));

    const report = checkDelivery(input, await readFile(`${out}/${MID_PRICES_FILE}`, 'utf8'), await readFile(`${out}/${ERRORS_FILE}`, 'utf8'));
    assert.deepEqual(report.foreign, [], 'whole lines only, all of them rows of the file');
    assert.deepEqual(report.missing, [], 'no row missing');
    assert.equal(report.duplicates, 0, 'no row written twice');
    assert.deepEqual(report.outOfOrder, [], 'per-ticker arrival order');
    t.diagnostic(`full at ${full.sizes.join('+')} bytes after ${full.failed} failed invocations; recovered after ${String(recovered.failedAttempts)} failed attempts over ${String(recovered.failingForMs)} ms`);
  });
});
