/**
 * The output as S3 objects (`--out s3://bucket/prefix`, OUTPUT_URI on Lambda): the mid-price
 * handler's sink when its output must outlive the machine (output-sink.ts has the contract; the
 * key layout is in s3-keys.ts).
 *
 * Per batch, per output kind: a PUT of the batch's lines (the bytes the file sink would append),
 * or, for a kind the batch has no line of, a DELETE of that kind's key. The DELETE is what makes a
 * retry that covers fewer records than the failed attempt exact: the attempt may have stored, say,
 * a dead letter of a record the retry no longer holds; the retry removes it, and the batch that
 * holds that record next writes it under its own key. S3 charges nothing for DELETE requests.
 * The requests of one batch run in parallel; the batch is reported done only once all of them
 * were acknowledged (an acknowledged PUT is durable), and a failure of any fails the batch, whose
 * retry rewrites every kind under the same keys.
 */
import { DeleteObjectCommand, DeleteObjectsCommand, HeadBucketCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isRetryableError } from '../aws/retryable.ts';
import { errorCode, errorName, OutputError } from '../errors.ts';
import type { AppendResult, BatchIdentity, BatchLines, OutputSink } from './output-sink.ts';
import { batchKey, kindPrefix, OUTPUT_KINDS, s3PrefixUri, type OutputKind, type S3Prefix } from './s3-keys.ts';

function linesOf(batch: BatchLines, kind: OutputKind): readonly string[] {
  return kind === 'mid_prices' ? batch.midLines : kind === 'errors' ? batch.errorLines : batch.deadLetterLines;
}

/** An S3 failure in a few words: the missing bucket by name, else the error's code. */
export function describeS3Error(error: unknown, location: S3Prefix): string {
  const name = errorName(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  if (name === 'NoSuchBucket' || (name === 'NotFound' && status === 404)) return `the bucket ${location.bucket} does not exist`;
  if (name === 'AccessDenied' || name === 'Forbidden' || status === 403) return `access to s3://${location.bucket} denied (${name})`;
  return errorCode(error) ?? (error instanceof Error ? error.message : String(error));
}

function outputError(action: string, error: unknown, location: S3Prefix): OutputError {
  return new OutputError(`cannot ${action} ${s3PrefixUri(location)}: ${describeS3Error(error, location)}`, { ...location }, { cause: error, retryable: isRetryableError(error) });
}

/** Stores one batch: every kind under its key (a PUT, or a DELETE for a kind without lines). */
export async function putBatch(client: S3Client, location: S3Prefix, batch: BatchLines, identity: BatchIdentity): Promise<AppendResult> {
  const requests = OUTPUT_KINDS.map((kind) => {
    const key = batchKey(location, kind, identity);
    const lines = linesOf(batch, kind);
    if (lines.length === 0) return client.send(new DeleteObjectCommand({ Bucket: location.bucket, Key: key }));
    return client.send(
      new PutObjectCommand({
        Bucket: location.bucket,
        Key: key,
        Body: Buffer.from(lines.join('\n') + '\n', 'utf8'),
        ContentType: 'text/plain; charset=utf-8',
        // For people reading the bucket: which records the object covers. `output cat` needs only the key.
        Metadata: { 'last-sequence': identity.lastSequence, lines: String(lines.length) },
      }),
    );
  });
  const settled = await Promise.allSettled(requests);
  const failed = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed !== undefined) throw outputError('write to', failed.reason, location);
  return { recovered: [] };
}

/** The S3 prefix as the handler's sink. */
export function s3Sink(client: S3Client, location: S3Prefix): OutputSink {
  return { description: `output ${s3PrefixUri(location)}`, append: (batch, identity) => putBatch(client, location, batch, identity) };
}

/** Fails with OutputError unless the bucket exists and answers (HeadBucket). */
export async function checkBucket(client: S3Client, location: S3Prefix): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: location.bucket }));
  } catch (error) {
    throw outputError('use', error, location);
  }
}

/**
 * Removes the objects of our layout under the prefix (the three kinds' folders, nothing else):
 * what a one-shot `run` does to the output it owns, as the file sink truncates its files.
 * Returns how many objects were removed.
 */
export async function clearOutput(client: S3Client, location: S3Prefix): Promise<number> {
  let removed = 0;
  try {
    for (const kind of OUTPUT_KINDS) {
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: location.bucket, Prefix: kindPrefix(location, kind), ContinuationToken: token }));
        const keys = (page.Contents ?? []).flatMap((object) => (object.Key === undefined ? [] : [{ Key: object.Key }]));
        if (keys.length > 0) {
          const answer = await client.send(new DeleteObjectsCommand({ Bucket: location.bucket, Delete: { Objects: keys, Quiet: true } }));
          const first = answer.Errors?.[0];
          if (first !== undefined) throw Object.assign(new Error(`${first.Key ?? '?'}: ${first.Code ?? 'error'}`), { name: first.Code ?? 'Error' });
          removed += keys.length;
        }
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    }
  } catch (error) {
    throw outputError('clear', error, location);
  }
  return removed;
}
