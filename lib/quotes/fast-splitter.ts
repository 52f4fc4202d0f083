/**
 * The CSV reader's fast path: splits records that contain no quote character, giving exactly
 * what csv-parse gives for them in the reader's configuration (delimiter `,`, record delimiters
 * CRLF, LF and CR, empty lines skipped, no trimming, no casting, fields decoded as UTF-8) with
 * the file line and byte offset each record starts at and the offset right after its line break.
 *
 * Why: csv-parse handles every corner of RFC 4180 byte by byte and, with the per-record context
 * the reader needs for line numbers and offsets, costs several µs a row; market data files almost
 * never quote a field. A line is split here only when that is certain to match csv-parse: it holds
 * no `"` and is no longer than the maximum record size (csv-parse counts decoded characters, at
 * most one per byte, so a line within the limit in bytes cannot exceed it). At the first line that
 * fails either test the splitter stops (`stopped`) and the reader hands the rest of the input to
 * csv-parse from that line's first byte, as it does after a parse error.
 *
 * Splitting works on the bytes read as latin1 (one character per byte, so string indexes are byte
 * offsets); a field is re-decoded as UTF-8 from the bytes only when the chunk is not plain ASCII.
 * Splitting a line on the ASCII bytes `,` before decoding or after makes no difference: a UTF-8
 * decoder never folds an ASCII byte into a multi-byte or invalid sequence.
 */
import { isAscii } from 'node:buffer';

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);
/** Most bytes decoded into one string (see `push`). */
const PIECE_BYTES = 8 * 1024;

export class FastSplitter {
  /** Records split since the last `clear`, and per record: file line, start byte, byte after its line break. */
  readonly records: string[][] = [];
  readonly marks: number[] = [];
  /** File line and byte offset of the first line not split yet (where csv-parse takes over when stopped). */
  nextLine: number;
  nextByte: number;
  /** A line was met that only csv-parse may split: nothing from `nextByte` on is split here. */
  stopped = false;
  /** The incomplete last line of the bytes pushed so far (it starts at `nextByte`). */
  private carry: Buffer = EMPTY;

  constructor(
    firstLine: number,
    firstByte: number,
    private readonly maxRecordSize: number,
  ) {
    this.nextLine = firstLine;
    this.nextByte = firstByte;
  }

  /** Splits the complete lines of the next chunk (contiguous with the previous one). */
  push(chunk: Buffer): void {
    // In small pieces: slicing fields out of one string per 256 KiB file chunk measured 15 times
    // slower per row than out of 8 KiB strings (fields of 13 characters or more are views that
    // keep their whole parent string alive, and large strings live outside the young generation).
    for (let from = 0; from < chunk.length && !this.stopped; from += PIECE_BYTES) {
      this.pushPiece(chunk.subarray(from, from + PIECE_BYTES));
    }
  }

  private pushPiece(chunk: Buffer): void {
    const data = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk]);
    const used = this.split(data, false);
    this.carry = used === data.length ? EMPTY : data.subarray(used);
    // An unfinished line already longer than a record may be: csv-parse reports it (without
    // this, a line with no break at all would be buffered whole).
    if (this.carry.length > this.maxRecordSize) this.stopped = true;
  }

  /** End of input: the last line needs no line break. */
  end(): void {
    if (this.stopped || this.carry.length === 0) return;
    this.split(this.carry, true);
    this.carry = EMPTY;
  }

  clear(): void {
    this.records.length = 0;
    this.marks.length = 0;
  }

  /**
   * Splits the lines of `data` (which starts at `nextByte`) up to the last complete one; returns
   * how many bytes were consumed. `final`: `data` ends the input, so its last line is complete.
   */
  private split(data: Buffer, final: boolean): number {
    const ascii = isAscii(data);
    const text = data.toString('latin1');
    const length = text.length;
    const base = this.nextByte;
    let line = this.nextLine;
    let pos = 0;
    // Next LF, CR and quote at or after `pos` (-1: none left), searched again only once passed.
    let lf = text.indexOf('\n');
    let cr = text.indexOf('\r');
    let quote = text.indexOf('"');
    while (pos < length) {
      if (lf !== -1 && lf < pos) lf = text.indexOf('\n', pos);
      if (cr !== -1 && cr < pos) cr = text.indexOf('\r', pos);
      if (quote !== -1 && quote < pos) quote = text.indexOf('"', pos);
      let eol = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      let width = 1;
      if (eol === -1) {
        if (!final) break;
        eol = length;
        width = 0;
      } else if (text.charCodeAt(eol) === CR) {
        // CR as the last byte read: it may be the first half of a CRLF that the next chunk ends.
        if (eol + 1 === length && !final) break;
        if (eol + 1 < length && text.charCodeAt(eol + 1) === LF) width = 2;
      }
      if (eol === pos) {
        // An empty line: skipped, as csv-parse's skip_empty_lines does, but counted.
        pos += width;
        line++;
        this.nextLine = line;
        this.nextByte = base + pos;
        continue;
      }
      if ((quote !== -1 && quote < eol) || eol - pos > this.maxRecordSize) {
        this.stopped = true;
        return pos;
      }
      const fields: string[] = [];
      let start = pos;
      for (;;) {
        let comma = text.indexOf(',', start);
        if (comma === -1 || comma > eol) comma = eol;
        fields.push(ascii ? text.slice(start, comma) : data.toString('utf8', start, comma));
        if (comma === eol) break;
        start = comma + 1;
      }
      this.records.push(fields);
      const end = eol + width;
      this.marks.push(line, base + pos, base + end);
      pos = end;
      line++;
      this.nextLine = line;
      this.nextByte = base + pos;
    }
    return pos;
  }
}
