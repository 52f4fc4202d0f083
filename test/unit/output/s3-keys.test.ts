/**
 * The S3 output's key scheme: one key per batch and kind from the shard and the batch's first
 * record, listing order = shard then sequence order, and keys read back into that order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../lib/errors.ts';
import { batchIdentityOf } from '../../../lib/output/output-sink.ts';
import { BatchKeyError, batchKey, compareBatchObjects, parseBatchKey, parseS3Prefix, SEQUENCE_WIDTH, type BatchObject } from '../../../lib/output/s3-keys.ts';
import { kinesisQuoteEvent } from '../../support/kinesis-quote-event.ts';

const OUT = { bucket: 'results', prefix: 'runs/today' };
/** Real Kinesis sequence numbers (56 digits) and short ones (emulators, the API's minimum). */
const SEQ_A = '49590338271490256608559692538361571095921575989136588898';
const SEQ_B = '49590338271490256608559692540925702759324208523137515618';

describe('S3 output keys', () => {
  it('names a batch by its kind, shard and first sequence number, zero-padded to 56 digits', () => {
    assert.equal(batchKey(OUT, 'mid_prices', { shardId: 'shardId-000000000001', firstSequence: SEQ_A }), `runs/today/mid_prices/shardId-000000000001/${SEQ_A}.log`);
    assert.equal(batchKey(OUT, 'errors', { shardId: 'shardId-000000000000', firstSequence: '1000' }), `runs/today/errors/shardId-000000000000/${'0'.repeat(SEQUENCE_WIDTH - 4)}1000.log`);
    assert.equal(batchKey({ bucket: 'results', prefix: '' }, 'dead_letters', { shardId: 's', firstSequence: '7' }), `dead_letters/s/${'7'.padStart(56, '0')}.log`);
  });

  it('gives a retry that starts at the same record the same key, whatever record it ends at', () => {
    const first = batchIdentityOf(kinesisQuoteEvent([{}, {}, {}, {}]).Records);
    const shorter = batchIdentityOf(kinesisQuoteEvent([{}, {}]).Records);
    assert.ok(first !== undefined && shorter !== undefined);
    assert.notEqual(first.lastSequence, shorter.lastSequence);
    assert.equal(batchKey(OUT, 'mid_prices', first), batchKey(OUT, 'mid_prices', shorter));
  });

  it('takes the shard from eventID and the first and last sequence numbers from the batch', () => {
    assert.deepEqual(batchIdentityOf(kinesisQuoteEvent([{}, {}, {}]).Records), { shardId: 'shardId-000000000000', firstSequence: '1000', lastSequence: '1002' });
    assert.equal(batchIdentityOf([]), undefined);
  });

  it('refuses a shard id or sequence number that cannot be a key segment', () => {
    assert.throws(() => batchKey(OUT, 'errors', { shardId: '../x', firstSequence: '1' }), BatchKeyError);
    assert.throws(() => batchKey(OUT, 'errors', { shardId: 'shardId-1', firstSequence: '12a' }), BatchKeyError);
    assert.throws(() => batchKey(OUT, 'errors', { shardId: 'shardId-1', firstSequence: '0012' }), BatchKeyError);
  });

  it('lists in shard, then sequence order, and reads keys back into that order (a longer number included)', () => {
    const identities = [
      { shardId: 'shardId-000000000001', firstSequence: SEQ_A },
      { shardId: 'shardId-000000000000', firstSequence: SEQ_B },
      { shardId: 'shardId-000000000000', firstSequence: '99' },
      { shardId: 'shardId-000000000000', firstSequence: SEQ_A },
      { shardId: 'shardId-000000000000', firstSequence: '1' + SEQ_A },
    ];
    const keys = identities.map((identity) => batchKey(OUT, 'mid_prices', identity));
    const expected = [keys[2], keys[3], keys[1], keys[4], keys[0]];
    const parsed = keys.map((key) => parseBatchKey(OUT, 'mid_prices', key)).filter((o): o is BatchObject => o !== undefined);
    assert.deepEqual(parsed.sort(compareBatchObjects).map((o) => o.key), expected);
    // S3 lists keys in UTF-8 byte order: the same order for Kinesis's 56-digit numbers.
    const listed = keys.filter((_, i) => i !== 4).sort();
    assert.deepEqual(listed, expected.filter((key) => key !== keys[4]));
  });

  it('skips keys that are not of the layout (another kind, another file, a nested folder)', () => {
    assert.equal(parseBatchKey(OUT, 'mid_prices', `runs/today/errors/shardId-0/${SEQ_A}.log`), undefined);
    assert.equal(parseBatchKey(OUT, 'mid_prices', 'runs/today/mid_prices/README.txt'), undefined);
    assert.equal(parseBatchKey(OUT, 'mid_prices', `runs/today/mid_prices/a/b/${SEQ_A}.log`), undefined);
    assert.deepEqual(parseBatchKey(OUT, 'mid_prices', `runs/today/mid_prices/shardId-0/${SEQ_A}.log`), { key: `runs/today/mid_prices/shardId-0/${SEQ_A}.log`, shardId: 'shardId-0', firstSequence: BigInt(SEQ_A) });
  });

  it('parses s3://bucket/prefix, trimming slashes, and names the flag in its errors', () => {
    assert.deepEqual(parseS3Prefix('--out', 's3://my-bucket/a/b/'), { bucket: 'my-bucket', prefix: 'a/b' });
    assert.deepEqual(parseS3Prefix('--out', 's3://my-bucket'), { bucket: 'my-bucket', prefix: '' });
    assert.throws(() => parseS3Prefix('--out', 's3://My_Bucket/p'), (error: Error) => error instanceof ConfigError && /--out: "My_Bucket" is not a valid S3 bucket name/.test(error.message));
    assert.throws(() => parseS3Prefix('OUTPUT_URI', 's3://bucket/a//b'), /OUTPUT_URI: the prefix "a\/\/b" has an empty/);
    assert.throws(() => parseS3Prefix('OUTPUT_URI', 's3://bucket/../b'), /"\.\." segment/);
  });
});
