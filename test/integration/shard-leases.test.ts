/**
 * Shard leases on the real emulators: conditional writes (a stale owner cannot checkpoint), two
 * workers of one application splitting the shards and handing leases over without processing a
 * record twice, and a silent worker's shards taken over from its checkpoints with no gap.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { bootstrapResources } from '../../infra/bootstrap.ts';
import { listShards } from '../../lib/aws/shard-map.ts';
import { EventSourceMapping } from '../../lib/consumer/event-source-mapping.ts';
import { LeaseLostError, LeaseTable } from '../../lib/consumer/lease-table.ts';
import { silentLogger } from '../../lib/logging/logger.ts';
import { useEmbeddedStack } from '../support/stack-fixture.ts';

const TABLE = 'lease-state';
const LEASE_MS = 600;

describe('shard leases', () => {
  const env = useEmbeddedStack();
  let streams = 0;

  async function newStream(shardCount: number): Promise<{ streamName: string; streamArn: string; shardIds: string[] }> {
    const streamName = `leases-${++streams}`;
    const { streamArn } = await bootstrapResources(env.clients, { streamName, shardCount, tableName: TABLE }, silentLogger);
    const shardIds = (await listShards(env.clients.kinesis, streamName)).map((s) => s.ShardId ?? '');
    return { streamName, streamArn, shardIds };
  }

  /** `count` records r0..r(count-1), spread over the shards by partition key; resolves their sequence numbers by shard. */
  async function put(streamName: string, from: number, count: number): Promise<void> {
    for (let start = from; start < from + count; start += 500) {
      const n = Math.min(500, from + count - start);
      const records = Array.from({ length: n }, (_, i) => ({ Data: Buffer.from(`r${start + i}`), PartitionKey: `key-${(start + i) % 16}` }));
      const out = await env.clients.kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: records }));
      assert.equal(out.FailedRecordCount ?? 0, 0);
    }
  }

  function worker(
    s: { streamName: string; streamArn: string },
    app: string,
    workerId: string,
    seen: Map<string, number>,
    byWorker: Map<string, number>,
  ): EventSourceMapping {
    return new EventSourceMapping({
      kinesis: env.clients.kinesis,
      leases: new LeaseTable(env.clients.dynamodb, TABLE, app, s.streamName),
      workerId,
      leaseDurationMs: LEASE_MS,
      streamName: s.streamName,
      streamArn: s.streamArn,
      region: 'us-east-1',
      batchSize: 25,
      startingPosition: 'TRIM_HORIZON',
      idlePollMs: 20,
      logger: silentLogger,
      invoke: (event: KinesisStreamEvent) => {
        for (const r of event.Records) {
          const key = Buffer.from(r.kinesis.data, 'base64').toString();
          seen.set(key, (seen.get(key) ?? 0) + 1);
        }
        byWorker.set(workerId, (byWorker.get(workerId) ?? 0) + event.Records.length);
        return Promise.resolve({ batchItemFailures: [] });
      },
    });
  }

  async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  it('refuses a checkpoint from a worker whose lease was taken over', async () => {
    const { streamName, shardIds } = await newStream(1);
    const table = new LeaseTable(env.clients.dynamodb, TABLE, 'conditional', streamName);
    const shard = shardIds[0] ?? '';
    const [free] = await table.list([shard]);
    const heldByA = await table.take(free ?? assert.fail('no lease'), 'A');
    assert.equal(heldByA?.owner, 'A');
    await table.checkpoint(shard, 'A', '100');
    // B judged A dead from the counter it saw, and takes the lease with that counter.
    const [seenByB] = await table.list([shard]);
    const heldByB = await table.take(seenByB ?? assert.fail('no lease'), 'B');
    assert.equal(heldByB?.owner, 'B');
    assert.equal(heldByB?.checkpoint, '100', 'the new owner resumes from the last checkpoint');
    // A wakes up: neither its checkpoint nor its renewal goes through.
    await assert.rejects(table.checkpoint(shard, 'A', '200'), LeaseLostError);
    await assert.rejects(table.renew(shard, 'A'), LeaseLostError);
    // A take based on a stale counter loses too.
    assert.equal(await table.take(seenByB ?? assert.fail('no lease'), 'C'), undefined);
    const [now] = await table.list([shard]);
    assert.equal(now?.owner, 'B');
    assert.equal(now?.checkpoint, '100');
  });

  it('splits the shards between two workers through a handover, processing every record exactly once', async () => {
    const s = await newStream(4);
    await put(s.streamName, 0, 2_000);
    const seen = new Map<string, number>();
    const byWorker = new Map<string, number>();
    const a = worker(s, 'split', 'A', seen, byWorker);
    await a.start();
    assert.equal(a.heldShards().length, 4, 'alone, A takes every free lease');
    const b = worker(s, 'split', 'B', seen, byWorker);
    await b.start();
    await until('balance', () => a.heldShards().length === 2 && b.heldShards().length === 2);
    await put(s.streamName, 2_000, 2_000);
    await until('all records', () => seen.size === 4_000);
    // Nothing more arrives: every record once, even though two leases changed hands mid-stream.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await Promise.all([a.stop(), b.stop()]);
    const twice = [...seen].filter(([, n]) => n > 1);
    assert.deepEqual(twice, []);
    assert.ok((byWorker.get('B') ?? 0) > 0, 'B processed records after the handover');
  });

  it('takes over the shards of a silent worker within about two lease periods, from its checkpoints, with no gap', async (t) => {
    const s = await newStream(2);
    const table = new LeaseTable(env.clients.dynamodb, TABLE, 'takeover', s.streamName);
    await put(s.streamName, 0, 600);
    // A "dead" worker: it took both leases and checkpointed part of the way, then went silent.
    const first = new Map<string, number>();
    const early = worker(s, 'takeover', 'early', first, new Map());
    await early.start();
    await until('part processed', () => first.size >= 100);
    // Simulate kill -9: the mapping stops processing, but its leases are neither released nor renewed.
    const leases = await table.list(s.shardIds);
    await early.stop();
    const positions = new Map(early.processedPositions());
    for (const l of leases) {
      const [now] = await table.list([l.shardId]);
      await table.take(now ?? assert.fail('lease'), 'dead-worker');
    }
    const before = await table.list(s.shardIds);
    const seen = new Map<string, number>();
    const survivor = worker(s, 'takeover', 'survivor', seen, new Map());
    const startedAt = Date.now();
    await survivor.start();
    assert.deepEqual(survivor.heldShards(), [], 'the leases are not free: the survivor waits them out');
    await until('takeover', () => survivor.heldShards().length === 2);
    const tookMs = Date.now() - startedAt;
    t.diagnostic(`took over in ${tookMs} ms (lease ${LEASE_MS} ms)`);
    assert.ok(tookMs <= 2.5 * LEASE_MS + 500, `took over in ${tookMs} ms (lease ${LEASE_MS} ms)`);
    await until('the rest', () => new Set([...first.keys(), ...seen.keys()]).size >= 600);
    await survivor.stop();
    // No gap: every record processed by one or the other; the survivor started after the checkpoints.
    const all = new Set([...first.keys(), ...seen.keys()]);
    assert.equal(all.size, 600);
    for (const key of seen.keys()) assert.ok(!first.has(key), `${key} processed twice`);
    assert.ok(before.every((l) => l.checkpoint === positions.get(l.shardId)), 'checkpoints were where the first worker stopped');
  });
});
