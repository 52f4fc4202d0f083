/**
 * The BigInt sequence codec against kinesalite's own (bignumber.js) functions: same results, same
 * errors, on sequence numbers kinesalite itself makes and on odd input.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { fastSequenceCodec, type SequenceCodec, type SequenceParts } from '../../../infra/kinesalite-sequences.ts';
import { mulberry32 } from '../../../data/generate.ts';

const require = createRequire(import.meta.url);
const kinesaliteDb = createRequire(require.resolve('kinesalite'))('./db') as SequenceCodec;
const original: SequenceCodec = {
  parseSequence: kinesaliteDb.parseSequence,
  stringifySequence: kinesaliteDb.stringifySequence,
  incrementSequence: kinesaliteDb.incrementSequence,
};
const fast = fastSequenceCodec(original);

/** What a call gives: its value, or the error it throws (by message). */
function outcome<T>(call: () => T): { value: T } | { error: string } {
  try {
    return { value: call() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

function sameOutcome<T>(label: string, a: () => T, b: () => T): void {
  assert.deepEqual(outcome(a), outcome(b), label);
}

describe('kinesalite sequence codec on BigInt', () => {
  const rand = mulberry32(2026);
  const int = (max: number): number => Math.floor(rand() * max);
  /** The parts kinesalite stringifies: as putRecords, createStream and incrementSequence give them. */
  const parts = (): SequenceParts => ({
    shardCreateTime: 1_500_000_000_000 + int(400_000_000) * 1000,
    shardIx: int(5) === 0 ? int(60) : int(4),
    seqIx: int(3) === 0 ? String(int(2 ** 31)) : int(4) === 0 ? '0' : int(100_000),
    seqTime: int(4) === 0 ? undefined : 1_700_000_000_000 + int(2 ** 30),
    byte1: int(3) === 0 ? undefined : int(256).toString(16).padStart(2, '0'),
  });

  it('stringifies, parses and increments exactly as kinesalite does', () => {
    for (let i = 0; i < 5_000; i++) {
      const p = parts();
      sameOutcome(`stringify ${JSON.stringify(p)}`, () => fast.stringifySequence(p), () => original.stringifySequence(p));
      const seq = original.stringifySequence(p);
      sameOutcome(`parse ${seq}`, () => fast.parseSequence(seq), () => original.parseSequence(seq));
      const parsed = original.parseSequence(seq);
      sameOutcome(`increment ${seq}`, () => fast.incrementSequence(seq), () => original.incrementSequence(seq));
      sameOutcome(`increment parts of ${seq}`, () => fast.incrementSequence(parsed, 1_800_000_000_000), () => original.incrementSequence(parsed, 1_800_000_000_000));
    }
  });

  it('gives the same results and errors for odd input (versions 0 and 1, small, negative, non-integer, garbage)', () => {
    const odd: unknown[] = [
      '0', '1', '5', '-5', '12.5', '1e60', 'abc', '', ' 1', '+7', 7, 7.5, Number.NaN,
      String(2n ** 124n), String(2n ** 124n - 1n), String(2n ** 129n - 1n), String(2n ** 129n), String(2n ** 185n), String(2n ** 185n + (2n ** 184n)),
      // A version 2 number whose sequence index starts with a digit over 7, and one dated too late.
      (BigInt('0x2' + '0'.repeat(9) + '0' + '8' + '0'.repeat(15) + '00' + '0'.repeat(9) + '00000000' + '2')).toString(),
      (BigInt('0x2' + 'fffffffff' + '0' + '0'.repeat(16) + '00' + '0'.repeat(9) + '00000000' + '2')).toString(),
    ];
    for (let i = 0; i < 200; i++) {
      odd.push(original.stringifySequence({ ...parts(), version: 0, seqRand: int(2 ** 31).toString(16).padStart(16, '0') }));
      odd.push(original.stringifySequence({ ...parts(), version: 1, seqRand: int(2 ** 31).toString(16).padStart(14, '0'), seqIx: int(256) }));
    }
    for (const seq of odd) sameOutcome(`parse ${String(seq)}`, () => fast.parseSequence(seq), () => original.parseSequence(seq));
    const oddParts: SequenceParts[] = [
      { shardCreateTime: 1_600_000_000_000, shardIx: -1, seqIx: 3 },
      { shardCreateTime: 1_600_000_000_000, seqIx: 2.5 },
      { shardCreateTime: 1_600_000_000_000, seqIx: '-4' },
      { shardCreateTime: 1_600_000_000_000, seqIx: 'xyz' },
      { shardCreateTime: Number.NaN },
      { shardCreateTime: 1_600_000_000_000, version: 0, shardIx: 3 },
      { shardCreateTime: 1_600_000_000_000, version: 1, shardIx: 3, seqIx: 9 },
      { shardCreateTime: 1_600_000_000_000, version: 7 },
    ];
    for (const p of oddParts) {
      sameOutcome(`stringify ${JSON.stringify(p)}`, () => fast.stringifySequence(p), () => original.stringifySequence(p));
      sameOutcome(`increment ${JSON.stringify(p)}`, () => fast.incrementSequence(p), () => original.incrementSequence(p));
    }
  });
});
