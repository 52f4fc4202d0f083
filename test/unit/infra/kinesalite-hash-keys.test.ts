/**
 * The remembered partition-key hashing against kinesalite's own: the same comparisons with every
 * shard range (repeatedly, as puts do), and a number that still behaves as kinesalite's elsewhere.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { rememberingHashKeys, type HashKeyNumber } from '../../../infra/kinesalite-hash-keys.ts';
import { mulberry32 } from '../../../data/generate.ts';

interface BigNumberLike extends HashKeyNumber {
  toFixed(): string;
  plus(n: number): BigNumberLike;
}

const require = createRequire(import.meta.url);
const db = createRequire(require.resolve('kinesalite'))('./db') as { partitionKeyToHashKey: (key: string) => BigNumberLike };
const original = db.partitionKeyToHashKey;

describe('remembered partition-key hashes', () => {
  it('compare with every shard boundary exactly as kinesalite does, first time and after', () => {
    const rand = mulberry32(7);
    const fast = rememberingHashKeys(original);
    // Boundaries of 1 to 50 even shards over [0, 2^128), as strings (how kinesalite stores them).
    const bounds: Array<string | number> = [0, '0', String(2n ** 128n - 1n), String(2n ** 127n), '1e38', 2 ** 53];
    for (let shards = 1; shards <= 50; shards++) {
      for (let i = 1; i < shards; i++) bounds.push(String(((2n ** 128n) * BigInt(i)) / BigInt(shards)), String(((2n ** 128n) * BigInt(i)) / BigInt(shards) - 1n));
    }
    const keys = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? `AAPL${i % 7}` : `k${Math.floor(rand() * 1e9)}`));
    for (let round = 0; round < 3; round++) {
      for (const key of keys) {
        for (const bound of bounds) assert.equal(fast(key).comparedTo(bound), original(key).comparedTo(bound), `${key} vs ${bound}`);
      }
    }
  });

  it('returns a number that is kinesalite\'s in every other respect', () => {
    const fast = rememberingHashKeys(original);
    for (const key of ['AAPL', 'MSFT', 'x', '']) {
      assert.equal(fast(key).toFixed(), original(key).toFixed());
      assert.equal(fast(key).plus(1).toFixed(), original(key).plus(1).toFixed());
      assert.equal(original(key).comparedTo(fast(key)), 0, 'an operand of its own kind compares equal');
      assert.equal(fast(key).comparedTo(original(key)), 0);
    }
  });
});
