import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../../../lib/errors.ts';
import { fingerprintOf } from '../../../lib/input/input.ts';
import { byteRange, describeS3Failure, isKeyPattern, isReplacedObject, keyPatternRegExp, objectIdentity, parseS3Url, patternPrefix } from '../../../lib/input/s3-url.ts';
import type { ByteSource } from '../../../lib/input/byte-source.ts';

/** An SDK-shaped service error (what @aws-sdk/client-s3 throws). */
function sdkError(name: string, status: number): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
}

describe('s3:// names', () => {
  it('splits bucket and key, keeping the key exactly (slashes, spaces, dots)', () => {
    assert.deepEqual(parseS3Url('s3://my.bucket-1/2025/01/02/quotes day.csv.gz'), { bucket: 'my.bucket-1', key: '2025/01/02/quotes day.csv.gz' });
    assert.deepEqual(parseS3Url('S3://abc/k'), { bucket: 'abc', key: 'k' });
  });

  it('refuses a name with no object or a bucket S3 could not have, saying why', () => {
    for (const [url, message] of [
      ['s3://bucket', 's3://bucket names no object: give s3://bucket/<key>'],
      ['s3://bucket/dir/', 's3://bucket/dir/ names no object: give s3://bucket/<key>'],
      ['s3://Upper/key', 's3://Upper/key: "Upper" is not a valid S3 bucket name (3 to 63 lower-case letters, digits, dots or hyphens)'],
      ['s3:///key', 's3:///key: "" is not a valid S3 bucket name (3 to 63 lower-case letters, digits, dots or hyphens)'],
    ] as const) {
      assert.throws(
        () => parseS3Url(url),
        (error: unknown) => error instanceof InputError && error.message === message,
        url,
      );
    }
  });
});

describe('S3 reads', () => {
  it('asks for a range only when it does not start at 0 or stops before the end', () => {
    assert.equal(byteRange(0), undefined);
    assert.equal(byteRange(1_048_576), 'bytes=1048576-');
    assert.equal(byteRange(0, 6), 'bytes=0-5');
    assert.equal(byteRange(10, 20), 'bytes=10-19');
  });

  it('identifies an object by its ETag and size, and fingerprints that tag without reading the object', async () => {
    const identity = objectIdentity({ etag: '"9b2cf535f27731c974343645a3985328"', size: 1234, lastModifiedMs: 1_700_000_000_000 });
    assert.deepEqual(identity, {
      size: 1234,
      modifiedMs: 1_700_000_000_000,
      version: 's3:"9b2cf535f27731c974343645a3985328":1234',
      contentTag: 's3:"9b2cf535f27731c974343645a3985328":1234',
    });
    const unreadable: ByteSource = {
      name: 's3://b/k',
      location: 's3://b/k',
      describe: () => Promise.resolve(identity),
      open: () => assert.fail('the fingerprint of an S3 object must not read it'),
    };
    const fingerprint = await fingerprintOf({ source: unreadable, identity });
    assert.match(fingerprint, /^[0-9a-f]{64}$/);
    const otherEtag = objectIdentity({ etag: '"0000"', size: 1234, lastModifiedMs: 0 });
    const otherSize = objectIdentity({ etag: '"9b2cf535f27731c974343645a3985328"', size: 1235, lastModifiedMs: 0 });
    assert.notEqual(await fingerprintOf({ source: unreadable, identity: otherEtag }), fingerprint);
    assert.notEqual(await fingerprintOf({ source: unreadable, identity: otherSize }), fingerprint);
  });

  it('says what S3 answered in words', () => {
    assert.equal(describeS3Failure(sdkError('NoSuchBucket', 404)), 'no such bucket');
    assert.equal(describeS3Failure(sdkError('NoSuchKey', 404)), 'no such object');
    assert.match(describeS3Failure(sdkError('AccessDenied', 403)), /^access denied \(the credentials need s3:GetObject on the object/);
    assert.match(describeS3Failure(sdkError('Forbidden', 403)), /^access denied/);
    assert.match(describeS3Failure(Object.assign(new Error('Could not load credentials'), { name: 'CredentialsProviderError' })), /^no credentials found by the SDK default chain/);
    assert.equal(describeS3Failure(sdkError('InternalError', 500)), 'InternalError (HTTP 500)');
    assert.equal(describeS3Failure(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })), 'ECONNRESET');
  });

  it('recognises the If-Match precondition failure as a replaced object', () => {
    assert.equal(isReplacedObject(sdkError('PreconditionFailed', 412)), true);
    assert.equal(isReplacedObject(sdkError('Unknown', 412)), true);
    assert.equal(isReplacedObject(sdkError('NoSuchKey', 404)), false);
  });
});

describe('S3 key patterns', () => {
  it('tells patterns from keys and lists only under the literal prefix', () => {
    assert.equal(isKeyPattern('days/2025-01-01.csv.gz'), false);
    assert.equal(isKeyPattern('days/*.csv.gz'), true);
    assert.equal(isKeyPattern('days/2025-01-0?.csv'), true);
    assert.equal(patternPrefix('days/2025-*/quotes.csv'), 'days/2025-');
    assert.equal(patternPrefix('*.csv'), '');
  });

  it('matches like a shell glob over /-separated keys', () => {
    const matches = (pattern: string, key: string): boolean => keyPatternRegExp(pattern).test(key);
    assert.equal(matches('days/*.csv.gz', 'days/2025-01-01.csv.gz'), true);
    assert.equal(matches('days/*.csv.gz', 'days/nested/2025-01-01.csv.gz'), false, '* stays within a segment');
    assert.equal(matches('days/**.csv.gz', 'days/nested/2025-01-01.csv.gz'), true, '** crosses segments');
    assert.equal(matches('days/2025-01-0?.csv', 'days/2025-01-09.csv'), true);
    assert.equal(matches('days/2025-01-0?.csv', 'days/2025-01-10.csv'), false);
    assert.equal(matches('days/2025-01-0[12].csv', 'days/2025-01-02.csv'), true);
    assert.equal(matches('days/2025-01-0[!12].csv', 'days/2025-01-02.csv'), false);
    assert.equal(matches('days/2025-01-0[!12].csv', 'days/2025-01-03.csv'), true);
    assert.equal(matches('a.b(c)+*.csv', 'a.b(c)+x.csv'), true, 'regex characters are literal');
    assert.equal(matches('a.b*.csv', 'axb1.csv'), false, '. is literal');
  });
});
