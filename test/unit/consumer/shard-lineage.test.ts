import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SHARD_END, type Lease } from '../../../lib/consumer/lease-table.ts';
import { readyShards, shardInfos, type ShardInfo } from '../../../lib/consumer/shard-lineage.ts';

const lease = (shardId: string, checkpoint?: string): Lease => ({ shardId, owner: undefined, counter: 1, checkpoint, floor: undefined, pendingOwner: undefined });
const shard = (shardId: string, ...parents: string[]): ShardInfo => ({ shardId, parents, closed: false });

describe('readyShards', () => {
  // s0 split into s4 and s5; s2 and s3 merged into s6.
  const shards = [shard('s0'), shard('s1'), shard('s2'), shard('s3'), shard('s4', 's0'), shard('s5', 's0'), shard('s6', 's2', 's3')];

  it('holds children back until their parents are finished', () => {
    const ready = readyShards(shards, [lease('s0', '17'), lease('s2', SHARD_END), lease('s3', '9')]);
    assert.deepEqual([...ready].sort(), ['s0', 's1', 's2', 's3'].filter((s) => s !== 's2'));
  });

  it('releases a split child once its parent is finished, a merged child once both are', () => {
    assert.deepEqual([...readyShards(shards, [lease('s0', SHARD_END), lease('s2', SHARD_END)])].sort(), ['s1', 's3', 's4', 's5']);
    assert.deepEqual([...readyShards(shards, [lease('s0', SHARD_END), lease('s2', SHARD_END), lease('s3', SHARD_END)])].sort(), ['s1', 's4', 's5', 's6']);
  });

  it('does not wait for a parent that is no longer listed (its records expired)', () => {
    assert.deepEqual([...readyShards([shard('s4', 's0')], [])], ['s4']);
  });

  it('reads parents and closed shards from ListShards', () => {
    assert.deepEqual(
      shardInfos([
        { ShardId: 'a', HashKeyRange: undefined, SequenceNumberRange: { StartingSequenceNumber: '1', EndingSequenceNumber: '9' } },
        { ShardId: 'b', ParentShardId: 'a', AdjacentParentShardId: 'c', HashKeyRange: undefined, SequenceNumberRange: { StartingSequenceNumber: '10' } },
      ]),
      [
        { shardId: 'a', parents: [], closed: true },
        { shardId: 'b', parents: ['a', 'c'], closed: false },
      ],
    );
  });
});
