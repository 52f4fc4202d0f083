/**
 * Reads an S3 output back (`tick-replay output cat`): one kind's objects in shard, then sequence
 * order (s3-keys.ts), their bytes one after the other, which are the lines the file sink would
 * have written for the same records (per shard; per ticker in arrival order). A few objects are
 * fetched ahead while earlier ones are written, so a long output is not one round trip per batch.
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { OutputError } from '../errors.ts';
import { compareBatchObjects, kindPrefix, OUTPUT_KINDS, parseBatchKey, s3PrefixUri, type BatchObject, type OutputKind, type S3Prefix } from './s3-keys.ts';
import { describeS3Error } from './s3-sink.ts';

/** Objects fetched ahead of the one being written. */
const READ_AHEAD = 8;

/** Every object of `kind` under the prefix, in reading order; keys not of the layout are skipped. */
export async function listBatchObjects(client: S3Client, location: S3Prefix, kind: OutputKind): Promise<BatchObject[]> {
  const objects: BatchObject[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: location.bucket, Prefix: kindPrefix(location, kind), ContinuationToken: token }));
      for (const entry of page.Contents ?? []) {
        const object = entry.Key === undefined ? undefined : parseBatchKey(location, kind, entry.Key);
        if (object !== undefined) objects.push(object);
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  } catch (error) {
    throw new OutputError(`cannot list ${s3PrefixUri(location)}: ${describeS3Error(error, location)}`, { ...location }, { cause: error });
  }
  return objects.sort(compareBatchObjects);
}

async function fetchObject(client: S3Client, location: S3Prefix, key: string): Promise<Uint8Array> {
  try {
    const answer = await client.send(new GetObjectCommand({ Bucket: location.bucket, Key: key }));
    return (await answer.Body?.transformToByteArray()) ?? new Uint8Array();
  } catch (error) {
    throw new OutputError(`cannot read s3://${location.bucket}/${key}: ${describeS3Error(error, location)}`, { ...location, key }, { cause: error });
  }
}

/**
 * Writes the bytes of `objects` in their order to `write` (which may return a promise: backpressure).
 * Returns the number of bytes written.
 */
export async function copyObjects(client: S3Client, location: S3Prefix, objects: readonly BatchObject[], write: (bytes: Uint8Array) => void | Promise<void>): Promise<number> {
  const pending: Array<Promise<Uint8Array>> = [];
  let next = 0;
  let bytes = 0;
  const refill = (): void => {
    while (pending.length < READ_AHEAD && next < objects.length) {
      const body = fetchObject(client, location, (objects[next++] as BatchObject).key);
      // Awaited in order below; a failure ahead of the one being written must not go unhandled meanwhile.
      body.catch(() => undefined);
      pending.push(body);
    }
  };
  refill();
  while (pending.length > 0) {
    const body = await (pending.shift() as Promise<Uint8Array>);
    refill();
    bytes += body.length;
    await write(body);
  }
  return bytes;
}

/** Whether anything of our layout is under the prefix (any kind): tells an empty kind from a wrong prefix. */
export async function hasAnyOutput(client: S3Client, location: S3Prefix): Promise<boolean> {
  for (const kind of OUTPUT_KINDS) {
    try {
      const page = await client.send(new ListObjectsV2Command({ Bucket: location.bucket, Prefix: kindPrefix(location, kind), MaxKeys: 1 }));
      if ((page.KeyCount ?? page.Contents?.length ?? 0) > 0) return true;
    } catch (error) {
      throw new OutputError(`cannot list ${s3PrefixUri(location)}: ${describeS3Error(error, location)}`, { ...location }, { cause: error });
    }
  }
  return false;
}

/** Lines (newlines) of `kind` under the prefix: the run summary's counts. */
export async function countS3Lines(client: S3Client, location: S3Prefix, kind: OutputKind): Promise<number> {
  let lines = 0;
  await copyObjects(client, location, await listBatchObjects(client, location, kind), (bytes) => {
    for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) lines++;
  });
  return lines;
}
