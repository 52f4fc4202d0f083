import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { decodeAggregated, encodeAggregated, firstAggregatedData, isAggregated, KplFormatError, type UserRecord } from '../../../lib/records/kpl-format.ts';

/**
 * Produced by the awslabs library itself (aws-kinesis-agg 4.2.8, `aggregate()` on the records of
 * `GOLDEN_RECORDS`), so the codec is checked against the reference implementation's bytes.
 */
const GOLDEN =
  'f3899ac20a044141504c0a044d534654120531323334351a0b08001a077b2261223a317d1a0908011a0568656c6c6f1a0408001a001a09080010001a0300ff010b421fd04181665320a3770363ea84d0';
const GOLDEN_RECORDS: UserRecord[] = [
  { partitionKey: 'AAPL', data: Buffer.from('{"a":1}') },
  { partitionKey: 'MSFT', data: Buffer.from('hello') },
  { partitionKey: 'AAPL', data: Buffer.from('') },
  { partitionKey: 'AAPL', explicitHashKey: '12345', data: Buffer.from([0, 255, 1]) },
];

function plain(records: UserRecord[]): Array<{ partitionKey: string; explicitHashKey?: string; data: string }> {
  return records.map((r) => ({ ...r, data: Buffer.from(r.data).toString('hex') }));
}

/** Re-frames a protobuf body with the magic and a correct digest (to test protobuf errors alone). */
function framed(protobuf: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0xf3, 0x89, 0x9a, 0xc2]), protobuf, createHash('md5').update(protobuf).digest()]);
}

function rejects(data: Uint8Array, reason: RegExp): void {
  assert.throws(() => decodeAggregated(data), (error: unknown) => error instanceof KplFormatError && reason.test(error.reason));
}

describe('KPL aggregated-record format', () => {
  it('encodes exactly the bytes aws-kinesis-agg produces, and decodes them back', () => {
    const encoded = encodeAggregated(GOLDEN_RECORDS);
    assert.equal(encoded.toString('hex'), GOLDEN);
    assert.deepEqual(plain(decodeAggregated(Buffer.from(GOLDEN, 'hex'))), plain(GOLDEN_RECORDS));
  });

  it('round-trips many records in order, with multi-byte varints and UTF-8 keys', () => {
    const records: UserRecord[] = Array.from({ length: 700 }, (_, i) => ({
      partitionKey: `K${i % 150}-é`,
      data: Buffer.from('x'.repeat(i % 300) + String(i)),
    }));
    const encoded = encodeAggregated(records);
    assert.ok(isAggregated(encoded));
    assert.deepEqual(plain(decodeAggregated(encoded)), plain(records));
    assert.equal(firstAggregatedData(encoded)?.toString(), '0');
  });

  it('recognises the magic only at the start', () => {
    assert.equal(isAggregated(Buffer.from('{"v":1}')), false);
    assert.equal(isAggregated(Buffer.from([0xf3, 0x89, 0x9a])), false);
    assert.equal(isAggregated(undefined), false);
    assert.equal(firstAggregatedData(Buffer.from('{"v":1}')), undefined);
  });

  it('rejects a bad digest, a truncated record and bad protobuf with a reason', () => {
    const good = encodeAggregated(GOLDEN_RECORDS);
    const flipped = Buffer.from(good);
    flipped[10] = (flipped[10] as number) ^ 1;
    rejects(flipped, /MD5 digest mismatch/);
    rejects(good.subarray(0, good.length - 3), /MD5 digest mismatch/);
    rejects(Buffer.from([0xf3, 0x89, 0x9a, 0xc2, 1, 2]), /too short/);
    // Protobuf errors behind a valid digest.
    rejects(framed(Buffer.from([0x1a, 0x05, 0x08, 0x00])), /truncated/);
    rejects(framed(Buffer.from([0x1a, 0x02, 0x08, 0x00])), /without data/);
    rejects(framed(Buffer.from([0x1a, 0x04, 0x08, 0x03, 0x1a, 0x00])), /partition_key_index 3 out of range/);
    rejects(framed(Buffer.from([0x0b])), /wire type/);
    assert.equal(firstAggregatedData(framed(Buffer.from([0x1a, 0x05, 0x08, 0x00]))), undefined);
  });

  it('skips unknown fields and tags', () => {
    // AggregatedRecord { pk_table: ["k"], field 9 (varint) 7, records: [{ pk 0, data "z", tags: [{ key "t" }] }] }
    const protobuf = Buffer.from([0x0a, 0x01, 0x6b, 0x48, 0x07, 0x1a, 0x0a, 0x08, 0x00, 0x1a, 0x01, 0x7a, 0x22, 0x03, 0x0a, 0x01, 0x74]);
    assert.deepEqual(plain(decodeAggregated(framed(protobuf))), [{ partitionKey: 'k', data: '7a' }]);
  });
});
