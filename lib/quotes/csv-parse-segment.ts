/**
 * The CSV reader's csv-parse path (csv-reader.ts drives it): a csv-parse instance over one
 * segment of the file, the mapping of its line and byte counters to file lines and offsets, and
 * the resynchronisation after a parse error. The reader uses it for the header, for records the
 * fast path (fast-splitter.ts) does not split, and wherever the fast path is turned off.
 */
import { parse } from 'csv-parse';
import type { InfoRecord, Parser } from 'csv-parse';
import { errorCode } from '../errors.ts';
import type { ByteCursor } from './byte-cursor.ts';

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);
/** Bytes of earlier chunks a LineTracker keeps: more than csv-parse ever holds back from a write. */
const RECENT_BYTES = 16;

/** Index of the first byte at or after `from` that is neither CR nor LF; `chunk.length` if none. */
function skipLineBreaks(chunk: Buffer, from: number): number {
  let i = from;
  while (i < chunk.length && (chunk[i] === LF || chunk[i] === CR)) i++;
  return i;
}

/** csv-parse's messages end with its own line count, which is not the file line we report. */
const LINE_SUFFIX = / at line \d+/g;

/** A parse error's reason in the words of a row rejection. */
export function describeParseError(err: Error, maxRecordSize: number): string {
  switch (errorCode(err)) {
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'malformed CSV: a closing quote is followed by something other than a delimiter or a line end';
    case 'INVALID_OPENING_QUOTE':
      return 'malformed CSV: a quote inside an unquoted field (quote the whole field and double inner quotes)';
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'malformed CSV: a quoted field is never closed';
    case 'CSV_MAX_RECORD_SIZE':
      return `record is longer than the maximum of ${maxRecordSize} bytes`;
    default:
      return `malformed CSV: ${err.message.replace(LINE_SUFFIX, '')}`;
  }
}

/**
 * Maps csv-parse's line counter to file lines where records start, and remembers where the
 * next record may begin (the resync point after a parse error).
 *
 * csv-parse's `info.lines` is the line where a record ENDS, counted from the start of the data
 * fed to this parser. It counts every CR and LF byte inside fields as a line, so a quoted CRLF
 * counts twice; `overcount` corrects that for the rest of the segment. Records without line
 * breaks inside (the hot path) are detected in O(1) and never scanned.
 *
 * Byte offsets: csv-parse's `info.bytes` is where a record ENDS (after its line break), so a
 * record starts where the previous one ended, unless blank lines came between (its
 * `empty_lines` grew). Only then are raw bytes looked at: the record starts at the first byte
 * after the previous end that is not CR or LF (a blank line is nothing but a line break). That
 * byte may lie in an earlier chunk, so after each chunk the first such byte is noted
 * (`pendingStart`; usually the very first byte looked at).
 */
export class LineTracker {
  private previousLines = 0;
  private previousEmptyLines = 0;
  private overcount = 0;
  /** File line and byte offset right after the last record: where the next one starts. */
  nextLine: number;
  nextByte: number;
  /** Byte offset where the record last passed to `startOf` starts. */
  startByte: number;
  /** The chunk whose records are being mapped, and the file offset of its first byte. */
  private chunk: Buffer = EMPTY;
  private chunkByte: number;
  /**
   * The chunks before `chunk`, newest last, as long as they hold fewer than RECENT_BYTES: csv-parse
   * holds the last bytes of a write back (a possible CRLF, a UTF-8 sequence), so a record can
   * come out of a later write than its line break, and the blank lines after it may lie there.
   */
  private recent: Array<{ start: number; chunk: Buffer }> = [];
  /** First byte after `nextByte` that is not a line break, when found in an earlier chunk; else -1. */
  private pendingStart = -1;

  constructor(
    private readonly firstLine: number,
    private readonly firstByte: number,
  ) {
    this.nextLine = firstLine;
    this.nextByte = firstByte;
    this.startByte = firstByte;
    this.chunkByte = firstByte;
  }

  /** Call before mapping the records parsed from `chunk`, the segment's next chunk. */
  beginChunk(chunk: Buffer): void {
    if (this.chunk.length > 0) this.recent.push({ start: this.chunkByte, chunk: this.chunk });
    let held = 0;
    for (const r of this.recent) held += r.chunk.length;
    while (this.recent.length > 0 && held - (this.recent[0]?.chunk.length ?? 0) >= RECENT_BYTES) held -= this.recent.shift()?.chunk.length ?? 0;
    this.chunkByte += this.chunk.length;
    this.chunk = chunk;
  }

  /** Call after the records parsed from the current chunk have been mapped. */
  endChunk(): void {
    if (this.pendingStart !== -1) return;
    const start = this.firstNonBreakFrom(this.nextByte);
    if (start < this.chunkByte + this.chunk.length) this.pendingStart = start;
  }

  /** Offset of the first byte at or after `from` that is not CR or LF, in the bytes held; their end if none. */
  private firstNonBreakFrom(from: number): number {
    for (const { start, chunk } of [...this.recent, { start: this.chunkByte, chunk: this.chunk }]) {
      if (start + chunk.length <= from) continue;
      const i = skipLineBreaks(chunk, Math.max(from - start, 0));
      if (i < chunk.length) return start + i;
    }
    return this.chunkByte + this.chunk.length;
  }

  /**
   * File line where `record` starts (its byte offset is left in `startByte`); `lines`,
   * `emptyLines`, `bytes` are its csv-parse info.
   */
  startOf(record: string[], lines: number, emptyLines: number, bytes: number): number {
    let start: number;
    let breaksInside = 0;
    if (emptyLines === this.previousEmptyLines) {
      this.startByte = this.nextByte;
    } else if (this.pendingStart !== -1) {
      this.startByte = this.pendingStart;
    } else {
      this.startByte = this.firstNonBreakFrom(this.nextByte);
    }
    this.pendingStart = -1;
    if (lines === this.previousLines + 1 + (emptyLines - this.previousEmptyLines)) {
      start = this.firstLine - 1 + lines - this.overcount;
    } else {
      let breakBytes = 0; // CR or LF bytes, as csv-parse counts them
      let crlfPairs = 0;
      for (const field of record) {
        for (let i = 0; i < field.length; i++) {
          const c = field.charCodeAt(i);
          if (c === LF) {
            breakBytes++;
            if (i > 0 && field.charCodeAt(i - 1) === CR) crlfPairs++;
          } else if (c === CR) {
            breakBytes++;
          }
        }
      }
      start = this.firstLine - 1 + lines - breakBytes - this.overcount;
      this.overcount += crlfPairs;
      breaksInside = breakBytes - crlfPairs;
    }
    this.previousLines = lines;
    this.previousEmptyLines = emptyLines;
    this.nextLine = start + breaksInside + 1;
    this.nextByte = this.firstByte + bytes;
    return start;
  }
}

/** A csv-parse instance fed by hand; records are collected synchronously as chunks are written. */
export class SegmentParser {
  readonly parser: Parser;
  records: string[][] = [];
  /** Per record: csv-parse's lines, empty_lines, bytes (flat, to avoid an object per row). */
  infos: number[] = [];

  /** `headerOnly`: stop parsing after the first record (the header, when reading from the top). */
  constructor(atFileStart: boolean, maxRecordSize: number, headerOnly = false) {
    this.parser = parse({
      bom: atFileStart,
      to: headerOnly ? 1 : -1,
      // All three line ends, not auto-discovery: discovery fixes one ending for the whole file
      // from its first line break, so a file with mixed endings (concatenated exports) would
      // then fail on every quoted last field and leave stray CRs in values.
      record_delimiter: ['\r\n', '\n', '\r'],
      relax_column_count: true, // ragged rows reach parseRow, which rejects them with their line
      skip_empty_lines: true,
      max_record_size: maxRecordSize,
      // Collecting here instead of reading the stream side keeps every record parsed before an
      // error: a destroyed stream drops its buffered records. The context is the same snapshot
      // that `info: true` would attach. Returning null keeps the readable buffer empty.
      on_record: (record: string[], context: InfoRecord) => {
        this.records.push(record);
        this.infos.push(context.lines, context.empty_lines, context.bytes);
        return null;
      },
    });
    // Errors are taken from the write/end callbacks; this listener only prevents an unhandled
    // 'error' event from crashing the process.
    this.parser.on('error', () => undefined);
  }

  write(chunk: Buffer): Promise<Error | undefined> {
    return new Promise((resolve) => {
      this.parser.write(chunk, (err) => resolve(err ?? undefined));
    });
  }

  end(): Promise<Error | undefined> {
    return new Promise((resolve) => {
      this.parser.once('error', resolve);
      this.parser.once('finish', () => resolve(undefined));
      this.parser.end();
    });
  }

  clear(): void {
    this.records.length = 0;
    this.infos.length = 0;
  }
}

export interface ResyncPoint {
  /** File line where the unparseable record starts, and the offset of that line's first byte. */
  brokenLine: number;
  brokenByte: number;
  /** Byte offset of the line after it; undefined when the file ends first. */
  resumeByte: number | undefined;
}

/**
 * From the start of the line after the last good record: skips blank lines (as csv-parse does),
 * takes the first non-blank line as the broken record's start, and returns the offset of the
 * line after it. LF, CRLF and CR each end a line. Streams, so a huge broken line costs no memory.
 */
export async function findResyncPoint(cursor: ByteCursor, fromByte: number, fromLine: number): Promise<ResyncPoint | undefined> {
  const stream = cursor.from(fromByte);
  let offset = fromByte; // file offset of the current chunk's first byte
  let line = fromLine;
  let brokenLine: number | undefined;
  let brokenByte = 0;
  let pendingCR = false; // previous chunk ended with CR: a leading LF belongs to the same break
  try {
    for await (const chunk of stream) {
      // A UTF-8 BOM is not content: blank lines after it still precede the broken record.
      let i = offset === 0 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf ? 3 : 0;
      if (pendingCR) {
        pendingCR = false;
        if (chunk[0] === LF) i = 1;
        if (brokenLine !== undefined) return { brokenLine, brokenByte, resumeByte: offset + i };
      }
      if (brokenLine === undefined) {
        for (; i < chunk.length; i++) {
          const c = chunk[i];
          if (c === CR) {
            line++;
            if (i + 1 === chunk.length) pendingCR = true;
            else if (chunk[i + 1] === LF) i++;
          } else if (c === LF) {
            line++;
          } else {
            brokenLine = line;
            brokenByte = offset + i;
            break;
          }
        }
        if (brokenLine === undefined) {
          offset += chunk.length;
          continue;
        }
      }
      const lf = chunk.indexOf(LF, i);
      const cr = chunk.indexOf(CR, i);
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      if (end !== -1 && chunk[end] === CR && end + 1 === chunk.length) {
        pendingCR = true;
      } else if (end !== -1) {
        const width = chunk[end] === CR && chunk[end + 1] === LF ? 2 : 1;
        return { brokenLine, brokenByte, resumeByte: offset + end + width };
      }
      offset += chunk.length;
    }
  } finally {
    await stream.return(undefined);
  }
  return brokenLine === undefined ? undefined : { brokenLine, brokenByte, resumeByte: undefined };
}

