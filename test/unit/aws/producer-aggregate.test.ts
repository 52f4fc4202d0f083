import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PutRecordsCommand, PutRecordsCommandOutput, PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import { decodeAggregated, isAggregated } from '../../../lib/records/kpl-format.ts';
import { KinesisProducer, type AckedEntry, type ProducerEntry } from '../../../lib/aws/producer.ts';
import { ShardMap } from '../../../lib/aws/shard-map.ts';
import type { Clock } from '../../../lib/time/clock.ts';

const fastClock: Clock = { now: () => performance.now(), sleep: () => new Promise((resolve) => setImmediate(resolve)) };

interface KinesisRecordSent {
  key: string;
  /** The user records it carries (one for a plain record). */
  users: Array<{ key: string; payload: string }>;
  bytes: number;
}

type Responder = (records: KinesisRecordSent[], call: number) => Array<PutRecordsResultEntry>;

function fakeKinesis(respond: Responder = (records) => records.map(() => ({}))) {
  const requests: KinesisRecordSent[][] = [];
  let sequence = 0;
  return {
    requests,
    client: {
      send(command: PutRecordsCommand): Promise<PutRecordsCommandOutput> {
        const records = (command.input.Records ?? []).map((r) => {
          const data = r.Data ?? new Uint8Array();
          const users = isAggregated(data)
            ? decodeAggregated(data).map((u) => ({ key: u.partitionKey, payload: Buffer.from(u.data).toString() }))
            : [{ key: r.PartitionKey ?? '', payload: Buffer.from(data).toString() }];
          return { key: r.PartitionKey ?? '', users, bytes: data.byteLength };
        });
        requests.push(records);
        const results = respond(records, requests.length);
        return Promise.resolve({
          $metadata: {},
          FailedRecordCount: results.filter((r) => r.ErrorCode !== undefined).length,
          Records: results.map((r) => (r.ErrorCode === undefined ? { ShardId: 'shardId-000000000000', SequenceNumber: String(++sequence) } : r)),
        });
      },
    },
  };
}

function entry(key: string, payload: string): ProducerEntry {
  return { partitionKey: key, data: Buffer.from(payload) };
}

const tickers = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'TSLA', 'NVDA'];
const shardMap = new ShardMap([
  { shardId: 'shard-a', start: 0n, end: 2n ** 127n - 1n },
  { shardId: 'shard-b', start: 2n ** 127n, end: 2n ** 128n - 1n },
]);

describe('KinesisProducer with KPL aggregation', () => {
  it('packs many entries per Kinesis record, acks every entry once and in order per key, and keeps aggregates on one shard', async () => {
    const { client, requests } = fakeKinesis();
    const acks: AckedEntry<ProducerEntry>[] = [];
    const producer = new KinesisProducer({ client, streamName: 's', shardMap, clock: fastClock, aggregate: true, onAck: (a) => acks.push(...a) });
    const total = 20_000;
    for (let i = 0; i < total; i++) await producer.put(entry(tickers[i % tickers.length] as string, `{"i":${i},"pad":"${'x'.repeat(150)}"}`));
    await producer.flush();

    const kinesisRecords = requests.flat();
    const users = kinesisRecords.flatMap((r) => r.users);
    assert.equal(users.length, total, 'every entry sent once');
    assert.equal(producer.stats.kinesisRecords, kinesisRecords.length);
    assert.ok(kinesisRecords.length * 50 < total, `${kinesisRecords.length} Kinesis records for ${total} entries`);
    for (const r of kinesisRecords) {
      assert.ok(r.bytes <= 50 * 1024, 'aggregate within the 50 KiB target');
      assert.ok(r.users.length <= 500);
      assert.equal(r.key, r.users[0]?.key, "an aggregate's key is its first entry's");
      assert.ok(r.users.every((u) => shardMap.shardFor(u.key) === shardMap.shardFor(r.key)), 'one shard per aggregate');
    }
    assert.equal(acks.length, total);
    assert.equal(producer.stats.acked, total);
    assert.equal(producer.stats.unacked, 0);
    assert.equal(new Set(acks.map((a) => a.entry)).size, total, 'each entry acked once');
    for (const ticker of tickers) {
      const sent = users.filter((u) => u.key === ticker).map((u) => (JSON.parse(u.payload) as { i: number }).i);
      const acked = acks.filter((a) => a.entry.partitionKey === ticker).map((a) => (JSON.parse(Buffer.from(a.entry.data).toString()) as { i: number }).i);
      assert.deepEqual(sent, [...sent].sort((a, b) => a - b), `${ticker} sent in order`);
      assert.deepEqual(acked, [...acked].sort((a, b) => a - b), `${ticker} acked in order`);
    }
    // Entries of one aggregate share its sequence number, numbered by subSequence.
    const bySequence = new Map<string, number[]>();
    for (const a of acks) bySequence.set(a.sequenceNumber, [...(bySequence.get(a.sequenceNumber) ?? []), a.subSequence]);
    assert.equal(bySequence.size, kinesisRecords.length);
    for (const subs of bySequence.values()) assert.deepEqual(subs, subs.map((_, i) => i));
  });

  it('resends a rejected aggregate whole and acknowledges its entries once', async () => {
    let rejected: KinesisRecordSent | undefined;
    const { client, requests } = fakeKinesis((records, call) =>
      records.map((r, i) => {
        if (call === 1 && i === 0 && r.users.length > 1) {
          rejected = r;
          return { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'slow down' };
        }
        return {};
      }),
    );
    const acks: AckedEntry<ProducerEntry>[] = [];
    const producer = new KinesisProducer({ client, streamName: 's', clock: fastClock, aggregate: true, maxAggregatedRecords: 10, lingerMs: 1_000, onAck: (a) => acks.push(...a) });
    for (let i = 0; i < 100; i++) await producer.put(entry('AAPL', String(i)));
    await producer.flush();
    assert.ok(rejected !== undefined);
    assert.equal(requests.length, 2);
    assert.equal(requests[0]?.length, 10);
    assert.deepEqual(requests[1], [rejected], 'only the rejected aggregate, whole and unchanged');
    assert.equal(producer.stats.retriedEntries, 10);
    assert.equal(acks.length, 100);
    assert.equal(new Set(acks.map((a) => a.entry)).size, 100);
    assert.deepEqual(acks.slice(90).map((a) => Buffer.from(a.entry.data).toString()), rejected.users.map((u) => u.payload));
  });

  it('sends an entry too big for an aggregate on its own, unaggregated, and stays within the request limits', async () => {
    const { client, requests } = fakeKinesis();
    const producer = new KinesisProducer({ client, streamName: 's', clock: fastClock, aggregate: true, lingerMs: 1_000 });
    await producer.put(entry('A', 'small-1'));
    await producer.put(entry('A', 'y'.repeat(200_000)));
    await producer.put(entry('A', 'small-2'));
    await producer.flush();
    const records = requests.flat();
    assert.deepEqual(
      records.map((r) => r.users.map((u) => u.payload.slice(0, 7))),
      [['small-1'], ['yyyyyyy'], ['small-2']],
    );
    assert.equal(records[1]?.bytes, 200_000, 'the big one is a plain record');
  });
});
