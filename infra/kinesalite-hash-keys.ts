/**
 * kinesalite's partition-key hashing, remembered. For every record put, kinesalite
 * (db/index.js partitionKeyToHashKey) turns the MD5 of the partition key into a bignumber.js
 * number, then compares it with each open shard's hash-key range, given as decimal strings that
 * bignumber.js parses again on every comparison. A replay has few partition keys (one per ticker)
 * and a stream has few shards, so both are remembered: the hash key per partition key, and each
 * comparison's result per (hash key, operand). The value returned is kinesalite's own number
 * (its prototype), so every other method works as before; only `comparedTo` with a string or
 * number operand is answered from memory after its first call, with the result kinesalite's
 * comparison gave for the same operands.
 *
 * Bounded: the memory is dropped whenever it reaches MAX_KEYS partition keys (a stream written
 * with random partition keys just gets no benefit).
 */

/** The part of a bignumber.js number this needs. */
export interface HashKeyNumber {
  comparedTo(other: unknown): number;
}

const MAX_KEYS = 10_000;

/** `hashOf` (kinesalite's partitionKeyToHashKey) with its results and their comparisons remembered. */
export function rememberingHashKeys<N extends HashKeyNumber>(hashOf: (partitionKey: string) => N): (partitionKey: string) => N {
  const known = new Map<string, N>();
  return (partitionKey) => {
    let remembered = known.get(partitionKey);
    if (remembered !== undefined) return remembered;
    const value = hashOf(partitionKey);
    const comparisons = new Map<string | number, number>();
    // Inherits the number's fields and methods; only comparedTo is its own.
    remembered = Object.create(value, {
      comparedTo: {
        value: (other: unknown): number => {
          if (typeof other !== 'string' && typeof other !== 'number') return value.comparedTo(other);
          let result = comparisons.get(other);
          if (result === undefined) comparisons.set(other, (result = value.comparedTo(other)));
          return result;
        },
      },
    }) as N;
    if (known.size >= MAX_KEYS) known.clear();
    known.set(partitionKey, remembered);
    return remembered;
  };
}

/** Replaces partitionKeyToHashKey on kinesalite's db module (`require('kinesalite/db')`). */
export function installRememberingHashKeys(db: { partitionKeyToHashKey: (partitionKey: string) => HashKeyNumber }): void {
  db.partitionKeyToHashKey = rememberingHashKeys(db.partitionKeyToHashKey);
}
