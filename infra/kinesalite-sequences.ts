/**
 * kinesalite's sequence-number codec on native BigInt. kinesalite (db/index.js) turns a 56-digit
 * decimal sequence number into hex and back with bignumber.js for every record it stores and every
 * record it reads (parseSequence, stringifySequence, incrementSequence); in a profile of the
 * emulator under the PutRecords floor with reads, that base conversion was a third of its CPU.
 * These are the same functions with the arithmetic on BigInt and every string operation kept as
 * kinesalite has it, so the results are the same: a differential test compares them with the
 * originals. Input the fast path does not cover (anything but an integer, hex pieces that are not
 * hex) goes to the original function, so odd input behaves exactly as before.
 *
 * Installed on kinesalite's own db module (its actions call `db.parseSequence(…)` through the
 * module's exports); kinesalite is pinned (package.json) because this relies on that layout.
 */

/** The three functions of kinesalite's db module (plain functions: they use no `this`). */
export interface SequenceCodec {
  parseSequence: (seq: unknown) => SequenceParts;
  stringifySequence: (obj: SequenceParts) => string;
  incrementSequence: (seqObj: SequenceParts | string, seqTime?: number | null) => string;
}

/** What kinesalite's parseSequence returns (and stringifySequence reads). */
export interface SequenceParts {
  shardCreateTime: number;
  seqIx?: string | number;
  byte1?: string;
  seqTime?: number;
  seqRand?: string;
  shardIx?: number;
  version?: number | null;
}

const POW_2_124 = 1n << 124n;
const POW_2_124_NEXT = (1n << 125n) * 16n;
const POW_2_185 = 1n << 185n;
const POW_2_185_NEXT = POW_2_185 + (POW_2_185 >> 1n);
const INTEGER = /^-?\d+$/;
const HEX = /^[0-9a-f]+$/;

/** The integer `value` denotes, when it is one BigInt reads exactly as bignumber.js does. */
function integerOf(value: unknown): bigint | undefined {
  if (typeof value === 'string') return INTEGER.test(value) ? BigInt(value) : undefined;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : undefined;
  return undefined;
}

const shardIxToHex = (shardIx: number | undefined): string => ('0000000' + (shardIx || 0).toString(16)).slice(-8);

/** `new BigNumber(hex, 16).toFixed()` for a hex string of digits only; undefined otherwise. */
function decimalOfHex(hex: string): string | undefined {
  return HEX.test(hex) ? BigInt('0x' + hex).toString() : undefined;
}

/** The BigInt versions, falling back to `original`'s functions for input they do not cover. */
export function fastSequenceCodec(original: SequenceCodec): SequenceCodec {
  function parseSequence(seq: unknown): SequenceParts {
    let seqNum = integerOf(seq);
    if (seqNum === undefined) return original.parseSequence(seq);
    if (seqNum < POW_2_124) seqNum += POW_2_124;
    const hex = seqNum.toString(16);
    const version = seqNum < POW_2_124_NEXT ? 0 : seqNum > POW_2_185 && seqNum < POW_2_185_NEXT ? parseInt(hex.slice(hex.length - 1), 16) : null;
    if (version == 2) {
      const seqIxHex = hex.slice(11, 27);
      let shardIxHex = hex.slice(38, 46);
      if (parseInt(seqIxHex[0] ?? '', 16) > 7) throw new Error('Sequence index too high');
      if (parseInt(shardIxHex[0] ?? '', 16) > 7) shardIxHex = '-' + shardIxHex;
      const shardCreateSecs = parseInt(hex.slice(1, 10), 16);
      if (shardCreateSecs >= 16025175000) throw new Error('Date too large: ' + shardCreateSecs);
      const seqIx = decimalOfHex(seqIxHex);
      if (seqIx === undefined) return original.parseSequence(seq);
      return {
        shardCreateTime: shardCreateSecs * 1000,
        seqIx,
        byte1: hex.slice(27, 29),
        seqTime: parseInt(hex.slice(29, 38), 16) * 1000,
        shardIx: parseInt(shardIxHex, 16),
        version: version,
      };
    }
    // Versions 0 and 1 (and the errors) use no big arithmetic past this point.
    return original.parseSequence(seq);
  }

  function stringifySequence(obj: SequenceParts): string {
    if (obj.version == null || obj.version == 2) {
      const seqIx = integerOf(obj.seqIx || 0);
      if (seqIx === undefined) return original.stringifySequence(obj);
      const hex = [
        '2',
        ('00000000' + Math.floor(obj.shardCreateTime / 1000).toString(16)).slice(-9),
        (obj.shardIx || 0).toString(16).slice(-1),
        ('0000000000000000' + seqIx.toString(16)).slice(-16),
        obj.byte1 || '00',
        ('00000000' + Math.floor((obj.seqTime || obj.shardCreateTime) / 1000).toString(16)).slice(-9),
        shardIxToHex(obj.shardIx),
        '2',
      ].join('');
      return decimalOfHex(hex) ?? original.stringifySequence(obj);
    }
    return original.stringifySequence(obj);
  }

  function incrementSequence(seqObj: SequenceParts | string, seqTime?: number | null): string {
    const parts = typeof seqObj == 'string' ? parseSequence(seqObj) : seqObj;
    return stringifySequence({
      shardCreateTime: parts.shardCreateTime,
      seqIx: parts.seqIx,
      // As kinesalite has it: a missing seqTime makes NaN, which the original then handles.
      seqTime: seqTime || (parts.seqTime as number) + 1000,
      shardIx: parts.shardIx,
    });
  }

  return { parseSequence, stringifySequence, incrementSequence };
}

/** Replaces kinesalite's codec functions on its db module (`db` is `require('kinesalite/db')`). */
export function installFastSequenceCodec(db: SequenceCodec): void {
  const original: SequenceCodec = { parseSequence: db.parseSequence, stringifySequence: db.stringifySequence, incrementSequence: db.incrementSequence };
  Object.assign(db, fastSequenceCodec(original));
}
