/**
 * An S3 object as a ByteSource: `describe()` is a HeadObject, `open(offset)` a GetObject whose
 * body is streamed as it arrives (never downloaded first), ranged (`Range: bytes=<offset>-`) when
 * a checkpoint resumes mid-object. Every read pins the ETag the first `describe()` saw
 * (`If-Match`), so an object replaced during a replay fails with a clear error instead of
 * splicing two versions together. A connection dropped mid-body is resumed with a ranged GET from
 * the bytes already handed on (below compression, so this holds for compressed objects too).
 * Throttling and transient failures are retried with the project's backoff, a bounded number of
 * times; everything else is an InputError naming the object.
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadBucketCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isRetryableError } from '../aws/retryable.ts';
import { errorCode, errorName, InputError, TickReplayError } from '../errors.ts';
import { silentLogger, type Logger } from '../logging/logger.ts';
import { systemClock, type Clock } from '../time/clock.ts';
import { Backoff, retry } from '../time/retry.ts';
import type { ByteSource, ByteStream, InputIdentity } from './byte-source.ts';
import { describeS3Failure, isReplacedObject, objectIdentity, parseS3Url, byteRange, s3Url, type S3Location } from './s3-url.ts';

export interface S3ObjectOptions {
  client: Pick<S3Client, 'send'>;
  logger?: Logger;
  clock?: Clock;
  /** For the backoff jitter: a value in [0, 1). */
  random?: () => number;
  /**
   * Tries per request (throttled, 5xx, network) and reconnections per stretch of body that made
   * no progress, before the read fails (default 8: about 10 s of capped, jittered backoff).
   */
  maxAttempts?: number;
}

const DEFAULT_MAX_ATTEMPTS = 8;

/** How a body's connection dies: Node's `aborted` (ECONNRESET), a premature close, a reset socket. */
const DROPPED_CODES = new Set(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT']);

function isDropped(error: unknown): boolean {
  return DROPPED_CODES.has(errorCode(error) ?? '') || errorName(error) === 'TimeoutError' || isRetryableError(error);
}

/** The body ended before the object's last byte without an error (a proxy that closed early): read on from there. */
class ShortBodyError extends TickReplayError {}

export class S3ObjectSource implements ByteSource {
  readonly location: string;
  private readonly object: S3Location;
  private readonly client: Pick<S3Client, 'send'>;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly maxAttempts: number;
  /** The version every read is pinned to: the first one `describe()` saw. */
  private pinned: { etag: string; size: number } | undefined;

  constructor(
    readonly name: string,
    options: S3ObjectOptions,
  ) {
    this.object = parseS3Url(name);
    this.location = s3Url(this.object);
    this.client = options.client;
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  }

  /** HeadObject: size, ETag and modification time; a missing bucket is told from a missing key. */
  async describe(): Promise<InputIdentity> {
    const { bucket, key } = this.object;
    let head;
    try {
      head = await this.retrying('describe', () => this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));
    } catch (error) {
      // HEAD answers carry no error body: a 404 is a missing key or a missing bucket.
      const missing = errorName(error) === 'NotFound' || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;
      if (missing && !(await this.bucketExists())) throw this.failure('no such bucket', error);
      throw this.failure(missing ? 'no such object' : describeS3Failure(error), error);
    }
    const etag = head.ETag ?? '';
    const size = head.ContentLength ?? 0;
    this.pinned ??= { etag, size };
    return objectIdentity({ etag, size, lastModifiedMs: head.LastModified?.getTime() ?? 0 });
  }

  open(offset: number, end?: number): ByteStream {
    const controller = new AbortController();
    const body = this.read(offset, end, controller.signal);
    return {
      [Symbol.asyncIterator]: () => body,
      destroy: () => {
        controller.abort();
        void body.return(undefined);
      },
    };
  }

  /** The bytes from `offset` to `end` (or the pinned size), across as many GETs as dropped connections need. */
  private async *read(offset: number, end: number | undefined, signal: AbortSignal): AsyncGenerator<Buffer> {
    if (this.pinned === undefined) await this.describe();
    const { etag } = this.pinned as { etag: string; size: number };
    const size = Math.min(end ?? Infinity, (this.pinned as { size: number }).size);
    if (offset > 0) this.logger.info('reading the S3 object from a byte offset (ranged GET)', { file: this.location, offset, size });
    const backoff = new Backoff({ clock: this.clock, random: this.random });
    let position = offset;
    while (position < size) {
      const body = await this.get(position, end === undefined ? undefined : size, etag, signal);
      if (body === undefined) return;
      // A stop ends a body that is waiting for its next chunk too, not only one between chunks.
      const stop = (): void => void body.destroy();
      signal.addEventListener('abort', stop, { once: true });
      try {
        for await (const chunk of body) {
          position += (chunk as Buffer).length;
          backoff.reset();
          yield chunk as Buffer;
        }
        if (position < size) throw new ShortBodyError(`the body ended at byte ${position} of ${size}`, { position, size }, { retryable: true });
      } catch (error) {
        if (signal.aborted) return;
        if (!(error instanceof ShortBodyError) && !isDropped(error)) throw this.failure(describeS3Failure(error), error);
        if (backoff.attempts + 1 >= this.maxAttempts) {
          throw this.failure(`the connection dropped ${backoff.attempts + 1} times at byte ${position} without progress (${errorCode(error) ?? (error as Error).message})`, error);
        }
        await backoff.pause(signal, ({ attempt, delayMs }) =>
          this.logger.warn('the S3 connection dropped mid-object; resuming with a ranged GET from the bytes already read', {
            file: this.location,
            offset: position,
            attempt,
            delayMs,
            error: errorCode(error) ?? (error as Error).message,
          }),
        );
        if (signal.aborted) return;
      } finally {
        signal.removeEventListener('abort', stop);
        body.destroy();
      }
    }
  }

  /** One GetObject from `position` (to `end`, exclusive), pinned to `etag`; undefined when the read was stopped. */
  private async get(position: number, end: number | undefined, etag: string, signal: AbortSignal): Promise<Readable | undefined> {
    const { bucket, key } = this.object;
    try {
      const answer = await this.retrying(
        'read',
        () => this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: etag, Range: byteRange(position, end) }), { abortSignal: signal }),
        signal,
      );
      return answer?.Body as Readable | undefined;
    } catch (error) {
      if (signal.aborted) return undefined;
      if (isReplacedObject(error)) {
        throw this.failure(`the object was replaced while it was read (its ETag is no longer ${etag}); run again to replay the new object from its start`, error);
      }
      throw this.failure(describeS3Failure(error), error);
    }
  }

  private async bucketExists(): Promise<boolean> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.object.bucket }));
      return true;
    } catch (error) {
      return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404;
    }
  }

  /** `call` retried with backoff while its failures are transient, at most maxAttempts tries. */
  private async retrying<T>(what: string, call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    let tries = 0;
    const result = await retry(call, {
      backoff: new Backoff({ clock: this.clock, random: this.random }),
      retryable: (error) => isRetryableError(error) && ++tries < this.maxAttempts,
      signal,
      onRetry: (error, { attempt, delayMs }) => this.logger.warn(`cannot ${what} the S3 object yet; retrying`, { file: this.location, attempt, delayMs, error: describeS3Failure(error) }),
    });
    // retry() resolves undefined only when the signal stopped it.
    return result as T;
  }

  private failure(reason: string, cause: unknown): InputError {
    return new InputError(`cannot read ${this.name}: ${reason}`, { file: this.name, bucket: this.object.bucket, key: this.object.key }, { cause });
  }
}
