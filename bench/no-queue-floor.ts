/**
 * The no-queue floor: the pipeline's own CPU work in one process, without Kinesis.
 *
 * CSV → HistoricalSource (csv-parse, validation, arrival-order buffer) → encodeQuote (the record
 * bytes the producer would send) → processBatch in batches of `batchSize` (decode, exact mid,
 * output line, like the handler) → mid/error lines appended to files. Everything the real run does
 * per quote except the queue, the network and the emulator.
 *
 * `acknowledge`: after a batch's lines are written, acknowledge its quotes to the source and take
 * `position()` every 10,000 quotes, as `run` and `up` acknowledge what Kinesis accepted (and the
 * engine checkpoints); bench/run.ts measures the floor so. Off (the default), the source is never
 * acknowledged nor asked for a position, and its bookkeeping grows with the file.
 *
 * Run as a script it measures one file in a fresh process and prints one JSON line with its peak
 * RSS: `node --import tsx bench/no-queue-floor.ts <csv> <outDir> [--acknowledge]` (RSS flatness).
 */
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { processBatch, type BatchRecord } from '../lib/midprice/process-batch.ts';
import { encodeQuote } from '../lib/records/quote-record.ts';
import { HistoricalSource, scanCsv } from '../lib/replay/historical-source.ts';

export interface NoQueueResult {
  quotes: number;
  /** Replay pass only (the scan pass is excluded, as in RunSummary.seconds). */
  seconds: number;
  scanSeconds: number;
  quotesPerSec: number;
  lines: number;
  peakRssMb: number;
  /**
   * Heap still reachable after a full GC at the end (script mode with --expose-gc): what the
   * process really keeps, without the GC's timing in it. Undefined without --expose-gc.
   */
  retainedHeapMb?: number;
}

async function write(out: WriteStream, text: string): Promise<void> {
  if (text !== '' && !out.write(text)) await once(out, 'drain');
}

export interface NoQueueOptions {
  thresholdMs?: number;
  batchSize?: number;
  acknowledge?: boolean;
}

export async function measureNoQueueFloor(csv: string, outDir: string, options: NoQueueOptions = {}): Promise<NoQueueResult> {
  const { thresholdMs = 20, batchSize = 100, acknowledge = false } = options;
  const t0 = performance.now();
  const scan = await scanCsv(csv);
  const t1 = performance.now();
  const mids = createWriteStream(path.join(outDir, 'mid_prices.log'));
  const errors = createWriteStream(path.join(outDir, 'errors.log'));
  const source = new HistoricalSource(scan);
  let batch: BatchRecord[] = [];
  let seqs: number[] = [];
  let quotes = 0;
  let lines = 0;
  const drain = async (): Promise<void> => {
    const result = processBatch(batch, thresholdMs);
    lines += result.midLines.length + result.errorLines.length;
    await write(mids, result.midLines.map((l) => l + '\n').join(''));
    await write(errors, result.errorLines.map((l) => l + '\n').join(''));
    if (acknowledge) {
      for (const seq of seqs) source.acknowledge(source.sourceId, seq);
      if (quotes % 10_000 < batch.length) source.position();
    }
    batch = [];
    seqs = [];
  };
  for await (const quote of source) {
    quotes++;
    batch.push({ id: String(quotes), partitionKey: quote.ticker, data: encodeQuote(quote, { run: 'bench' }) });
    seqs.push(quote.seq);
    if (batch.length >= batchSize) await drain();
  }
  await drain();
  mids.end();
  errors.end();
  await Promise.all([once(mids, 'finish'), once(errors, 'finish')]);
  const seconds = (performance.now() - t1) / 1000;
  return {
    quotes,
    seconds,
    scanSeconds: (t1 - t0) / 1000,
    quotesPerSec: Math.round(quotes / seconds),
    lines,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [csv, outDir, flag] = process.argv.slice(2);
  if (csv === undefined || outDir === undefined) throw new Error('usage: no-queue-floor.ts <csv> <outDir> [--acknowledge]');
  const result = await measureNoQueueFloor(csv, outDir, { acknowledge: flag === '--acknowledge' });
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) {
    gc();
    result.retainedHeapMb = Math.round(process.memoryUsage().heapUsed / 1e5) / 10;
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}
