/**
 * Streams a quotes CSV file as validated rows (the I/O half; the rules live in row.ts and the
 * format files, chosen from the header by row-format.ts).
 *
 * The file is read in chunks, through the ByteInput port (lib/input/ decodes gzip and zstd and
 * knows where the bytes live), and never held whole. Every data record becomes one RowResult
 * carrying the file line where the record starts, including records the CSV parser itself
 * cannot parse: those are yielded as rejections and reading continues on the next line.
 *
 * Why not csv-parse's `skip_records_with_error`: measured on csv-parse 7.0.3, it does not
 * recover. After an invalid closing quote (`"b"x,2`) the parser stays inside the quoted field and
 * silently swallows the following good rows up to the next quote character; after a
 * `max_record_size` error it drops the rest of the input chunk and reports the error again for
 * every later chunk. The maintainers' own advice for this case (adaltas/node-csv#214) is "search for the
 * next EOL and continue", which is what this reader does: on a parse error it rejects the line
 * where the broken record starts, then starts a fresh parser at the next line (re-reading the
 * file from that byte offset, from memory: byte-cursor.ts). A record that legitimately spans
 * lines and is broken may thus produce one rejection per line; good rows after it are always read.
 *
 * Bytes that are not UTF-8 reject the record that holds them (utf8-check.ts), with the offset:
 * csv-parse alone would turn them into U+FFFD without a word.
 *
 * Every RowResult also carries the byte offset where its record starts. Passing a reported
 * `{ offset, line }` back as `startAt` resumes there: the header is read from the top (for the
 * columns), then parsing restarts at that offset with a fresh parser, exactly as after a parse
 * error, so the rows from there on are the same as in a full read and nothing before is parsed.
 */
import { parse } from 'csv-parse';
import type { InfoRecord, Parser } from 'csv-parse';
import { describeFsError, errorCode, InputError } from '../errors.ts';
import { ByteCursor } from './byte-cursor.ts';
import type { ByteInput } from './byte-input.ts';
import type { RowFormat } from './row-format.ts';
import { resolveFormat } from './row-format.ts';
import type { RowResult } from './row.ts';
import { Utf8Check } from './utf8-check.ts';

/** A row as the reader yields it: the validated row plus where its record starts in the file. */
export type CsvRowResult = RowResult & {
  /** Byte offset of the first byte of the record's first line (after any blank lines before it). */
  offset: number;
};

/** Where to resume reading: the `offset` and `line` of a record this reader reported earlier. */
export interface CsvResumePoint {
  offset: number;
  line: number;
}

export interface CsvReadOptions {
  /** Largest record accepted, in bytes (default 64 KiB); a longer one is rejected, not buffered. */
  maxRecordSize?: number;
  /** Stops reading: the generator throws the signal's reason at the next chunk. */
  signal?: AbortSignal;
  /** Called once with the header row's position and column mapping, before any data row. */
  onHeader?: (header: CsvHeader) => void;
  /**
   * Resume at a record reported by an earlier read of the same file: the header is still read
   * from the top (and `onHeader` fires), then reading jumps to `offset`; the first row yielded is
   * that record, with line number `line`. Rows before it are never read. An offset past the end
   * of the file or inside the header is an InputError; any other offset must be a record start
   * this reader reported (it cannot check that without reading the file before it).
   */
  startAt?: CsvResumePoint;
}

export interface CsvHeader {
  /** File line of the header: 1, or later when blank lines precede it. */
  line: number;
  names: string[];
  /** The format the header identifies (generic CSV, tardis, Databento). */
  format: RowFormat;
}

export const DEFAULT_MAX_RECORD_SIZE = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);

/** Index of the first byte at or after `from` that is neither CR nor LF; `chunk.length` if none. */
function skipLineBreaks(chunk: Buffer, from: number): number {
  let i = from;
  while (i < chunk.length && (chunk[i] === LF || chunk[i] === CR)) i++;
  return i;
}

function readError(name: string, err: unknown): InputError {
  return new InputError(`cannot read ${name}: ${describeFsError(err)}`, { file: name, code: errorCode(err) }, { cause: err });
}

/** csv-parse's messages end with its own line count, which is not the file line we report. */
const LINE_SUFFIX = / at line \d+/g;

/** A parse error's reason in the words of a row rejection. */
function describeParseError(err: Error, maxRecordSize: number): string {
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
class LineTracker {
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
    this.chunkByte += this.chunk.length;
    this.chunk = chunk;
  }

  /** Call after the records parsed from the current chunk have been mapped. */
  endChunk(): void {
    if (this.pendingStart !== -1) return;
    const i = skipLineBreaks(this.chunk, Math.max(this.nextByte - this.chunkByte, 0));
    if (i < this.chunk.length) this.pendingStart = this.chunkByte + i;
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
      this.startByte = this.chunkByte + skipLineBreaks(this.chunk, Math.max(this.nextByte - this.chunkByte, 0));
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
class SegmentParser {
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

interface ResyncPoint {
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
async function findResyncPoint(cursor: ByteCursor, fromByte: number, fromLine: number): Promise<ResyncPoint | undefined> {
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

function isUtf16(chunk: Buffer): boolean {
  return (chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff);
}

/** Turns parsed records into RowResults; the first record of the file is the header. */
class RecordDecoder {
  format: RowFormat | undefined;
  headerLine = 0;

  constructor(
    private readonly name: string,
    private readonly onHeader: ((header: CsvHeader) => void) | undefined,
    private readonly utf8: Utf8Check,
  ) {}

  /** Yields the rows collected by `segment` since the last call, then forgets them. */
  *drain(segment: SegmentParser, lines: LineTracker): Generator<CsvRowResult> {
    const { records, infos } = segment;
    for (let r = 0, k = 0; r < records.length; r++, k += 3) {
      const record = records[r] ?? [];
      const line = lines.startOf(record, infos[k] ?? 0, infos[k + 1] ?? 0, infos[k + 2] ?? 0);
      const bad = this.utf8.firstBadIn(lines.startByte, lines.nextByte);
      if (this.format === undefined) {
        if (bad !== undefined) throw new InputError(`${this.name}: the header row is not valid UTF-8 (byte ${bad}); save the file as UTF-8`, { file: this.name });
        this.format = resolveFormat(record, this.name);
        this.headerLine = line;
        this.onHeader?.({ line, names: record, format: this.format });
      } else if (bad !== undefined) {
        const reason = `line is not valid UTF-8 (byte ${bad} of the file); save the file as UTF-8`;
        yield { ok: false, line, reason, offset: lines.startByte };
      } else {
        // The format cannot know the offset; adding it here costs one property store per row.
        const row = this.format.parse(record, line) as CsvRowResult;
        row.offset = lines.startByte;
        yield row;
      }
    }
    segment.clear();
  }
}

/** A resume point that cannot be right whatever the file holds; the file-dependent checks come later. */
function checkResumePoint(filePath: string, startAt: CsvResumePoint, size: number | undefined): void {
  const { offset, line } = startAt;
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new InputError(`${filePath}: cannot resume at byte ${offset}: not a byte offset`, { file: filePath });
  }
  if (!Number.isSafeInteger(line) || line < 1) {
    throw new InputError(`${filePath}: cannot resume at line ${line}: not a line number`, { file: filePath });
  }
  if (size !== undefined && offset > size) {
    throw new InputError(`${filePath}: cannot resume at byte ${offset}: the file has only ${size} bytes (did it shrink?)`, {
      file: filePath,
    });
  }
}

/**
 * Yields one RowResult per data record of `input`, in file order, each with the line where the
 * record starts and its byte offset (in decoded bytes). Throws InputError before yielding
 * anything when the input cannot be read (`cannot read data/x.csv: …`), is empty or has no
 * header, or its header cannot be parsed, or `startAt` is past the end or not after the header;
 * throws CsvColumnsError when required columns are missing. A header-only file yields nothing.
 * Unparseable records are yielded as `{ ok: false }` and reading continues.
 */
export async function* readQuoteRows(input: ByteInput, options: CsvReadOptions = {}): AsyncGenerator<CsvRowResult> {
  const maxRecordSize = options.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE;
  const { signal, startAt } = options;
  const name = input.name;
  signal?.throwIfAborted();
  if (startAt !== undefined) checkResumePoint(name, startAt, input.size);
  const utf8 = new Utf8Check();
  const decoder = new RecordDecoder(name, options.onHeader, utf8);
  const cursor = new ByteCursor(input);
  let segmentByte = 0;
  let segmentLine = 1;
  // With a resume point the first segment only reads the header, then reading jumps there.
  let headerOnly = startAt !== undefined;
  try {
    for (;;) {
      // One segment = one parser over the file from segmentByte to its end or to a parse error.
      const segment = new SegmentParser(segmentByte === 0, maxRecordSize, headerOnly);
      const lines = new LineTracker(segmentLine, segmentByte);
      utf8.reset(segmentByte);
      const stream = cursor.from(segmentByte);
      let failure: Error | undefined;
      try {
        let firstChunk = segmentByte === 0;
        for await (const chunk of stream) {
          signal?.throwIfAborted();
          if (firstChunk && isUtf16(chunk)) {
            throw new InputError(`${name}: the file is UTF-16 encoded; save it as UTF-8`, { file: name });
          }
          firstChunk = false;
          utf8.push(chunk);
          failure = await segment.write(chunk);
          lines.beginChunk(chunk);
          // Rows parsed before an error in this chunk are still good: yield them first.
          yield* decoder.drain(segment, lines);
          lines.endChunk();
          if (failure !== undefined || (headerOnly && decoder.format !== undefined)) break;
        }
        if (failure === undefined && !(headerOnly && decoder.format !== undefined)) {
          // Flush: the last record may lack a line break, or an open quote is only known now.
          utf8.end();
          failure = await segment.end();
          yield* decoder.drain(segment, lines);
        }
      } catch (err) {
        // System errors while reading (EIO, …) become InputErrors; our own errors pass through.
        if (err instanceof InputError || signal?.aborted === true || errorCode(err) === undefined) throw err;
        throw readError(name, err);
      } finally {
        await stream.return(undefined);
        segment.parser.destroy();
      }

      if (headerOnly && decoder.format !== undefined && startAt !== undefined) {
        // The header is known (the parser stopped right after it): jump to the resume point.
        const dataStart = lines.nextByte;
        if (startAt.offset < dataStart) {
          throw new InputError(`${name}: cannot resume at byte ${startAt.offset}: the header ends at byte ${dataStart}, rows start there or later`, { file: name });
        }
        if (startAt.line <= decoder.headerLine) {
          throw new InputError(`${name}: cannot resume at line ${startAt.line}: the header is on line ${decoder.headerLine}`, { file: name });
        }
        headerOnly = false;
        segmentByte = startAt.offset;
        segmentLine = startAt.line;
        continue;
      }
      if (failure === undefined) {
        if (decoder.format === undefined) throw new InputError(`${name}: empty file, expected a header row`, { file: name });
        return;
      }
      const resync = await findResyncPoint(cursor, lines.nextByte, lines.nextLine);
      const reason = describeParseError(failure, maxRecordSize);
      if (decoder.format === undefined) {
        // Without a header nothing can be mapped: this is the one parse error that stops reading.
        const where = resync === undefined ? '' : ` at line ${resync.brokenLine}`;
        throw new InputError(`${name}: cannot parse the header row${where}: ${reason}`, { file: name }, { cause: failure });
      }
      if (resync === undefined) return; // cannot happen: an error implies a non-blank record
      yield { ok: false, line: resync.brokenLine, reason, offset: resync.brokenByte };
      if (resync.resumeByte === undefined) return; // the broken record ran to the end of the file
      segmentByte = resync.resumeByte;
      segmentLine = resync.brokenLine + 1;
    }
  } catch (err) {
    // Opening or reading the input failed (the input reports errno-style codes).
    if (err instanceof InputError || signal?.aborted === true || errorCode(err) === undefined) throw err;
    throw readError(name, err);
  } finally {
    cursor.close();
  }
}
