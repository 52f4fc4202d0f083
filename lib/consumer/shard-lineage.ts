/**
 * Which shards a consumer may process, once a stream has been resharded (pure). A split closes a
 * shard and opens two children; a merge closes two adjacent shards and opens one child. Records of
 * a key written before the change are in the parent, those after in a child, so a child is
 * processed only once each of its parents is finished — read to its end (SHARD_END) and
 * checkpointed as such — as the Kinesis Client Library and Lambda do. A parent no longer listed
 * (its records expired from the stream) holds nothing to wait for.
 */
import type { Shard } from '@aws-sdk/client-kinesis';
import { SHARD_END, type Lease } from './lease-table.ts';

export interface ShardInfo {
  shardId: string;
  /** The shard it was split from, or the two it was merged from. */
  parents: string[];
  /** No more records will be written to it (an ending sequence number). */
  closed: boolean;
}

export function shardInfos(shards: readonly Shard[]): ShardInfo[] {
  return shards.map((s) => ({
    shardId: s.ShardId ?? '',
    parents: [s.ParentShardId, s.AdjacentParentShardId].filter((p): p is string => p !== undefined && p !== null && p !== ''),
    closed: s.SequenceNumberRange?.EndingSequenceNumber !== undefined && s.SequenceNumberRange.EndingSequenceNumber !== null,
  }));
}

export function isFinished(lease: Pick<Lease, 'checkpoint'> | undefined): boolean {
  return lease?.checkpoint === SHARD_END;
}

/** The shards that may be processed now: not finished, and every listed parent finished. */
export function readyShards(shards: readonly ShardInfo[], leases: readonly Lease[]): Set<string> {
  const byId = new Map(leases.map((l) => [l.shardId, l]));
  const listed = new Set(shards.map((s) => s.shardId));
  const ready = new Set<string>();
  for (const shard of shards) {
    if (isFinished(byId.get(shard.shardId))) continue;
    if (shard.parents.every((p) => !listed.has(p) || isFinished(byId.get(p)))) ready.add(shard.shardId);
  }
  return ready;
}
