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
import { readQuoteRows } from '../quotes/csv-reader.ts';
import { formatIsoTimestamp } from '../quotes/timestamp.ts';
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

export class HistoricalSource implements ReplaySource {
  readonly mode = 'historical' as const;
  readonly sourceId: string;
  readonly stats: SourceStats = { read: 0, rejected: 0, crossed: 0, emitted: 0 };
  private readonly logger: Logger;
  private readonly controller = new AbortController();

  constructor(
    private readonly scan: CsvScan,
    private readonly options: CsvOptions & { logger?: Logger } = {},
  ) {
    this.sourceId = `hist:${scan.fingerprint.slice(0, 16)}`;
    this.logger = options.logger ?? silentLogger;
  }

  async close(): Promise<void> {
    this.controller.abort();
    return Promise.resolve();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<PacedQuote> {
    const buffer = new ArrivalOrderBuffer<PacedQuote & { timestampUs: number }>(this.scan.disorderUs);
    const file = path.relative(process.cwd(), this.scan.file) || this.scan.file;
    const signal = this.controller.signal;
    for await (const row of readQuoteRows(this.scan.file, { maxRecordSize: this.options.maxRecordSize, signal })) {
      if (signal.aborted) return;
      const seq = ++this.stats.read;
      if (!row.ok) {
        this.stats.rejected++;
        // Every rejection is reported: the user needs each line number to fix the file.
        this.logger.warn('row rejected', { file, line: row.line, field: row.field, reason: row.reason });
        continue;
      }
      if (row.crossed) {
        this.stats.crossed++;
        if (this.stats.crossed <= CROSSED_LOG_LIMIT) {
          this.logger.warn('crossed quote (bid > ask) kept', { file, line: row.line, bid: row.fields.bid, ask: row.fields.ask });
        }
      }
      buffer.push({
        ...row.fields,
        arrival: formatIsoTimestamp(row.arrivalUs, row.precision),
        mode: 'historical',
        source: this.sourceId,
        seq,
        arrivalUs: row.arrivalUs,
        timestampUs: row.timestampUs,
      });
      for (let next = buffer.popReady(); next !== undefined; next = buffer.popReady()) {
        yield this.emit(next);
        if (signal.aborted) return;
      }
    }
    for (let next = buffer.popAny(); next !== undefined; next = buffer.popAny()) {
      yield this.emit(next);
      if (signal.aborted) return;
    }
    await this.checkUnchanged(buffer.lateCount, file);
  }

  /**
   * The order relies on the scan's disorder bound; a file rewritten between the two passes could
   * break it. Say so loudly rather than replay out of order in silence.
   */
  private async checkUnchanged(lateCount: number, file: string): Promise<void> {
    const info = await stat(this.scan.file).catch(() => undefined);
    if (info === undefined || info.size !== this.scan.size || info.mtimeMs !== this.scan.mtimeMs) {
      this.logger.error('input file changed while it was replayed; order and counts may be wrong', { file });
    }
    if (lateCount > 0) {
      this.logger.error('quotes emitted after later arrivals (the file changed since it was scanned?)', { file, outOfOrder: lateCount });
    }
  }

  private emit(item: PacedQuote & { timestampUs: number }): PacedQuote {
    this.stats.emitted++;
    const { timestampUs: _omit, ...quote } = item;
    return quote;
  }
}
