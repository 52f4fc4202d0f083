/**
 * A historical input ready to read: its source (where the bytes live), its compression (from the
 * magic bytes) and the decoded bytes as the CSV reader's ByteInput port. Uncompressed input reads
 * from any offset directly; compressed input decodes from the start and skips to the offset, so a
 * resume in a `.csv.gz` or `.csv.zst` re-reads (and re-decodes) the file up to where it stopped.
 * Local paths and `s3://` objects are the locations (sourceFor).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { InputError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import type { ByteInput } from '../quotes/byte-input.ts';
import type { ByteSource, ByteStream, InputIdentity } from './byte-source.ts';
import { decompress, detectCompression, MAGIC_BYTES, type Compression } from './compression.ts';
import { LocalFileSource } from './local-file.ts';
import { S3ObjectSource } from './s3-object.ts';
import { isS3Url } from './s3-url.ts';

export interface HistoricalInput {
  readonly source: ByteSource;
  readonly identity: InputIdentity;
  readonly compression: Compression;
  /** The decoded bytes, for readQuoteRows. */
  readonly bytes: ByteInput;
}

/** `s3://…`, `https://…`: a location with a scheme, which a local path never has. */
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * What reading inputs from elsewhere than the local disk needs, given by the composition root:
 * the S3 client (a function, so that only an s3:// input creates it, and so that it can throw
 * the ConfigError saying how to configure S3 when there is none), and where S3 reads log.
 */
export interface InputContext {
  s3?: () => Pick<S3Client, 'send'>;
  logger?: Logger;
}

/** The canonical key of an input name: an absolute path, or the URL as it is. */
export function locationKey(name: string, cwd = process.cwd()): string {
  return SCHEME.test(name) ? name : path.resolve(cwd, name);
}

/** The ByteSource for an input name: a local path, or `s3://bucket/key`. */
export function sourceFor(name: string, context: InputContext = {}): ByteSource {
  if (isS3Url(name)) {
    if (context.s3 === undefined) throw new InputError(`cannot read ${name}: no S3 client was configured for this replay`, { file: name });
    return new S3ObjectSource(name, { client: context.s3(), logger: context.logger });
  }
  const scheme = SCHEME.exec(name);
  if (scheme !== null) {
    throw new InputError(`cannot read ${name}: ${scheme[0]} inputs are not supported; give a local file or an s3:// object`, { file: name });
  }
  return new LocalFileSource(name);
}

/** A stream that yields `inner`'s chunks and releases `raw` when destroyed. */
function streamOf(inner: AsyncGenerator<Buffer>, raw: ByteStream): ByteStream {
  return {
    [Symbol.asyncIterator]: () => inner,
    destroy: () => {
      raw.destroy();
      void inner.return(undefined);
    },
  };
}

/** Decoded bytes from `offset`: decode from the start, drop what comes before. */
async function* skipTo(decoded: AsyncGenerator<Buffer>, offset: number): AsyncGenerator<Buffer> {
  let position = 0;
  for await (const chunk of decoded) {
    const end = position + chunk.length;
    if (end > offset) yield position >= offset ? chunk : chunk.subarray(offset - position);
    position = end;
  }
}

async function readHead(source: ByteSource): Promise<Buffer> {
  const stream = source.open(0, MAGIC_BYTES);
  const parts: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream) {
      parts.push(chunk);
      length += chunk.length;
      if (length >= MAGIC_BYTES) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(parts).subarray(0, MAGIC_BYTES);
}

/** Opens an input: checks it can be read, detects its compression. Throws InputError. */
export async function openInput(source: ByteSource): Promise<HistoricalInput> {
  const identity = await source.describe();
  const head = identity.size === 0 ? Buffer.alloc(0) : await readHead(source);
  const compression = detectCompression(head, source.name);
  const bytes: ByteInput =
    compression === 'none'
      ? { name: source.name, size: identity.size, seekable: true, open: (offset) => source.open(offset) }
      : {
          name: source.name,
          size: undefined,
          seekable: false,
          open: (offset) => {
            const raw = source.open(0);
            return streamOf(skipTo(decompress(raw, compression, source.name), offset), raw);
          },
        };
  return { source, identity, compression, bytes };
}

/**
 * SHA-256 of the stored bytes (compressed bytes for compressed input): identifies the content
 * whatever its name. It reads the whole input once, at a fraction of the cost of parsing it.
 * An input whose store vouches for its content (an S3 object's ETag and size: `contentTag`) is
 * identified by the SHA-256 of that tag instead, without reading it an extra time.
 */
export async function fingerprintOf(input: Pick<HistoricalInput, 'source' | 'identity'>): Promise<string> {
  const hash = createHash('sha256');
  if (input.identity.contentTag !== undefined) return hash.update(input.identity.contentTag).digest('hex');
  for await (const chunk of input.source.open(0)) hash.update(chunk);
  return hash.digest('hex');
}
