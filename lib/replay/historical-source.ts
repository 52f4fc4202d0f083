/**
 * Historical quotes from a CSV file, emitted in effective-arrival order (timestamp + latency,
 * ties in file order).
 *
 * A cheap first pass (`scanCsv`) fingerprints the file, counts its rows (for progress and ETA)
 * and measures how far timestamps ever step backwards. The replay pass then streams the file
 * through a reorder buffer whose window is latency + that disorder: memory stays bounded by the
 * latency window for a file sorted by timestamp, and the order is still exact when it is not.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { silentLogger, type Logger } from '../logging/logger.ts';
import type { Resolved } from '../options.ts';
import { readQuoteRows } from '../quotes/csv-reader.ts';
import { formatIsoTimestamp } from '../quotes/timestamp.ts';
import { AckTracker, compareKeys, START_POSITION, type HistoricalPosition, type RowPosition } from './ack-tracker.ts';
import { ArrivalOrderBuffer, DisorderMeter } from './arrival-order.ts';
import type { PacedQuote, ReplaySource, SourceStats } from './replay-source.ts';

export interface CsvScan {
  file: string;
  /** SHA-256 of the file's bytes: identifies the input whatever its name. */
  fingerprint: string;
  /** Data records (valid or not). */
  records: number;
  validRows: number;
  rejectedRows: number;
  /** Largest step back in timestamps between rows, µs (0 when sorted). */
  disorderUs: number;
  /** Size and modification time at scan time: the replay pass warns if the file changed since. */
  size: number;
  mtimeMs: number;
}

export interface CsvOptions {
  maxRecordSize?: number;
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The source id of a file: its content fingerprint, not its name. */
export function sourceIdFor(fingerprint: string): string {
  return `hist:${fingerprint.slice(0, 16)}`;
}

/** First pass over the file. Throws InputError when the file cannot be used at all. */
export async function scanCsv(file: string, options: CsvOptions = {}): Promise<CsvScan> {
  const meter = new DisorderMeter();
  let records = 0;
  let validRows = 0;
  for await (const row of readQuoteRows(file, options)) {
    records++;
    if (!row.ok) continue;
    validRows++;
    meter.observe(row.timestampUs);
  }
  const info = await stat(file);
  return {
    file,
    fingerprint: await sha256(file),
    records,
    validRows,
    rejectedRows: records - validRows,
    disorderUs: meter.disorderUs,
    size: info.size,
    mtimeMs: info.mtimeMs,
  };
}

/** Crossed quotes are legal and can be common: the first ones are logged, all are counted. */
const CROSSED_LOG_LIMIT = 1_000;

/** A quote in the reorder buffer, with what ordering and bookkeeping need beside it. */
interface Buffered {
  quote: PacedQuote;
  arrivalUs: number;
  timestampUs: number;
  seq: number;
  /** Where the row starts: the same object as in `unemitted`, handed to the tracker on emit. */
  at: RowPosition;
}

export interface HistoricalSourceOptions extends CsvOptions {
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
  /** Rows read but not emitted, in file order (lazily pruned): the head is where to resume. */
  private readonly unemitted: RowPosition[] = [];
  private unemittedHead = 0;
  private readonly emittedSeqs = new Set<number>();
  private lastRead: RowPosition | undefined;
  private exhausted: boolean;
  /** Acknowledged in an earlier session after its contiguous prefix, not met again yet in this one. */
  private readonly skip: Set<number>;

  constructor(
    private readonly scan: CsvScan,
    options: HistoricalSourceOptions = {},
  ) {
    this.sourceId = sourceIdFor(scan.fingerprint);
    this.options = { ...options, logger: options.logger ?? silentLogger, start: options.start ?? START_POSITION };
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

  /** Called for each quote Kinesis acknowledged. */
  acknowledge(seq: number): void {
    this.tracker.acknowledged(seq);
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
    return this.unemitted[this.unemittedHead] ?? this.lastRead ?? this.options.start.resumeAt;
  }

  /** Drops bookkeeping for rows already emitted, so memory stays bounded by the reorder window. */
  private prune(): void {
    while (this.unemittedHead < this.unemitted.length && this.emittedSeqs.has((this.unemitted[this.unemittedHead] as RowPosition).seq)) {
      this.emittedSeqs.delete((this.unemitted[this.unemittedHead] as RowPosition).seq);
      this.unemittedHead++;
    }
    if (this.unemittedHead > 1024 && this.unemittedHead * 2 > this.unemitted.length) {
      this.unemitted.splice(0, this.unemittedHead);
      this.unemittedHead = 0;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<PacedQuote> {
    if (this.options.start.completed) return;
    const buffer = new ArrivalOrderBuffer<Buffered>(this.scan.disorderUs);
    const file = path.relative(process.cwd(), this.scan.file) || this.scan.file;
    const signal = this.controller.signal;
    const { ackedThrough, resumeAt } = this.options.start;
    let seq = resumeAt === undefined ? 0 : resumeAt.seq - 1;
    const startAt = resumeAt === undefined ? undefined : { offset: resumeAt.offset, line: resumeAt.line };
    for await (const row of readQuoteRows(this.scan.file, { maxRecordSize: this.options.maxRecordSize, signal, startAt })) {
      if (signal.aborted) return;
      seq++;
      this.stats.read++;
      if (!row.ok) {
        this.stats.rejected++;
        // Every rejection is reported: the user needs each line number to fix the file.
        this.options.logger.warn('row rejected', { file, line: row.line, field: row.field, reason: row.reason });
        continue;
      }
      const at: RowPosition = { seq, offset: row.offset, line: row.line };
      this.lastRead = at;
      // Acknowledged in an earlier session, as part of the contiguous prefix: gone for good.
      if (ackedThrough !== undefined && compareKeys({ arrivalUs: row.arrivalUs, seq }, ackedThrough) <= 0) continue;
      if (row.crossed) {
        this.stats.crossed++;
        if (this.stats.crossed <= CROSSED_LOG_LIMIT) {
          this.options.logger.warn('crossed quote (bid > ask) kept', { file, line: row.line, bid: row.fields.bid, ask: row.fields.ask });
        }
      }
      this.unemitted.push(at);
      // The row's fields object becomes the quote: one object per quote, not a copy of it.
      const quote = row.fields as PacedQuote;
      quote.arrival = formatIsoTimestamp(row.arrivalUs, row.precision);
      quote.mode = 'historical';
      quote.source = this.sourceId;
      quote.seq = seq;
      quote.arrivalUs = row.arrivalUs;
      buffer.push({ quote, arrivalUs: row.arrivalUs, timestampUs: row.timestampUs, seq, at });
      for (let next = buffer.popReady(); next !== undefined; next = buffer.popReady()) {
        const quote = this.emit(next);
        if (quote === undefined) continue;
        yield quote;
        if (signal.aborted) return;
      }
    }
    if (signal.aborted) return;
    for (let next = buffer.popAny(); next !== undefined; next = buffer.popAny()) {
      const quote = this.emit(next);
      if (quote === undefined) continue;
      yield quote;
      if (signal.aborted) return;
    }
    this.exhausted = true;
    await this.checkUnchanged(buffer.lateCount, file);
  }

  /** Records the emission; returns the quote to send, or undefined when it was acknowledged before. */
  private emit(item: Buffered): PacedQuote | undefined {
    this.emittedSeqs.add(item.seq);
    // Pruned on the way too, not only when a position is asked for (a one-shot run never asks).
    if (this.emittedSeqs.size >= 4_096) this.prune();
    const acked = this.skip.delete(item.seq);
    this.tracker.emitted({ arrivalUs: item.arrivalUs, seq: item.seq }, item.at, acked);
    if (acked) return undefined;
    this.stats.emitted++;
    return item.quote;
  }

  /**
   * The order relies on the scan's disorder bound; a file rewritten between the two passes could
   * break it. Say so loudly rather than replay out of order in silence.
   */
  private async checkUnchanged(lateCount: number, file: string): Promise<void> {
    const info = await stat(this.scan.file).catch(() => undefined);
    if (info === undefined || info.size !== this.scan.size || info.mtimeMs !== this.scan.mtimeMs) {
      this.options.logger.error('input file changed while it was replayed; order and counts may be wrong', { file });
    }
    if (lateCount > 0) {
      this.options.logger.error('quotes emitted after later arrivals (the file changed since it was scanned?)', { file, outOfOrder: lateCount });
    }
  }
}
