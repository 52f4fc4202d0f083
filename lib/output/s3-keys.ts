/**
 * Where the S3 sink puts a batch's lines, and how `output cat` finds them again (pure: no I/O).
 *
 * Layout under the output prefix, one object per batch and output kind:
 *
 *     <prefix>/<kind>/<shard id>/<first sequence number, zero-padded to 56 digits>.log
 *
 * e.g. `output/mid_prices/shardId-000000000000/00…049590338271490256608559692538361571095921575989136588898.log`.
 * Kinesis sequence numbers are 56 decimal digits: padded to that width, the listing order of a
 * kind is shard, then sequence order, which is the order `output cat` prints (it sorts by the
 * number itself, so a longer one still lands in place).
 *
 * The key is the batch's **first** record (its shard and sequence number) and not its last: the
 * handler fails a batch only as a whole (its lines are computed without I/O, then stored; a storage
 * failure reports the batch's first record), so every retry starts at the same record and writes
 * under the same keys, overwriting what a failed attempt left. A retry may end at another record
 * (Lambda re-reads the shard: new records arrived, a bisected batch, a takeover re-reading from
 * the checkpoint); a key holding the last record too would then leave the failed attempt's object
 * beside the retry's, both holding the same lines. The last record is in the object's metadata.
 * Batches of one shard never share a first record (also not the concurrent batches of a
 * parallelization factor above 1), so no two batches share a key. A Kinesis record is never split
 * across batches (a KPL aggregate is one record, de-aggregated by the handler), so the key needs
 * no sub-sequence number.
 */
import { BUCKET_NAME_RULE, isBucketName } from '../aws/s3-names.ts';
import { ConfigError, OutputError } from '../errors.ts';
import type { BatchIdentity } from './output-sink.ts';

/** The output kinds, as `output cat` names them; each is a folder under the prefix. */
export const OUTPUT_KINDS = ['mid_prices', 'errors', 'dead_letters'] as const;
export type OutputKind = (typeof OUTPUT_KINDS)[number];

export function isOutputKind(value: string): value is OutputKind {
  return (OUTPUT_KINDS as readonly string[]).includes(value);
}

/** An `s3://bucket/prefix` output location; `prefix` has no leading or trailing `/` and may be empty. */
export interface S3Prefix {
  bucket: string;
  prefix: string;
}

export function isS3Uri(value: string): boolean {
  return /^s3:\/\//i.test(value);
}

/** Parses `s3://bucket[/prefix]`; `name` (the flag or variable) is what the error names. */
export function parseS3Prefix(name: string, uri: string): S3Prefix {
  const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/is.exec(uri.trim());
  if (match === null) throw new ConfigError(`${name} must be s3://bucket/prefix, got "${uri}"`, { name });
  const bucket = match[1] ?? '';
  if (!isBucketName(bucket)) {
    throw new ConfigError(`${name}: "${bucket}" is not a valid S3 bucket name (${BUCKET_NAME_RULE}), in "${uri}"`, { name });
  }
  const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((part) => part === '.' || part === '..' || (part === '' && prefix !== ''))) {
    throw new ConfigError(`${name}: the prefix "${prefix}" has an empty, "." or ".." segment, in "${uri}"`, { name });
  }
  return { bucket, prefix };
}

export function s3PrefixUri(location: S3Prefix): string {
  return `s3://${location.bucket}/${location.prefix}`;
}

/** The key prefix every object of `kind` starts with (ends with `/`). */
export function kindPrefix(location: S3Prefix, kind: OutputKind): string {
  return location.prefix === '' ? `${kind}/` : `${location.prefix}/${kind}/`;
}

/** Digits of a Kinesis sequence number (the API allows up to 129; Kinesis's own have 56). */
export const SEQUENCE_WIDTH = 56;
const SEQUENCE = /^(0|[1-9]\d{0,128})$/;
/** Shard ids are `shardId-` and 12 digits on Kinesis; anything safe as one key segment is accepted. */
const SHARD_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** A batch whose shard id or sequence number cannot be part of a key (not retryable: the same batch comes back). */
export class BatchKeyError extends OutputError {}

/** The key of one batch's lines of one kind. Throws BatchKeyError on an id that cannot be a key segment. */
export function batchKey(location: S3Prefix, kind: OutputKind, batch: Pick<BatchIdentity, 'shardId' | 'firstSequence'>): string {
  if (!SHARD_ID.test(batch.shardId)) throw new BatchKeyError(`shard id "${batch.shardId}" cannot be part of an S3 key`, { shardId: batch.shardId });
  if (!SEQUENCE.test(batch.firstSequence)) {
    throw new BatchKeyError(`"${batch.firstSequence}" is not a Kinesis sequence number`, { sequenceNumber: batch.firstSequence });
  }
  return `${kindPrefix(location, kind)}${batch.shardId}/${batch.firstSequence.padStart(SEQUENCE_WIDTH, '0')}.log`;
}

/** A listed object of one kind, placed by its key. */
export interface BatchObject {
  key: string;
  shardId: string;
  firstSequence: bigint;
}

/** The shard and first sequence of a key under `kind`'s prefix; undefined for a key not of this layout. */
export function parseBatchKey(location: S3Prefix, kind: OutputKind, key: string): BatchObject | undefined {
  const head = kindPrefix(location, kind);
  if (!key.startsWith(head)) return undefined;
  const match = /^([^/]+)\/(\d{1,129})\.log$/.exec(key.slice(head.length));
  if (match === null || !SHARD_ID.test(match[1] ?? '')) return undefined;
  return { key, shardId: match[1] as string, firstSequence: BigInt(match[2] as string) };
}

/**
 * Reading order: shard (by id: a child shard's id is above its parents', so a resharded ticker
 * reads in arrival order), then first sequence number.
 */
export function compareBatchObjects(a: BatchObject, b: BatchObject): number {
  if (a.shardId !== b.shardId) return a.shardId < b.shardId ? -1 : 1;
  return a.firstSequence < b.firstSequence ? -1 : a.firstSequence > b.firstSequence ? 1 : 0;
}
