/**
 * Historical quotes from one CSV input (any format, plain or compressed), emitted in effective-
 * arrival order (arrival, then file order) after the plausibility gate and the selection.
 *
 * A first pass (`scanCsv`) fingerprints the input, counts its rows (for progress and ETA) and
 * measures how far accepted timestamps ever step backwards (at most `--max-disorder`: the gate,
 * disorder-gate.ts, rejects rows further behind). The replay pass then streams the input through
 * a reorder buffer whose window is latency + that disorder: memory stays bounded by the latency
 * window for a file sorted by timestamp, by the disorder bound for any other, and the order is
 * exact.
 */
import path from 'node:path';
import { fingerprintOf, openInput, sourceFor, type HistoricalInput, type InputContext } from '../input/input.ts';
import type { Compression } from '../input/compression.ts';
import { silentLogger, type Logger } from '../logging/logger.ts';
import type { Resolved } from '../options.ts';
import { readQuoteRowBatches, type CsvRowResult } from '../quotes/csv-reader.ts';
import type { FormatName } from '../quotes/row-format.ts';
import type { AcceptedRow } from '../quotes/row.ts';
import { formatIsoTimestamp } from '../quotes/timestamp.ts';
import { AckTracker, compareKeys, START_POSITION, type HistoricalPosition, type RowPosition } from './ack-tracker.ts';
import { ArrivalOrderBuffer, DisorderMeter } from './arrival-order.ts';
import { DisorderGate } from './disorder-gate.ts';
import type { PacedQuote, ReplaySource, SourceStats } from './replay-source.ts';
import { DEFAULT_SELECTION, isPastWindow, isSelected, selectionKey, type Selection } from './selection.ts';

export interface CsvScan {
  /** The opened input (not stored in checkpoints). */
  input: HistoricalInput;
  /** Canonical location (absolute path, `s3://bucket/key`). */
  file: string;
  /** SHA-256 of the stored bytes: identifies the input whatever its name. */
  fingerprint: string;
  /** Data records read (valid or not). */
  records: number;
  /** Rows that pass the gate and the selection: what the replay sends (progress total). */
  validRows: number;
  /** Rows rejected (unparseable, implausible, or outside --max-disorder). */
  rejectedRows: number;
  /** Largest step back in accepted timestamps between rows, µs (0 when sorted). */
  disorderUs: number;
  /** Size and modification time at scan time (stored bytes). */
  size: number;
  mtimeMs: number;
  format?: FormatName;
  compression?: Compression;
}

export interface CsvOptions {
  maxRecordSize?: number;
  selection?: Selection;
  /** The input's fingerprint when already known (it is not computed again). */
  fingerprint?: string;
}

/** How logs name an input: a path relative to the working directory, a URL as it is. */
export function displayName(location: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(location) ? location : path.relative(process.cwd(), location) || location;
}

/** The source id of an input: its content fingerprint (and the selection, when not the default). */
export function sourceIdFor(fingerprint: string, selection: Selection = DEFAULT_SELECTION): string {
  const key = selectionKey(selection);
  return `hist:${fingerprint.slice(0, 16)}${key === undefined ? '' : `~${key}`}`;
}

/** The input behind a name (a path, an s3:// object), opened; throws InputError when it cannot be read. */
export function openNamedInput(name: string, context?: InputContext): Promise<HistoricalInput> {
  return openInput(sourceFor(name, context));
}

/**
 * The rows of an input through the gate, in file order: `onRow` gets every parsed row with the
 * gate's verdict. Shared by the scan and the replay pass, so both decide alike.
 */
function gated<T extends { row: AcceptedRow }>(maxDisorderUs: number, startMaxUs: number, onDecision: (item: T, rejected: string | undefined) => void): DisorderGate<{ timestampUs: number; item: T }> {
  return new DisorderGate<{ timestampUs: number; item: T }>(maxDisorderUs, (entry, rejected) => onDecision(entry.item, rejected), startMaxUs);
}

/** First pass over the input. Throws InputError when the input cannot be used at all. */
export async function scanCsv(file: string | HistoricalInput, options: CsvOptions = {}): Promise<CsvScan> {
  const input = typeof file === 'string' ? await openNamedInput(file) : file;
  const selection = options.selection ?? DEFAULT_SELECTION;
  const meter = new DisorderMeter();
  let records = 0;
  let validRows = 0;
  let accepted = 0;
  let format: FormatName | undefined;
  const gate = gated<{ row: AcceptedRow }>(selection.maxDisorderUs, -Infinity, ({ row }, rejected) => {
    if (rejected !== undefined) return;
    accepted++;
    meter.observe(row.timestampUs);
    if (isSelected(selection, row.fields.ticker, row.arrivalUs)) validRows++;
  });
  reading: for await (const rows of readQuoteRowBatches(input.bytes, { maxRecordSize: options.maxRecordSize, onHeader: (h) => (format = h.format.name) })) {
    for (const row of rows) {
      records++;
      if (!row.ok) continue;
      gate.offer({ timestampUs: row.timestampUs, item: { row } });
      if (isPastWindow(selection, gate.latestUs)) break reading;
    }
  }
  gate.finish();
  return {
    input,
    file: input.source.location,
    fingerprint: options.fingerprint ?? (await fingerprintOf(input)),
    records,
    validRows,
    rejectedRows: records - accepted,
    disorderUs: meter.disorderUs,
    size: input.identity.size,
    mtimeMs: input.identity.modifiedMs,
    format,
    compression: input.compression,
  };
}

/** Crossed quotes are legal and can be common: the first ones are logged, all are counted. */
const CROSSED_LOG_LIMIT = 1_000;

/**
 * A row read, from the gate (which orders by `timestampUs`) through the reorder buffer (by
 * arrival, then seq) until it is settled: one object per row for all of them, created with every
 * field so its shape never changes. It is also where the row starts (a RowPosition for the
 * tracker; `positionOf` makes the checkpoint's copy) and, in `unemitted`, whether it is settled:
 * no separate position object and no set of settled seqs per row. `quote` is set when the gate
 * accepts the row.
 */
interface Pending extends RowPosition {
  timestampUs: number;
  arrivalUs: number;
  arrivalNanos: number;
  seq: number;
  offset: number;
  line: number;
  /** The latest timestamp the gate had accepted before this row; undefined: none (see RowPosition). */
  maxBeforeUs: number | undefined;
  /** Emitted, rejected by the gate, acknowledged before or not selected: no longer pending. */
  settled: boolean;
  row: AcceptedRow & CsvRowResult;
  quote: PacedQuote | undefined;
}

/** The row position a checkpoint stores for a row read (the keys and shape RowPosition has always had). */
function positionOf(pending: Pending): RowPosition {
  const at: RowPosition = { seq: pending.seq, offset: pending.offset, line: pending.line };
  if (pending.maxBeforeUs !== undefined) at.maxBeforeUs = pending.maxBeforeUs;
  return at;
}

export interface HistoricalSourceOptions extends Omit<CsvOptions, 'fingerprint'> {
  logger?: Logger;
  /** Resume from a checkpoint: read from `resumeAt`, skip what was acknowledged. */
  start?: HistoricalPosition;
}

export class HistoricalSource implements ReplaySource {
  readonly mode = 'historical' as const;
  readonly sourceId: string;
  readonly stats: SourceStats = { read: 0, rejected: 0, crossed: 0, emitted: 0 };
  /** `maxRecordSize` undefined: the CSV reader's default. */
  private readonly options: Resolved<HistoricalSourceOptions, 'maxRecordSize'>;
  private readonly controller = new AbortController();
  private readonly tracker: AckTracker;
  /** Rows read but not emitted (nor dropped), in file order (lazily pruned): the head is where to resume. */
  private readonly unemitted: Pending[] = [];
  private unemittedHead = 0;
  private lastRead: Pending | undefined;
  private exhausted: boolean;
  /** Acknowledged in an earlier session after its contiguous prefix, not met again yet in this one. */
  private readonly skip: Set<number>;

  constructor(
    private readonly scan: CsvScan,
    options: HistoricalSourceOptions = {},
  ) {
    const selection = options.selection ?? DEFAULT_SELECTION;
    this.sourceId = sourceIdFor(scan.fingerprint, selection);
    this.options = { ...options, selection, logger: options.logger ?? silentLogger, start: options.start ?? START_POSITION };
    const { start } = this.options;
    this.tracker = new AckTracker(start);
    this.skip = new Set(start.ackedBeyond);
    // A checkpoint with nothing left to read is a finished replay.
    this.exhausted = start.completed;
  }

  /** Valid quotes in the file (progress total). */
  get total(): number {
    return this.scan.validRows;
  }

  /** Quotes acknowledged so far (progress). */
  get done(): number {
    return this.tracker.acknowledgedCount;
  }

  /** The input's name as given (for logs and status). */
  get name(): string {
    return this.scan.input.source.name;
  }

  /** Called for each quote Kinesis acknowledged (quotes of other sources are ignored). */
  acknowledge(source: string, seq: number): void {
    if (source === this.sourceId) this.tracker.acknowledged(seq);
  }

  /** The durable position: safe to store once the producer has flushed, or at any time (conservative). */
  position(): HistoricalPosition {
    const position = this.tracker.position(this.exhausted ? undefined : this.pendingRow(), this.exhausted);
    // Skips not reached yet stay acknowledged: they must survive into the next checkpoint.
    if (this.skip.size > 0) position.ackedBeyond = [...position.ackedBeyond, ...this.skip];
    return position;
  }

  async close(): Promise<void> {
    this.controller.abort();
    return Promise.resolve();
  }

  private pendingRow(): RowPosition | undefined {
    this.prune();
    const row = this.unemitted[this.unemittedHead] ?? this.lastRead;
    return row === undefined ? this.options.start.resumeAt : positionOf(row);
  }

  /** Drops bookkeeping for rows already settled, so memory stays bounded by the reorder window. */
  private prune(): void {
    while (this.unemittedHead < this.unemitted.length && (this.unemitted[this.unemittedHead] as Pending).settled) this.unemittedHead++;
    if (this.unemittedHead > 1024 && this.unemittedHead * 2 > this.unemitted.length) {
      this.unemitted.splice(0, this.unemittedHead);
      this.unemittedHead = 0;
    }
  }

  private settle(pending: Pending): void {
    pending.settled = true;
    // Pruned on the way too, not only when a position is asked for (a one-shot run never asks):
    // a flag read per row, amortised; nothing else holds the settled rows.
    this.prune();
  }

  /**
   * The quotes in arrival order. A hand-written iterator over `readyBatches`: each call of `next`
   * serves one quote of the batch in hand with one settled promise, where an async generator
   * yielding per quote cost several promises and microtask turns per quote (a measurable share of
   * the whole replay). Quotes are emitted (`emit`) only when `next` hands them out, as before.
   */
  [Symbol.asyncIterator](): AsyncIterator<PacedQuote> {
    return new QuoteIterator(this.readyBatches(), this.controller.signal, (item) => this.emit(item));
  }

  /**
   * The rows ready to leave, in (arrival, seq) order: a batch per batch of rows read (a few
   * hundred) and one at the end of input, popped from the reorder buffer but not emitted yet. They
   * stay in `unemitted` (a position taken meanwhile resumes at or before them) until the iterator
   * emits them.
   */
  private async *readyBatches(): AsyncGenerator<Pending[]> {
    if (this.options.start.completed) return;
    const { logger, selection, start } = this.options;
    const buffer = new ArrivalOrderBuffer<Pending>(this.scan.disorderUs);
    const file = displayName(this.scan.file);
    const signal = this.controller.signal;
    const { ackedThrough, resumeAt } = start;
    let seq = resumeAt === undefined ? 0 : resumeAt.seq - 1;
    const startAt = resumeAt === undefined ? undefined : { offset: resumeAt.offset, line: resumeAt.line };
    // Rows the gate decided on, in file order, waiting to be buffered (at most two per row read),
    // with each one's rejection reason (undefined: accepted) at the same index. Counted, not
    // emptied: `length = 0` frees an array's storage, and it would be allocated again every row.
    const decided: Array<Pending | undefined> = [];
    const rejections: Array<string | undefined> = [];
    let decidedCount = 0;
    const gate = new DisorderGate<Pending>(selection.maxDisorderUs, (read, rejected) => {
      decided[decidedCount] = read;
      rejections[decidedCount] = rejected;
      decidedCount++;
    }, resumeAt?.maxBeforeUs ?? -Infinity);
    const admitDecided = (): void => {
      for (let i = 0; i < decidedCount; i++) {
        admit(decided[i] as Pending, rejections[i]);
        decided[i] = undefined;
      }
      decidedCount = 0;
    };
    const admit = (pending: Pending, rejected: string | undefined): void => {
      const { row } = pending;
      if (rejected !== undefined) {
        this.stats.rejected++;
        this.settle(pending);
        logger.warn('row rejected', { file, line: row.line, field: 'timestamp', reason: rejected });
        return;
      }
      const arrivalNanos = row.arrivalNanos ?? 0;
      // Acknowledged in an earlier session, as part of the contiguous prefix: gone for good.
      if (ackedThrough !== undefined && compareKeys({ arrivalUs: row.arrivalUs, arrivalNanos, seq: pending.seq }, ackedThrough) <= 0) {
        this.settle(pending);
        return;
      }
      if (!isSelected(selection, row.fields.ticker, row.arrivalUs)) {
        this.settle(pending);
        return;
      }
      if (row.crossed) {
        this.stats.crossed++;
        if (this.stats.crossed <= CROSSED_LOG_LIMIT) {
          const message = row.implausible === true ? 'implausible quote (bid more than 10 times the ask) kept' : 'crossed quote (bid > ask) kept';
          logger.warn(message, { file, line: row.line, bid: row.fields.bid, ask: row.fields.ask });
        }
      }
      // The row's fields object becomes the quote: one object per quote, not a copy of it.
      const quote = row.fields as PacedQuote;
      quote.arrival = formatIsoTimestamp(row.arrivalUs, row.precision, arrivalNanos);
      quote.mode = 'historical';
      quote.source = this.sourceId;
      quote.seq = pending.seq;
      quote.arrivalUs = row.arrivalUs;
      if (arrivalNanos !== 0) quote.arrivalNanos = arrivalNanos;
      pending.quote = quote;
      buffer.push(pending);
    };
    const rows = readQuoteRowBatches(this.scan.input.bytes, { maxRecordSize: this.options.maxRecordSize, signal, startAt });
    reading: for await (const batch of rows) {
      // The rows the buffer releases while this batch of rows read is taken in: handed over
      // together (each row read releases about one, so a batch per row would be an async step per quote).
      const ready: Pending[] = [];
      for (const row of batch) {
        if (signal.aborted) return;
        seq++;
        this.stats.read++;
        if (!row.ok) {
          this.stats.rejected++;
          // Every rejection is reported: the user needs each line number to fix the file.
          logger.warn('row rejected', { file, line: row.line, field: row.field, reason: row.reason });
          continue;
        }
        const pending: Pending = {
          timestampUs: row.timestampUs,
          arrivalUs: row.arrivalUs,
          arrivalNanos: row.arrivalNanos ?? 0,
          seq,
          offset: row.offset,
          line: row.line,
          maxBeforeUs: undefined,
          settled: false,
          row,
          quote: undefined,
        };
        this.lastRead = pending;
        this.unemitted.push(pending);
        const maxBeforeUs = gate.offer(pending);
        // Where a resume at this row must start the gate (−Infinity before any row: not stored).
        if (maxBeforeUs !== -Infinity) pending.maxBeforeUs = maxBeforeUs;
        admitDecided();
        for (let next = buffer.popReady(); next !== undefined; next = buffer.popReady()) ready.push(next);
        if (isPastWindow(selection, gate.latestUs)) {
          if (ready.length > 0) yield ready;
          break reading;
        }
      }
      if (ready.length > 0) {
        yield ready;
        if (signal.aborted) return;
      }
    }
    if (signal.aborted) return;
    gate.finish();
    admitDecided();
    const rest: Pending[] = [];
    for (let next = buffer.popAny(); next !== undefined; next = buffer.popAny()) rest.push(next);
    if (rest.length > 0) {
      yield rest;
      if (signal.aborted) return;
    }
    // Only once every quote was handed out (the iterator asks for more after the last one).
    this.exhausted = true;
    await this.checkUnchanged(buffer.lateCount, file);
  }

  /** Records the emission; returns the quote to send, or undefined when it was acknowledged before. */
  private emit(item: Pending): PacedQuote | undefined {
    this.settle(item);
    const acked = this.skip.delete(item.seq);
    this.tracker.emitted(item, item, acked);
    if (acked) return undefined;
    this.stats.emitted++;
    return item.quote;
  }

  /**
   * The order relies on the scan's disorder bound; an input rewritten between the two passes
   * could break it. Say so loudly rather than replay out of order in silence.
   */
  private async checkUnchanged(lateCount: number, file: string): Promise<void> {
    const now = await this.scan.input.source.describe().catch(() => undefined);
    if (now === undefined || now.version !== this.scan.input.identity.version) {
      this.options.logger.error('input file changed while it was replayed; order and counts may be wrong', { file });
    }
    if (lateCount > 0) {
      this.options.logger.error('quotes emitted after later arrivals (the file changed since it was scanned?)', { file, outOfOrder: lateCount });
    }
  }
}

/**
 * Serves the quotes of HistoricalSource.readyBatches one `next` at a time, in order; `emit` turns
 * a ready row into the quote to send (undefined: acknowledged in an earlier session, skipped).
 * Stops (done) once `signal` aborts, after the quote in progress, like the generator it replaces.
 */
class QuoteIterator implements AsyncIterator<PacedQuote> {
  private batch: Array<Pending | undefined> = [];
  private index = 0;
  private finished = false;
  /** The batch being fetched: a `next` called meanwhile waits for it, so quotes keep their order. */
  private fetching: Promise<void> | undefined;

  constructor(
    private readonly batches: AsyncGenerator<Pending[]>,
    private readonly signal: AbortSignal,
    private readonly emit: (item: Pending) => PacedQuote | undefined,
  ) {}

  next(): Promise<IteratorResult<PacedQuote>> {
    const quote = this.take();
    if (quote !== undefined) return Promise.resolve({ done: false, value: quote });
    return this.nextFromBatches();
  }

  async return(): Promise<IteratorResult<PacedQuote>> {
    this.finish();
    await this.batches.return(undefined);
    return { done: true, value: undefined };
  }

  /** The next quote of the batch in hand; undefined when it is used up (or the iteration is over). */
  private take(): PacedQuote | undefined {
    while (!this.finished && this.index < this.batch.length) {
      if (this.signal.aborted) {
        this.finish();
        return undefined;
      }
      const item = this.batch[this.index] as Pending;
      // Not kept by the batch once handed out: the quote lives as long as its consumer keeps it.
      this.batch[this.index++] = undefined;
      const quote = this.emit(item);
      if (quote !== undefined) return quote;
    }
    return undefined;
  }

  private async nextFromBatches(): Promise<IteratorResult<PacedQuote>> {
    for (;;) {
      while (this.fetching !== undefined) await this.fetching;
      const quote = this.take();
      if (quote !== undefined) return { done: false, value: quote };
      if (this.finished) {
        // Stopped (or ended): the reader is closed as the generator's own return would close it.
        await this.batches.return(undefined);
        return { done: true, value: undefined };
      }
      const fetched = this.batches.next();
      this.fetching = fetched.then(
        (result) => {
          if (result.done === true) this.finish();
          else {
            this.batch = result.value;
            this.index = 0;
          }
        },
        () => this.finish(),
      );
      try {
        await fetched;
      } finally {
        await this.fetching;
        this.fetching = undefined;
      }
    }
  }

  private finish(): void {
    this.finished = true;
    this.batch = [];
    this.index = 0;
  }
}
