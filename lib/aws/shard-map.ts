/**
 * Predicts the shard a partition key lands on, as Kinesis does: MD5 of the key as a 128-bit
 * integer, matched against each open shard's hash key range. The producer uses it to keep at most
 * one request per shard in flight, which is what keeps per-ticker order across concurrent batches.
 */
import { createHash } from 'node:crypto';
import { ListShardsCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';

interface Range {
  shardId: string;
  start: bigint;
  end: bigint;
}

export class ShardMap {
  private readonly cache = new Map<string, string>();

  constructor(private readonly ranges: readonly Range[]) {
    if (ranges.length === 0) throw new Error('ShardMap needs at least one open shard');
  }

  static fromShards(shards: readonly Shard[]): ShardMap {
    const open = shards.filter((s) => s.SequenceNumberRange?.EndingSequenceNumber === undefined);
    return new ShardMap(
      open.map((s) => ({
        shardId: s.ShardId ?? '',
        start: BigInt(s.HashKeyRange?.StartingHashKey ?? '0'),
        end: BigInt(s.HashKeyRange?.EndingHashKey ?? '0'),
      })),
    );
  }

  get shardIds(): string[] {
    return this.ranges.map((r) => r.shardId);
  }

  /** Same shards with the same hash key ranges. */
  sameAs(other: ShardMap): boolean {
    return (
      this.ranges.length === other.ranges.length &&
      this.ranges.every((r, i) => {
        const o = other.ranges[i];
        return o !== undefined && o.shardId === r.shardId && o.start === r.start && o.end === r.end;
      })
    );
  }

  shardFor(partitionKey: string): string {
    const cached = this.cache.get(partitionKey);
    if (cached !== undefined) return cached;
    const hash = BigInt('0x' + createHash('md5').update(partitionKey, 'utf8').digest('hex'));
    const range = this.ranges.find((r) => hash >= r.start && hash <= r.end);
    // Ranges of open shards cover the whole key space; fall back to the first only if a
    // resharding left a gap in what we listed.
    const shardId = range?.shardId ?? (this.ranges[0] as Range).shardId;
    // Tickers are few; a bound keeps a pathological key space from growing the cache forever.
    if (this.cache.size < 100_000) this.cache.set(partitionKey, shardId);
    return shardId;
  }
}

/** Every shard of the stream (ListShards, all pages). */
export async function listShards(kinesis: Pick<KinesisClient, 'send'>, streamName: string): Promise<Shard[]> {
  const shards: Shard[] = [];
  let nextToken: string | undefined;
  do {
    const page = await kinesis.send(
      nextToken === undefined ? new ListShardsCommand({ StreamName: streamName }) : new ListShardsCommand({ NextToken: nextToken }),
    );
    shards.push(...(page.Shards ?? []));
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return shards;
}

export async function loadShardMap(kinesis: Pick<KinesisClient, 'send'>, streamName: string): Promise<ShardMap> {
  return ShardMap.fromShards(await listShards(kinesis, streamName));
}
