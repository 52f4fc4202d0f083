/**
 * Waiting for a consumer application to catch up: polls its leases (strongly consistent) until
 * every shard's checkpoint reached a target sequence number. It does not matter which worker
 * process holds which shard, or whether one died and another took over: the leases are the truth.
 */
import { systemClock, type Clock } from '../time/clock.ts';
import { SHARD_END, type LeaseTable } from './lease-table.ts';

export interface CheckpointWaitOptions {
  signal?: AbortSignal;
  clock?: Clock;
  pollMs?: number;
  /** Told the shards still behind after each poll. */
  onPoll?: (behind: string[]) => void;
}

/** Resolves true once every target is checkpointed, false when `signal` aborted first. */
export async function waitForCheckpoints(table: LeaseTable, targets: ReadonlyMap<string, string>, options: CheckpointWaitOptions = {}): Promise<boolean> {
  const clock = options.clock ?? systemClock;
  const shardIds = [...targets.keys()];
  for (;;) {
    if (options.signal?.aborted) return false;
    const leases = await table.list(shardIds);
    // A shard finished after a reshard (SHARD_END) was read to its end: nothing of it is behind.
    const behind = leases
      .filter((lease) => lease.checkpoint !== SHARD_END && (lease.checkpoint === undefined || BigInt(lease.checkpoint) < BigInt(targets.get(lease.shardId) ?? '0')))
      .map((lease) => lease.shardId);
    options.onPoll?.(behind);
    if (behind.length === 0) return true;
    await clock.sleep(options.pollMs ?? 50, options.signal);
  }
}
