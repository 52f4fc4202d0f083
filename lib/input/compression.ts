/**
 * Compression detected by magic bytes, never by file name: a `.csv` that is gzipped, or a
 * `.csv.gz` that is not, both read right. gzip through node:zlib; zstd through fzstd, because
 * Node 20's zlib has no zstd (22.15 and 23.8 added it): fzstd is pure JavaScript (no native
 * binary to build or download, the same on every platform and in Lambda), streams frame by
 * frame, and is what the fflate author maintains; decoding runs far faster than the CSV parser
 * it feeds. Archives and other codecs are named and refused with what to do instead.
 */
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { errorCode, InputError } from '../errors.ts';
import type { ByteStream } from './byte-source.ts';

export type Compression = 'none' | 'gzip' | 'zstd';

/** Bytes needed to tell the formats apart. */
export const MAGIC_BYTES = 6;

const REFUSED: ReadonlyArray<{ magic: readonly number[]; what: string }> = [
  { magic: [0x50, 0x4b, 0x03, 0x04], what: 'a zip archive: unzip it first' },
  { magic: [0x42, 0x5a, 0x68], what: 'bzip2-compressed: decompress it first, or recompress with gzip or zstd' },
  { magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], what: 'xz-compressed: decompress it first, or recompress with gzip or zstd' },
  { magic: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], what: 'a 7-Zip archive: extract it first' },
  { magic: [0x04, 0x22, 0x4d, 0x18], what: 'lz4-compressed: decompress it first, or recompress with gzip or zstd' },
  { magic: [0x44, 0x42, 0x4e], what: 'Databento binary (DBN): convert it to CSV first (`dbn FILE --csv`)' },
];

function startsWith(head: Uint8Array, magic: readonly number[]): boolean {
  return head.length >= magic.length && magic.every((byte, i) => head[i] === byte);
}

/** The compression `head` (the first MAGIC_BYTES bytes) announces; InputError for refused formats. */
export function detectCompression(head: Uint8Array, name: string): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  // A zstd frame, or a skippable frame (0x184D2A5?) such as the one .dbn.zst files start with.
  if (startsWith(head, [0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  if (head.length >= 4 && ((head[0] ?? 0) & 0xf0) === 0x50 && head[1] === 0x2a && head[2] === 0x4d && head[3] === 0x18) return 'zstd';
  const refused = REFUSED.find(({ magic }) => startsWith(head, magic));
  if (refused !== undefined) throw new InputError(`${name} is ${refused.what}`, { file: name });
  return 'none';
}

async function* gunzip(raw: ByteStream, name: string): AsyncGenerator<Buffer> {
  const decoder = createGunzip({ chunkSize: 64 * 1024 });
  // pipeline forwards errors and destroys both sides; the error surfaces from the iteration.
  pipeline(raw as unknown as NodeJS.ReadableStream, decoder, () => undefined);
  try {
    for await (const chunk of decoder) yield chunk as Buffer;
  } catch (error) {
    if (errorCode(error)?.startsWith('Z_') === true) {
      throw new InputError(`${name}: the gzip data is corrupt or truncated (${(error as Error).message})`, { file: name }, { cause: error });
    }
    throw error;
  } finally {
    decoder.destroy();
  }
}

async function* unzstd(raw: ByteStream, name: string): AsyncGenerator<Buffer> {
  const out: Buffer[] = [];
  // Copied: the decoder's output may be a view into its own window, which later blocks overwrite.
  const decoder = new Decompress((data) => {
    if (data.length > 0) out.push(Buffer.from(data));
  });
  const push = (chunk: Uint8Array, final: boolean): void => {
    try {
      decoder.push(chunk, final);
    } catch (error) {
      const what = final ? 'truncated (the last frame is incomplete)' : 'corrupt';
      throw new InputError(`${name}: the zstd data is ${what} (${(error as Error).message})`, { file: name }, { cause: error });
    }
  };
  try {
    for await (const chunk of raw) {
      push(chunk, false);
      while (out.length > 0) yield out.shift() as Buffer;
    }
    push(new Uint8Array(0), true);
    while (out.length > 0) yield out.shift() as Buffer;
  } finally {
    raw.destroy();
  }
}

/** The decoded bytes of a raw stream. */
export function decompress(raw: ByteStream, compression: Exclude<Compression, 'none'>, name: string): AsyncGenerator<Buffer> {
  return compression === 'gzip' ? gunzip(raw, name) : unzstd(raw, name);
}
