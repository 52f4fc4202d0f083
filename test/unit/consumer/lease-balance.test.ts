/** The lease balance rules (pure): who takes what, when a lease counts as expired, when to ask. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isExpired, observeLeases, planLeases, type LeaseObservation } from '../../../lib/consumer/lease-balance.ts';
import type { Lease } from '../../../lib/consumer/lease-table.ts';

const lease = (shardId: string, owner?: string, counter = 1, pendingOwner?: string): Lease => ({
  shardId,
  owner,
  counter,
  checkpoint: undefined,
  floor: undefined,
  pendingOwner,
});

/** Observations as if every lease was seen changing at `changedAt`. */
const seenAt = (leases: Lease[], changedAt: number): Map<string, LeaseObservation> => observeLeases(new Map(), leases, changedAt);

const first = (): number => 0;

describe('lease balance', () => {
  it('takes every free lease when it is the only worker', () => {
    const leases = ['s0', 's1', 's2', 's3'].map((id) => lease(id, undefined, 0));
    const plan = planLeases(leases, seenAt(leases, 0), 'me', 0, 5_000, first);
    assert.deepEqual(plan.take.map((l) => l.shardId).sort(), ['s0', 's1', 's2', 's3']);
    assert.equal(plan.target, 4);
    assert.equal(plan.steal, undefined);
  });

  it('takes only its fair share of free leases when another worker is live', () => {
    const leases = [lease('s0', 'other'), lease('s1', undefined, 0), lease('s2', undefined, 0), lease('s3', undefined, 0)];
    const plan = planLeases(leases, seenAt(leases, 0), 'me', 1_000, 5_000, first);
    assert.equal(plan.liveWorkers, 2);
    assert.equal(plan.target, 2);
    assert.equal(plan.take.length, 2);
    assert.ok(plan.take.every((l) => l.owner === undefined));
  });

  it('judges an owner dead only after its counter stood still for a lease period on this clock', () => {
    const leases = [lease('s0', 'silent', 7)];
    const observed = seenAt(leases, 1_000);
    assert.equal(isExpired(observed.get('s0') as LeaseObservation, 5_999, 5_000), false);
    assert.equal(isExpired(observed.get('s0') as LeaseObservation, 6_001, 5_000), true);
    // The counter moved (a renewal): the clock starts again.
    const renewed = observeLeases(observed, [lease('s0', 'silent', 8)], 5_500);
    assert.equal(isExpired(renewed.get('s0') as LeaseObservation, 6_001, 5_000), false);
    // Unchanged in a later listing: still measured from the last change.
    const again = observeLeases(renewed, [lease('s0', 'silent', 8)], 9_000);
    assert.equal(again.get('s0')?.changedAt, 5_500);
  });

  it('takes over all the leases of a dead worker', () => {
    const leases = ['s0', 's1', 's2', 's3'].map((id) => lease(id, 'dead', 3));
    const plan = planLeases(leases, seenAt(leases, 0), 'me', 10_000, 5_000, first);
    assert.equal(plan.liveWorkers, 1);
    assert.equal(plan.take.length, 4);
  });

  it('asks the busiest worker for one lease when it holds more than the target, never from a balanced one', () => {
    const busy = [lease('s0', 'a'), lease('s1', 'a'), lease('s2', 'a'), lease('s3', 'a')];
    const plan = planLeases(busy, seenAt(busy, 0), 'me', 1_000, 5_000, first);
    assert.equal(plan.take.length, 0);
    assert.equal(plan.steal?.owner, 'a');

    // 3 shards, 2 workers: 2 + 1 is balanced (target 2), nothing to ask for.
    const balanced = [lease('s0', 'a'), lease('s1', 'a'), lease('s2', 'me')];
    assert.equal(planLeases(balanced, seenAt(balanced, 0), 'me', 1_000, 5_000, first).steal, undefined);
  });

  it('counts a lease handed over to it as its own, unless its owner died meanwhile', () => {
    const leases = [lease('s0', 'a', 1, 'me'), lease('s1', 'a'), lease('s2', 'me'), lease('s3', 'a')];
    // Live owner: s0 is on its way, s2 held: the target of 2 is met.
    const live = planLeases(leases, seenAt(leases, 0), 'me', 1_000, 5_000, first);
    assert.equal(live.steal, undefined);
    assert.equal(live.take.length, 0);
    // Owner silent for a lease period: everything of it is taken over, the pending one included.
    const dead = planLeases(leases, seenAt(leases, 0), 'me', 10_000, 5_000, first);
    assert.deepEqual(dead.take.map((l) => l.shardId).sort(), ['s0', 's1', 's3']);
  });

  it('prefers free leases to those of silent owners', () => {
    const leases = [lease('s0', 'dead', 2), lease('s1', undefined, 4), lease('s2', 'other'), lease('s3', 'other')];
    const observed = seenAt(leases, 0);
    // `other` renewed recently; `dead` did not.
    const fresh = observeLeases(observed, [lease('s0', 'dead', 2), lease('s1', undefined, 4), lease('s2', 'other', 2), lease('s3', 'other', 2)], 9_000);
    const plan = planLeases([lease('s0', 'dead', 2), lease('s1', undefined, 4), lease('s2', 'other', 2), lease('s3', 'other', 2)], fresh, 'me', 10_000, 5_000, first);
    assert.equal(plan.target, 2);
    assert.deepEqual(plan.take.map((l) => l.shardId), ['s1', 's0']);
  });
});
