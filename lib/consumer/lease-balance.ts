/**
 * Which leases a worker should take, decided from what it has observed (pure; the coordinator
 * does the I/O). The rules are the Kinesis Client Library's LeaseTaker, simplified:
 *
 * - a lease is expired when it is free or its counter has not moved for a lease period, as
 *   measured on this worker's clock since it last saw the counter change;
 * - live workers are the owners of unexpired leases, plus this one; each should hold
 *   ceil(shards / workers);
 * - a worker below that target takes expired leases first, in random order so that workers
 *   starting together do not all race for the same one;
 * - with nothing expired to take, it asks for one lease per round from the most loaded worker,
 *   and only if that worker holds more than the target (so balance converges and never flaps).
 *   The KCL steals outright; here the owner hands the lease over after its batch in hand
 *   (LeaseTable.requestHandoff), so rebalancing never processes a batch twice.
 */
import type { Lease } from './lease-table.ts';

export interface LeaseObservation {
  counter: number;
  owner: string | undefined;
  /** When (this worker's clock, ms) the counter was last seen to change. */
  changedAt: number;
}

/** Updates the observations with a fresh listing; a lease seen for the first time counts as changed now. */
export function observeLeases(
  previous: ReadonlyMap<string, LeaseObservation>,
  leases: readonly Lease[],
  now: number,
): Map<string, LeaseObservation> {
  const next = new Map<string, LeaseObservation>();
  for (const lease of leases) {
    const before = previous.get(lease.shardId);
    const unchanged = before !== undefined && before.counter === lease.counter && before.owner === lease.owner;
    next.set(lease.shardId, { counter: lease.counter, owner: lease.owner, changedAt: unchanged ? before.changedAt : now });
  }
  return next;
}

export function isExpired(observation: LeaseObservation, now: number, leaseDurationMs: number): boolean {
  return observation.owner === undefined || now - observation.changedAt > leaseDurationMs;
}

export interface LeasePlan {
  take: Lease[];
  steal: Lease | undefined;
  target: number;
  liveWorkers: number;
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export function planLeases(
  leases: readonly Lease[],
  observations: ReadonlyMap<string, LeaseObservation>,
  me: string,
  now: number,
  leaseDurationMs: number,
  random: () => number,
): LeasePlan {
  const expired: Lease[] = [];
  const heldBy = new Map<string, Lease[]>();
  const hold = (owner: string, lease: Lease): void => {
    const held = heldBy.get(owner);
    if (held === undefined) heldBy.set(owner, [lease]);
    else held.push(lease);
  };
  for (const lease of leases) {
    if (lease.owner === me) {
      hold(me, lease);
      continue;
    }
    const observation = observations.get(lease.shardId);
    if (observation === undefined || isExpired(observation, now, leaseDurationMs)) expired.push(lease);
    // Being handed over to this worker by a live owner: counts as its own already.
    else if (lease.pendingOwner === me) hold(me, lease);
    else hold(lease.owner ?? '', lease);
  }
  const liveWorkers = new Set([...heldBy.keys(), me]).size;
  const target = Math.ceil(leases.length / liveWorkers);
  const need = target - (heldBy.get(me)?.length ?? 0);
  if (need <= 0) return { take: [], steal: undefined, target, liveWorkers };
  if (expired.length > 0) {
    // Free leases (released on shutdown) before those of silent owners: no waiting needed for them.
    const free = shuffled(expired.filter((l) => l.owner === undefined), random);
    const stale = shuffled(expired.filter((l) => l.owner !== undefined), random);
    return { take: [...free, ...stale].slice(0, need), steal: undefined, target, liveWorkers };
  }
  let victim: Lease[] = [];
  for (const [owner, held] of heldBy) if (owner !== me && held.length > victim.length) victim = held;
  const steal = victim.length > target ? shuffled(victim, random)[0] : undefined;
  return { take: [], steal, target, liveWorkers };
}
