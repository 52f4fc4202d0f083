import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { InputError } from '../../../lib/errors.ts';
import { openInput, sourceFor } from '../../../lib/input/input.ts';
import { ByteCursor } from '../../../lib/quotes/byte-cursor.ts';
import type { ByteInput } from '../../../lib/quotes/byte-input.ts';
import { readQuoteRows, type CsvRowResult } from '../../../lib/quotes/csv-reader.ts';
import { tardisQuotes, zstdStored } from '../../support/market-files.ts';
import { useTempDir } from '../../support/temp-dir.ts';

const FIXTURE = fileURLToPath(new URL('../../fixtures/tardis-quotes-3000.csv.zst', import.meta.url));

async function text(input: ByteInput, offset = 0): Promise<string> {
  const parts: Buffer[] = [];
  const stream = input.open(offset);
  for await (const chunk of stream) parts.push(chunk);
  return Buffer.concat(parts).toString('utf8');
}

async function rows(input: ByteInput, startAt?: { offset: number; line: number }): Promise<CsvRowResult[]> {
  const out: CsvRowResult[] = [];
  for await (const row of readQuoteRows(input, { startAt })) out.push(row);
  return out;
}

describe('compressed input, detected by magic bytes', () => {
  const tmp = useTempDir();
  const plain = tardisQuotes({ rows: 3000, seed: 3, file: 0 }).text;

  it('reads a real zstd file (a skippable frame, then two frames at different levels) whatever its name', async () => {
    const file = tmp.join('quotes.csv'); // no .zst: the bytes decide
    await writeFile(file, await readFile(FIXTURE));
    const input = await openInput(sourceFor(file));
    assert.equal(input.compression, 'zstd');
    assert.equal(input.bytes.seekable, false);
    assert.equal(await text(input.bytes), plain);
  });

  it('reads gzip, including several concatenated members', async () => {
    const half = plain.indexOf('\n', plain.length / 2) + 1;
    const file = tmp.join('quotes.gz.csv');
    await writeFile(file, Buffer.concat([gzipSync(plain.slice(0, half)), gzipSync(plain.slice(half))]));
    const input = await openInput(sourceFor(file));
    assert.equal(input.compression, 'gzip');
    assert.equal(await text(input.bytes), plain);
  });

  it('treats a .gz name holding plain text as plain text', async () => {
    const file = tmp.join('plain.csv.gz');
    await writeFile(file, plain);
    const input = await openInput(sourceFor(file));
    assert.equal(input.compression, 'none');
    assert.equal(input.bytes.seekable, true);
  });

  it('resumes inside a compressed file by decoding and skipping: the same rows as a full read', async () => {
    const file = tmp.join('resume.csv.zst');
    await writeFile(file, zstdStored(Buffer.from(plain)));
    const input = await openInput(sourceFor(file));
    const full = await rows(input.bytes);
    const at = full[2000];
    assert.ok(at !== undefined);
    const tail = await rows(input.bytes, { offset: at.offset, line: at.line });
    assert.deepEqual(tail, full.slice(2000));
  });

  it('says a truncated or corrupt stream is one, naming the file', async () => {
    const gz = gzipSync(plain);
    const truncated = tmp.join('truncated.csv.gz');
    await writeFile(truncated, gz.subarray(0, gz.length - 100));
    await assert.rejects(rows((await openInput(sourceFor(truncated))).bytes), (e: unknown) => e instanceof InputError && /truncated\.csv\.gz: the gzip data is corrupt or truncated/.test(e.message));
    const zst = await readFile(FIXTURE);
    const cut = tmp.join('cut.csv.zst');
    await writeFile(cut, zst.subarray(0, zst.length - 500));
    await assert.rejects(rows((await openInput(sourceFor(cut))).bytes), (e: unknown) => e instanceof InputError && /cut\.csv\.zst: the zstd data is/.test(e.message));
  });

  it('refuses archives and other codecs with what to do instead', async () => {
    const zip = tmp.join('quotes.zip');
    await writeFile(zip, Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0]));
    await assert.rejects(openInput(sourceFor(zip)), /quotes\.zip is a zip archive: unzip it first/);
    const bz = tmp.join('quotes.csv.bz2');
    await writeFile(bz, Buffer.from('BZh91AY&SY'));
    await assert.rejects(openInput(sourceFor(bz)), /bzip2-compressed/);
  });

  it('refuses locations it cannot read, s3:// without an S3 client, and missing files, before anything starts', async () => {
    assert.throws(() => sourceFor('https://example.com/key.csv'), /^InputError: cannot read https:\/\/example\.com\/key\.csv: https:\/\/ inputs are not supported; give a local file or an s3:\/\/ object$/);
    assert.throws(() => sourceFor('s3://bucket/key.csv'), /^InputError: cannot read s3:\/\/bucket\/key\.csv: no S3 client was configured for this replay$/);
    await assert.rejects(openInput(sourceFor(tmp.join('nope.csv'))), /cannot read .*nope\.csv: no such file/);
  });
});

describe('ByteCursor', () => {
  const tmp = useTempDir();

  it('goes back within what it holds without re-opening, and forward on a compressed input without decoding again', async () => {
    const data = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = 97 + (i % 26);
    const file = tmp.join('letters.zst');
    await writeFile(file, zstdStored(data));
    const input = (await openInput(sourceFor(file))).bytes;
    const cursor = new ByteCursor(input, 256 * 1024);
    const read = async (from: number, bytes: number): Promise<Buffer> => {
      const parts: Buffer[] = [];
      let length = 0;
      for await (const chunk of cursor.from(from)) {
        parts.push(chunk);
        length += chunk.length;
        if (length >= bytes) break;
      }
      return Buffer.concat(parts).subarray(0, bytes);
    };
    assert.deepEqual(await read(0, 1_000_000), data.subarray(0, 1_000_000));
    assert.deepEqual(await read(900_000, 1_000), data.subarray(900_000, 901_000));
    assert.deepEqual(await read(2_500_000, 1_000), data.subarray(2_500_000, 2_501_000));
    assert.equal(cursor.opens, 1, 'one decode for all three reads');
    assert.deepEqual(await read(10, 10), data.subarray(10, 20));
    assert.equal(cursor.opens, 2, 'far back: decoded again');
    cursor.close();
  });
});
