/**
 * The producer across a reshard: its shard map goes stale, Kinesis says so (records land on
 * another shard than predicted), the new map takes effect only once every request sent under the
 * old one is answered, and each key's entries reach the stream in the order they were put.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { PutRecordsCommand, PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { KinesisProducer, type ProducerEntry } from '../../../lib/aws/producer.ts';
import { ShardMap } from '../../../lib/aws/shard-map.ts';
import { decodeAggregated, isAggregated } from '../../../lib/records/kpl-format.ts';
import { mulberry32 } from '../../../data/generate.ts';

const MAX = 2n ** 128n - 1n;
const HALF = MAX / 2n;
const before = new ShardMap([{ shardId: 'parent', start: 0n, end: MAX }]);
const after = new ShardMap([
  { shardId: 'low', start: 0n, end: HALF },
  { shardId: 'high', start: HALF + 1n, end: MAX },
]);
const hash = (key: string): bigint => BigInt('0x' + createHash('md5').update(key, 'utf8').digest('hex'));

/**
 * Kinesis already split: every record lands on its key's child. Answers come after a random
 * delay, and a record is stored (given its order) only when answered, so two requests racing for
 * one key would show as entries stored out of order.
 */
function splitStream(seed: number): { client: { send(command: PutRecordsCommand): Promise<PutRecordsCommandOutput> }; stored: Map<string, number[]>; inFlightPerKey: Map<string, number>; maxInFlightPerKey: () => number } {
  const random = mulberry32(seed);
  const stored = new Map<string, number[]>();
  const inFlightPerKey = new Map<string, number>();
  let worst = 0;
  let sequence = 0;
  const client = {
    async send(command: PutRecordsCommand): Promise<PutRecordsCommandOutput> {
      const records = command.input.Records ?? [];
      const keys = new Set(records.map((r) => r.PartitionKey ?? ''));
      for (const key of keys) {
        inFlightPerKey.set(key, (inFlightPerKey.get(key) ?? 0) + 1);
        worst = Math.max(worst, inFlightPerKey.get(key) ?? 0);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 4)));
      for (const key of keys) inFlightPerKey.set(key, (inFlightPerKey.get(key) ?? 1) - 1);
      return {
        $metadata: {},
        FailedRecordCount: 0,
        Records: records.map((r) => {
          const data = Buffer.from(r.Data ?? new Uint8Array());
          const users = isAggregated(data) ? decodeAggregated(data) : [{ partitionKey: r.PartitionKey ?? '', data }];
          for (const u of users) {
            const [key, n] = Buffer.from(u.data).toString().split(':');
            stored.set(key ?? '', [...(stored.get(key ?? '') ?? []), Number(n)]);
          }
          return { ShardId: hash(r.PartitionKey ?? '') <= HALF ? 'low' : 'high', SequenceNumber: String(++sequence) };
        }),
      };
    },
  };
  return { client, stored, inFlightPerKey, maxInFlightPerKey: () => worst };
}

const keys = Array.from({ length: 12 }, (_, i) => `K${i}`);

for (const aggregate of [false, true]) {
  describe(`KinesisProducer across a reshard (aggregation ${aggregate ? 'on' : 'off'})`, () => {
    it('refreshes its stale map when records land elsewhere, and keeps every key in order across the change', async () => {
      const stream = splitStream(aggregate ? 7 : 3);
      let listings = 0;
      const producer = new KinesisProducer<ProducerEntry>({
        client: stream.client,
        streamName: 's',
        shardMap: before,
        // ListShards takes a moment, like any call: requests go on under the old map meanwhile.
        loadShardMap: async () => {
          listings++;
          await new Promise((resolve) => setTimeout(resolve, 2));
          return after;
        },
        aggregate,
        maxBatchRecords: 20,
        maxAggregatedRecords: 5,
        lingerMs: 1,
      });
      const perKey = 400;
      for (let n = 0; n < perKey; n++) for (const key of keys) await producer.put({ partitionKey: key, data: Buffer.from(`${key}:${n}`) });
      await producer.flush();

      assert.equal(producer.stats.shardMapChanges, 1, 'the new map took effect once');
      assert.ok(listings >= 1);
      assert.equal(stream.maxInFlightPerKey(), 1, 'never two requests in flight for one key');
      for (const key of keys) assert.deepEqual(stream.stored.get(key), Array.from({ length: perKey }, (_, n) => n), `${key} stored once each, in order`);
    });
  });
}
