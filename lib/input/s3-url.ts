/**
 * The pure half of S3 input (no I/O): `s3://bucket/key` names, the Range header of a resume, an
 * object's identity from its HEAD answer, key patterns for listing, and S3 failures in a few
 * words. The reading itself is in s3-object.ts, the listing in s3-listing.ts.
 */
import { isMissingCredentials } from '../aws/deployment.ts';
import { BUCKET_NAME_RULE, isBucketName } from '../aws/s3-names.ts';
import { errorCode, errorName, InputError } from '../errors.ts';
import type { InputIdentity } from './byte-source.ts';

export interface S3Location {
  bucket: string;
  key: string;
}

const S3_URL = /^s3:\/\/([^/]*)\/?(.*)$/is;

/** Whether `name` is an `s3://` location (any case of the scheme). */
export function isS3Url(name: string): boolean {
  return /^s3:\/\//i.test(name);
}

/** Bucket and key of `s3://bucket/key`; InputError naming what is wrong. */
export function parseS3Url(url: string): S3Location {
  const match = S3_URL.exec(url);
  if (match === null) throw new InputError(`${url} is not an s3:// location`, { file: url });
  const [, bucket = '', key = ''] = match;
  if (!isBucketName(bucket)) {
    throw new InputError(`${url}: "${bucket}" is not a valid S3 bucket name (${BUCKET_NAME_RULE})`, { file: url });
  }
  if (key === '' || key.endsWith('/')) throw new InputError(`${url} names no object: give s3://${bucket}/<key>`, { file: url });
  return { bucket, key };
}

/** The canonical name of an object. */
export function s3Url(location: S3Location): string {
  return `s3://${location.bucket}/${location.key}`;
}

/**
 * The Range header that reads from `offset` to `end` (exclusive) or to the object's end; none for
 * the whole object (an empty object has no byte 0 for a range to start at).
 */
export function byteRange(offset: number, end?: number): string | undefined {
  if (end !== undefined) return `bytes=${offset}-${end - 1}`;
  return offset > 0 ? `bytes=${offset}-` : undefined;
}

/** What HeadObject answered that identifies a version. */
export interface ObjectHead {
  etag: string;
  size: number;
  lastModifiedMs: number;
}

/**
 * An object's identity: its ETag changes with every write of other content (an MD5 of the bytes,
 * or of the parts' MD5s for a multipart upload; an opaque per-write value for SSE-KMS), so the
 * ETag and the size identify the content the store holds, and the content fingerprint is derived
 * from them instead of from hashing the whole object (which would read it once more).
 */
export function objectIdentity(head: ObjectHead): InputIdentity {
  const tag = `s3:${head.etag}:${head.size}`;
  return { size: head.size, modifiedMs: head.lastModifiedMs, version: tag, contentTag: tag };
}

const GLOB_CHARS = /[*?[]/;

/** Whether an object key is a pattern (`*`, `?`, `[…]`) rather than one key. */
export function isKeyPattern(key: string): boolean {
  return GLOB_CHARS.test(key);
}

/** The literal prefix of a key pattern: what ListObjectsV2 is asked for. */
export function patternPrefix(pattern: string): string {
  const at = pattern.search(GLOB_CHARS);
  return at === -1 ? pattern : pattern.slice(0, at);
}

/**
 * A key pattern as a RegExp, with the shell's meaning over `/`-separated keys: `*` and `?` stay
 * within one path segment, `**` crosses them, `[abc]` / `[!abc]` are character classes.
 */
export function keyPatternRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === '*') {
      if (pattern[i + 1] === '*') {
        source += '.*';
        i++;
      } else source += '[^/]*';
    } else if (char === '?') source += '[^/]';
    else if (char === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close === -1) source += '\\[';
      else {
        const body = pattern.slice(i + 1, close);
        const negated = body.startsWith('!') || body.startsWith('^');
        const members = (negated ? body.slice(1) : body).replace(/[\\\]^]/g, '\\$&');
        source += negated ? `[^/${members}]` : `[${members}]`;
        i = close;
      }
    } else source += char.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

/** S3 error names (and HEAD's bare statuses) in words; undefined for those said elsewhere. */
const S3_FAILURES: Readonly<Record<string, string>> = {
  NoSuchBucket: 'no such bucket',
  NoSuchKey: 'no such object',
  AccessDenied: 'access denied (the credentials need s3:GetObject on the object, and s3:ListBucket on the bucket to tell a missing key from a forbidden one)',
  Forbidden: 'access denied (the credentials need s3:GetObject on the object, and s3:ListBucket on the bucket to tell a missing key from a forbidden one)',
  InvalidAccessKeyId: 'the access key is not known to this S3 (InvalidAccessKeyId)',
  SignatureDoesNotMatch: 'the secret key does not match the access key (SignatureDoesNotMatch)',
  ExpiredToken: 'the session credentials have expired (ExpiredToken)',
  PermanentRedirect: 'the bucket is in another region: set AWS_REGION to its region',
};

/** An S3 failure in a few words, for `cannot read s3://bucket/key: <this>`. */
export function describeS3Failure(error: unknown): string {
  if (isMissingCredentials(error)) return 'no credentials found by the SDK default chain (set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)';
  const name = errorName(error);
  const known = S3_FAILURES[name];
  if (known !== undefined) return known;
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  const detail = errorCode(error) ?? (name !== '' && name !== 'Error' ? name : undefined) ?? (error instanceof Error ? error.message : String(error));
  return status !== undefined ? `${detail} (HTTP ${status})` : detail;
}

/** Whether a failure is the If-Match precondition: the object is no longer the version pinned. */
export function isReplacedObject(error: unknown): boolean {
  return errorName(error) === 'PreconditionFailed' || (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode === 412;
}
