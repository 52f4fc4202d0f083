/**
 * Finds bytes that are not UTF-8, chunk by chunk, with their file offsets. csv-parse decodes
 * fields leniently (a bad byte becomes U+FFFD, silently); the reader rejects the records that
 * hold such bytes instead. The check is native (`buffer.isUtf8`, simdutf) and runs on every
 * chunk; only a chunk that fails is scanned byte by byte to locate the bad sequences.
 */
import { isUtf8 } from 'node:buffer';

/** Bytes at the end of `buf` that start a multi-byte sequence it does not finish (0-3). */
function incompleteTail(buf: Buffer): number {
  const n = buf.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = buf[n - back] as number;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back for its lead
    if (b < 0xc0) return 0;
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
    return length > back ? back : 0;
  }
  return 0;
}

/** Offsets (from `base`) of the first byte of each invalid sequence in `buf`. */
function invalidOffsets(buf: Buffer, base: number, out: number[]): void {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i] as number;
    let length = 0;
    let min = 0;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      length = 2;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      length = 3;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      length = 4;
      min = 0x10000;
    }
    let valid = length > 0 && i + length <= buf.length;
    let code = length === 2 ? b & 0x1f : length === 3 ? b & 0x0f : b & 0x07;
    for (let k = 1; valid && k < length; k++) {
      const c = buf[i + k] as number;
      if ((c & 0xc0) !== 0x80) valid = false;
      else code = (code << 6) | (c & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8 either.
    if (valid && (code < min || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff)) valid = false;
    if (valid) {
      i += length;
    } else {
      out.push(base + i);
      i++;
    }
  }
}

export class Utf8Check {
  /** Bytes of an unfinished sequence at the end of the last chunk, and their offset. */
  private carry: Buffer = Buffer.alloc(0);
  private carryStart = 0;
  /** Offsets of invalid sequences found so far, ascending (consumed by `firstBadIn`). */
  private readonly bad: number[] = [];
  private head = 0;

  /** Starts over at `offset` (a new segment of the file). */
  reset(offset: number): void {
    this.carry = Buffer.alloc(0);
    this.carryStart = offset;
    this.bad.length = 0;
    this.head = 0;
  }

  /** Checks the next chunk (contiguous with the previous one). */
  push(chunk: Buffer): void {
    const data = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk]);
    const start = this.carryStart;
    const tail = incompleteTail(data);
    const body = tail === 0 ? data : data.subarray(0, data.length - tail);
    if (!isUtf8(body)) invalidOffsets(body, start, this.bad);
    this.carry = tail === 0 ? Buffer.alloc(0) : Buffer.from(data.subarray(data.length - tail));
    this.carryStart = start + body.length;
  }

  /** End of input: an unfinished sequence left over is invalid. */
  end(): void {
    if (this.carry.length > 0) this.bad.push(this.carryStart);
    this.carry = Buffer.alloc(0);
  }

  /** The first invalid offset in [from, to), if any; offsets below `from` are forgotten. */
  firstBadIn(from: number, to: number): number | undefined {
    while (this.head < this.bad.length && (this.bad[this.head] as number) < from) this.head++;
    if (this.head > 1024 && this.head * 2 > this.bad.length) {
      this.bad.splice(0, this.head);
      this.head = 0;
    }
    const offset = this.bad[this.head];
    return offset !== undefined && offset < to ? offset : undefined;
  }
}
