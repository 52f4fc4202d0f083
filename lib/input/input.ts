/**
 * A historical input ready to read: its source (where the bytes live), its compression (from the
 * magic bytes) and the decoded bytes as the CSV reader's ByteInput port. Uncompressed input reads
 * from any offset directly; compressed input decodes from the start and skips to the offset, so a
 * resume in a `.csv.gz` or `.csv.zst` re-reads (and re-decodes) the file up to where it stopped.
 */
import { createHash } from 'node:crypto';
import { InputError } from '../errors.ts';
import type { ByteInput } from '../quotes/byte-input.ts';
import type { ByteSource, ByteStream, InputIdentity } from './byte-source.ts';
import { decompress, detectCompression, MAGIC_BYTES, type Compression } from './compression.ts';
import { LocalFileSource } from './local-file.ts';

export interface HistoricalInput {
  readonly source: ByteSource;
  readonly identity: InputIdentity;
  readonly compression: Compression;
  /** The decoded bytes, for readQuoteRows. */
  readonly bytes: ByteInput;
}

/** `s3://…`, `https://…`: a location with a scheme, which a local path never has. */
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** The ByteSource for an input name: a local path (the only location so far). */
export function sourceFor(name: string): ByteSource {
  const scheme = SCHEME.exec(name);
  if (scheme !== null) {
    throw new InputError(`cannot read ${name}: ${scheme[0]} inputs are not supported; give a local file`, { file: name });
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
  const stream = source.open(0);
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
 */
export async function fingerprintOf(source: ByteSource): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of source.open(0)) hash.update(chunk);
  return hash.digest('hex');
}
