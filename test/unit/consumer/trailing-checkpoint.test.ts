/** TrailingCheckpoint: the takeover bound and the order of writes, whatever the batch sizes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TrailingCheckpoint } from '../../../lib/consumer/trailing-checkpoint.ts';

/** A deterministic generator (a fixed LCG): batch sizes and write delays. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const turns = (n: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, n));

/** Handles `sizes` through a checkpoint with bound `max`; returns what the bound and order looked like. */
async function handle(sizes: readonly number[], max: number, random: () => number): Promise<{ outstanding: number[]; landed: number[]; writes: number }> {
  const checkpoint = new TrailingCheckpoint(max);
  let handled = 0;
  let durable = 0;
  const outstanding: number[] = [];
  const landed: number[] = [];
  for (const size of sizes) {
    await checkpoint.beforeBatch(size);
    // Invoked: these records may be written to the output from now on.
    outstanding.push(handled + size - durable);
    await turns(Math.floor(random() * 3));
    handled += size;
    const upTo = handled;
    await checkpoint.finished(size, async () => {
      await turns(Math.floor(random() * 4));
      durable = upTo;
      landed.push(upTo);
    });
  }
  await checkpoint.writeAll();
  assert.equal(durable, handled, 'everything handled is checkpointed at the end');
  return { outstanding, landed, writes: landed.length };
}

describe('TrailingCheckpoint', () => {
  it('never has more than the bound handled and not checkpointed, the batch being invoked included', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const random = lcg(seed);
      const sizes = Array.from({ length: 60 }, () => 1 + Math.floor(random() * 10));
      const { outstanding, landed } = await handle(sizes, 10, random);
      assert.ok(outstanding.every((n) => n <= 10), `seed ${seed}: ${outstanding.join(', ')}`);
      assert.deepEqual(landed, [...landed].sort((a, b) => a - b), `seed ${seed}: checkpoints land in order`);
    }
  });

  it('writes once per half bound of small batches, and every full batch before the next', async () => {
    const random = lcg(7);
    const small = await handle(Array.from({ length: 40 }, () => 1), 10, random);
    assert.equal(small.writes, 8);
    const full = await handle(Array.from({ length: 5 }, () => 10), 10, random);
    assert.deepEqual(full.outstanding, [10, 10, 10, 10, 10]);
    assert.equal(full.writes, 5);
  });

  it('with a bound of 0 writes every batch before the next is invoked (Lambda)', async () => {
    const { outstanding, writes } = await handle([3, 1, 4, 1, 5], 0, lcg(9));
    assert.deepEqual(outstanding, [3, 1, 4, 1, 5]);
    assert.equal(writes, 5);
  });
});
