/**
 * The lease coordinator against a scripted lease store: handing a lease over after the consumer
 * stopped, and never mistaking a lease in transfer for one handed to this worker.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LeaseCoordinator, type HeldLease } from '../../../lib/consumer/lease-coordinator.ts';
import { LeaseLostError, SHARD_END, type Lease, type LeaseStore } from '../../../lib/consumer/lease-table.ts';
import type { ShardInfo } from '../../../lib/consumer/shard-lineage.ts';
import type { Clock } from '../../../lib/time/clock.ts';

/** Sleepers wake only when the test advances time (the coordinator's loop never spins). */
class ManualClock implements Clock {
  private time = 0;
  private sleepers: Array<{ until: number; wake: () => void }> = [];

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const sleeper = { until: this.time + ms, wake: resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  advance(ms: number): void {
    this.time += ms;
    const due = this.sleepers.filter((s) => s.until <= this.time);
    this.sleepers = this.sleepers.filter((s) => s.until > this.time);
    for (const s of due) s.wake();
  }
}

/** An in-memory lease table with the same conditional semantics, and a gate to hold transfers. */
class MemoryLeases implements LeaseStore {
  readonly items = new Map<string, Lease>();
  transferGate: Promise<void> = Promise.resolve();

  constructor(shardIds: string[]) {
    for (const shardId of shardIds) this.items.set(shardId, { shardId, owner: undefined, counter: 0, checkpoint: undefined, floor: undefined, pendingOwner: undefined });
  }

  private get(shardId: string): Lease {
    return this.items.get(shardId) ?? assert.fail(`no lease ${shardId}`);
  }

  private owned(shardId: string, owner: string): Lease {
    const lease = this.get(shardId);
    if (lease.owner !== owner) throw new LeaseLostError(shardId, owner);
    return lease;
  }

  list(shardIds: readonly string[]): Promise<Lease[]> {
    return Promise.resolve(shardIds.map((id) => ({ ...this.get(id) })));
  }

  take(lease: Lease, owner: string): Promise<Lease | undefined> {
    const now = this.get(lease.shardId);
    if (now.counter !== lease.counter) return Promise.resolve(undefined);
    Object.assign(now, { owner, counter: now.counter + 1, pendingOwner: undefined });
    return Promise.resolve({ ...now });
  }

  renew(shardId: string, owner: string): Promise<Lease> {
    const lease = this.owned(shardId, owner);
    lease.counter++;
    return Promise.resolve({ ...lease });
  }

  checkpoint(shardId: string, owner: string, sequenceNumber: string): Promise<Lease> {
    const lease = this.owned(shardId, owner);
    Object.assign(lease, { checkpoint: sequenceNumber, counter: lease.counter + 1 });
    return Promise.resolve({ ...lease });
  }

  release(shardId: string, owner: string): Promise<void> {
    const lease = this.get(shardId);
    if (lease.owner === owner) Object.assign(lease, { owner: undefined, pendingOwner: undefined, counter: lease.counter + 1 });
    return Promise.resolve();
  }

  requestHandoff(lease: Lease, requester: string): Promise<boolean> {
    const now = this.get(lease.shardId);
    if (now.owner !== lease.owner || now.pendingOwner !== undefined) return Promise.resolve(false);
    now.pendingOwner = requester;
    return Promise.resolve(true);
  }

  finish(shardId: string, owner: string): Promise<void> {
    const lease = this.owned(shardId, owner);
    Object.assign(lease, { owner: undefined, pendingOwner: undefined, checkpoint: SHARD_END, counter: lease.counter + 1 });
    return Promise.resolve();
  }

  async transfer(shardId: string, owner: string, to: string): Promise<void> {
    await this.transferGate;
    const lease = this.owned(shardId, owner);
    Object.assign(lease, { owner: to, pendingOwner: undefined, counter: lease.counter + 1 });
  }
}

/** Lets pending promise callbacks run (the coordinator's rounds are chains of awaits). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

/** Open shards with no parents. */
const unsplit = (...ids: string[]): (() => Promise<ShardInfo[]>) => () => Promise.resolve(ids.map((shardId) => ({ shardId, parents: [], closed: false })));

describe('lease coordinator', () => {
  it('hands a requested lease over only once the consumer stopped, and does not take it back meanwhile', async () => {
    const table = new MemoryLeases(['s0', 's1']);
    const clock = new ManualClock();
    const acquired: HeldLease[] = [];
    const a = new LeaseCoordinator({ table, workerId: 'A', listShards: unsplit('s0', 's1'), leaseDurationMs: 3_000, clock, random: () => 0, onAcquired: (l) => acquired.push(l) });
    await a.start();
    assert.deepEqual(a.heldShards().sort(), ['s0', 's1']);

    // B asks for s1.
    assert.equal(await table.requestHandoff({ ...(table.items.get('s1') as Lease) }, 'B'), true);
    // A notices at its next checkpoint: the shard's signal aborts, the lease is still A's.
    const s1 = acquired.find((l) => l.shardId === 's1') ?? assert.fail('s1 not acquired');
    await s1.checkpoint('42');
    assert.equal(s1.signal.aborted, true);
    assert.equal(table.items.get('s1')?.owner, 'A');

    // The consumer reports it stopped; the transfer is slow, and a round runs meanwhile.
    let open = (): void => undefined;
    table.transferGate = new Promise<void>((resolve) => (open = resolve));
    const stopped = s1.stopped();
    clock.advance(1_000);
    await settle();
    assert.equal(acquired.filter((l) => l.shardId === 's1').length, 1, 'not re-adopted while the transfer is in flight');
    open();
    await stopped;
    assert.equal(table.items.get('s1')?.owner, 'B');
    assert.equal(table.items.get('s1')?.checkpoint, '42', 'B starts after the last batch A processed');
    assert.deepEqual(a.heldShards(), ['s0']);
    assert.equal(a.stats.handedOver, 1);

    await a.stop();
    assert.equal(table.items.get('s0')?.owner, undefined, 'released on stop');
  });

  it('takes the children of a reshard only once their parent is finished', async () => {
    const table = new MemoryLeases(['p', 'c1', 'c2']);
    const clock = new ManualClock();
    const acquired: HeldLease[] = [];
    const shards: ShardInfo[] = [
      { shardId: 'p', parents: [], closed: true },
      { shardId: 'c1', parents: ['p'], closed: false },
      { shardId: 'c2', parents: ['p'], closed: false },
    ];
    const a = new LeaseCoordinator({ table, workerId: 'A', listShards: () => Promise.resolve(shards), leaseDurationMs: 3_000, clock, random: () => 0, onAcquired: (l) => acquired.push(l) });
    await a.start();
    assert.deepEqual(a.heldShards(), ['p'], 'the children wait for their parent');
    clock.advance(1_000);
    await settle();
    assert.deepEqual(a.heldShards(), ['p']);

    const parent = acquired[0] ?? assert.fail('p not acquired');
    assert.equal(parent.isClosed(), true);
    await parent.finish();
    assert.equal(table.items.get('p')?.checkpoint, SHARD_END);
    assert.equal(table.items.get('p')?.owner, undefined, 'a finished lease is given up');
    // Finishing wakes the coordinator: no need to wait for the next round.
    for (let i = 0; i < 5 && a.heldShards().length < 2; i++) await settle();
    assert.deepEqual(a.heldShards().sort(), ['c1', 'c2']);
    assert.equal(a.stats.finished, 1);
    await a.stop();
  });
});
