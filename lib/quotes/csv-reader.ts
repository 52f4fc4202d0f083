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
 * Records without a quote character (nearly all market data) are split by the fast path
 * (fast-splitter.ts), which gives exactly what csv-parse gives for them at a fraction of the cost;
 * the header, quoted lines and over-long lines go through csv-parse (csv-parse-segment.ts).
 *
 * Bytes that are not UTF-8 reject the record that holds them (utf8-check.ts), with the offset:
 * csv-parse alone would turn them into U+FFFD without a word.
 *
 * Every RowResult also carries the byte offset where its record starts. Passing a reported
 * `{ offset, line }` back as `startAt` resumes there: the header is read from the top (for the
 * columns), then parsing restarts at that offset with a fresh parser, exactly as after a parse
 * error, so the rows from there on are the same as in a full read and nothing before is parsed.
 */
import { describeFsError, errorCode, InputError } from '../errors.ts';
import { ByteCursor } from './byte-cursor.ts';
import { describeParseError, findResyncPoint, LineTracker, SegmentParser } from './csv-parse-segment.ts';
import { FastSplitter } from './fast-splitter.ts';
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
  /**
   * Split unquoted records with the fast path (default true). False reads every record with
   * csv-parse: the reference the fast path is tested against, and a way around it.
   */
  fastPath?: boolean;
}

export interface CsvHeader {
  /** File line of the header: 1, or later when blank lines precede it. */
  line: number;
  names: string[];
  /** The format the header identifies (generic CSV, tardis, Databento). */
  format: RowFormat;
}

export const DEFAULT_MAX_RECORD_SIZE = 64 * 1024;

function readError(name: string, err: unknown): InputError {
  return new InputError(`cannot read ${name}: ${describeFsError(err)}`, { file: name, code: errorCode(err) }, { cause: err });
}

function isUtf16(chunk: Buffer): boolean {
  return (chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff);
}

/** Turns split records into RowResults; the first record of the file is the header. */
class RecordDecoder {
  format: RowFormat | undefined;
  headerLine = 0;

  constructor(
    private readonly name: string,
    private readonly onHeader: ((header: CsvHeader) => void) | undefined,
    private readonly utf8: Utf8Check,
  ) {}

  /**
   * The row of one record starting on file line `line` at byte `startByte` (its line break ends
   * before `endByte`); undefined for the header, which sets `format`.
   */
  decode(record: string[], line: number, startByte: number, endByte: number): CsvRowResult | undefined {
    const bad = this.utf8.firstBadIn(startByte, endByte);
    if (this.format === undefined) {
      if (bad !== undefined) throw new InputError(`${this.name}: the header row is not valid UTF-8 (byte ${bad}); save the file as UTF-8`, { file: this.name });
      this.format = resolveFormat(record, this.name);
      this.headerLine = line;
      this.onHeader?.({ line, names: record, format: this.format });
      return undefined;
    }
    if (bad !== undefined) {
      const reason = `line is not valid UTF-8 (byte ${bad} of the file); save the file as UTF-8`;
      return { ok: false, line, reason, offset: startByte };
    }
    // The format cannot know the offset; adding it here costs one property store per row.
    const row = this.format.parse(record, line) as CsvRowResult;
    row.offset = startByte;
    return row;
  }

  /** The rows csv-parse collected in `segment` since the last call; then forgets them. */
  drainParsed(segment: SegmentParser, lines: LineTracker): CsvRowResult[] {
    const { records, infos } = segment;
    const rows: CsvRowResult[] = [];
    for (let r = 0, k = 0; r < records.length; r++, k += 3) {
      const record = records[r] ?? [];
      const line = lines.startOf(record, infos[k] ?? 0, infos[k + 1] ?? 0, infos[k + 2] ?? 0);
      const row = this.decode(record, line, lines.startByte, lines.nextByte);
      if (row !== undefined) rows.push(row);
    }
    segment.clear();
    return rows;
  }

  /** The rows `splitter` split since the last call; then forgets them. */
  drainSplit(splitter: FastSplitter): CsvRowResult[] {
    const { records, marks } = splitter;
    const rows: CsvRowResult[] = [];
    for (let r = 0, k = 0; r < records.length; r++, k += 3) {
      const row = this.decode(records[r] ?? [], marks[k] ?? 0, marks[k + 1] ?? 0, marks[k + 2] ?? 0);
      if (row !== undefined) rows.push(row);
    }
    splitter.clear();
    return rows;
  }
}

/** A place in the file: a byte offset and the file line it is on. */
interface FilePoint {
  byte: number;
  line: number;
}

/** What one read of the file needs, shared by its segments. */
interface ReadContext {
  name: string;
  maxRecordSize: number;
  signal: AbortSignal | undefined;
  cursor: ByteCursor;
  utf8: Utf8Check;
  decoder: RecordDecoder;
}

/** How a csv-parse segment ended: at the end of the input, or at a parse error; and where it stopped. */
interface ParsedSegmentEnd {
  failure: Error | undefined;
  next: FilePoint;
}

/**
 * One csv-parse instance over the file from `at` to its end or to the first parse error (or,
 * `headerOnly`, to the end of the header). Rows parsed before an error are yielded.
 */
async function* parsedSegment(ctx: ReadContext, at: FilePoint, headerOnly: boolean): AsyncGenerator<CsvRowResult[], ParsedSegmentEnd> {
  const { name, utf8, decoder, signal } = ctx;
  const segment = new SegmentParser(at.byte === 0, ctx.maxRecordSize, headerOnly);
  const lines = new LineTracker(at.line, at.byte);
  utf8.reset(at.byte);
  const stream = ctx.cursor.from(at.byte);
  let failure: Error | undefined;
  const headerDone = (): boolean => headerOnly && decoder.format !== undefined;
  try {
    let firstChunk = at.byte === 0;
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
      const rows = decoder.drainParsed(segment, lines);
      if (rows.length > 0) yield rows;
      lines.endChunk();
      if (failure !== undefined || headerDone()) break;
    }
    if (failure === undefined && !headerDone()) {
      // Flush: the last record may lack a line break, or an open quote is only known now.
      utf8.end();
      failure = await segment.end();
      const rows = decoder.drainParsed(segment, lines);
      if (rows.length > 0) yield rows;
    }
  } finally {
    await stream.return(undefined);
    segment.parser.destroy();
  }
  return { failure, next: { byte: lines.nextByte, line: lines.nextLine } };
}

/**
 * The fast path over the file from `at`: yields rows until the end of the input (returns
 * undefined) or a line only csv-parse may split (returns where that line starts).
 */
/**
 * The fast path hands its rows over per this many bytes of a read chunk (a few hundred rows), not
 * per chunk: a 256 KiB chunk's ~4,000 rows stayed alive long enough to be promoted to the old
 * generation, whose garbage then raised the process's peak RSS with the file's length (1 M rows
 * peaked 15 % above 200 k); a batch this size still makes the async step per batch negligible.
 */
export const SPLIT_BATCH_BYTES = 16 * 1024;

async function* splitSegment(ctx: ReadContext, at: FilePoint): AsyncGenerator<CsvRowResult[], FilePoint | undefined> {
  const { utf8, decoder, signal } = ctx;
  const splitter = new FastSplitter(at.line, at.byte, ctx.maxRecordSize);
  utf8.reset(at.byte);
  const stream = ctx.cursor.from(at.byte);
  try {
    for await (const chunk of stream) {
      for (let from = 0; from < chunk.length; from += SPLIT_BATCH_BYTES) {
        const piece = chunk.subarray(from, from + SPLIT_BATCH_BYTES);
        signal?.throwIfAborted();
        utf8.push(piece);
        splitter.push(piece);
        const rows = decoder.drainSplit(splitter);
        if (rows.length > 0) yield rows;
        if (splitter.stopped) return { byte: splitter.nextByte, line: splitter.nextLine };
      }
    }
    utf8.end();
    splitter.end();
    const rows = decoder.drainSplit(splitter);
    if (rows.length > 0) yield rows;
    return splitter.stopped ? { byte: splitter.nextByte, line: splitter.nextLine } : undefined;
  } finally {
    await stream.return(undefined);
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
 *
 * The header is read by csv-parse; the data records by the fast path (fast-splitter.ts) until a
 * line holds a quote character or is too long, then by csv-parse from that line on, back to the
 * fast path after each parse error. `fastPath: false` reads everything with csv-parse.
 */
export async function* readQuoteRows(input: ByteInput, options: CsvReadOptions = {}): AsyncGenerator<CsvRowResult> {
  for await (const rows of readQuoteRowBatches(input, options)) yield* rows;
}

/**
 * readQuoteRows in batches: the same rows in the same order, as arrays (never empty) of the rows
 * completed by each 16 KiB of input on the fast path (SPLIT_BATCH_BYTES), by each csv-parse segment's
 * chunk otherwise. For hot loops: an async generator costs a promise and a
 * microtask turn per value yielded, which per row was a large part of reading a file.
 */
export async function* readQuoteRowBatches(input: ByteInput, options: CsvReadOptions = {}): AsyncGenerator<CsvRowResult[]> {
  const maxRecordSize = options.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE;
  const { signal, startAt } = options;
  const fastPath = options.fastPath ?? true;
  const name = input.name;
  signal?.throwIfAborted();
  if (startAt !== undefined) checkResumePoint(name, startAt, input.size);
  const utf8 = new Utf8Check();
  const decoder = new RecordDecoder(name, options.onHeader, utf8);
  const cursor = new ByteCursor(input);
  const ctx: ReadContext = { name, maxRecordSize, signal, cursor, utf8, decoder };
  try {
    const header = yield* parsedSegment(ctx, { byte: 0, line: 1 }, true);
    if (decoder.format === undefined) {
      if (header.failure === undefined) throw new InputError(`${name}: empty file, expected a header row`, { file: name });
      // Without a header nothing can be mapped: this is the one parse error that stops reading.
      const resync = await findResyncPoint(cursor, header.next.byte, header.next.line);
      const where = resync === undefined ? '' : ` at line ${resync.brokenLine}`;
      const reason = describeParseError(header.failure, maxRecordSize);
      throw new InputError(`${name}: cannot parse the header row${where}: ${reason}`, { file: name }, { cause: header.failure });
    }
    let at = header.next;
    if (startAt !== undefined) {
      if (startAt.offset < at.byte) {
        throw new InputError(`${name}: cannot resume at byte ${startAt.offset}: the header ends at byte ${at.byte}, rows start there or later`, { file: name });
      }
      if (startAt.line <= decoder.headerLine) {
        throw new InputError(`${name}: cannot resume at line ${startAt.line}: the header is on line ${decoder.headerLine}`, { file: name });
      }
      at = { byte: startAt.offset, line: startAt.line };
    }
    for (;;) {
      if (fastPath) {
        const handOver = yield* splitSegment(ctx, at);
        if (handOver === undefined) return;
        at = handOver;
      }
      const end = yield* parsedSegment(ctx, at, false);
      if (end.failure === undefined) return;
      const resync = await findResyncPoint(cursor, end.next.byte, end.next.line);
      if (resync === undefined) return; // cannot happen: an error implies a non-blank record
      yield [{ ok: false, line: resync.brokenLine, reason: describeParseError(end.failure, maxRecordSize), offset: resync.brokenByte }];
      if (resync.resumeByte === undefined) return; // the broken record ran to the end of the file
      at = { byte: resync.resumeByte, line: resync.brokenLine + 1 };
    }
  } catch (err) {
    // Opening or reading the input failed (the input reports errno-style codes); our own errors
    // (InputError, CsvColumnsError) pass through.
    if (err instanceof InputError || signal?.aborted === true || errorCode(err) === undefined) throw err;
    throw readError(name, err);
  } finally {
    cursor.close();
  }
}
