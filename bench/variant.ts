/**
 * One variant of the real pipeline (`runHistorical` at --speed max) in its own process, against an
 * embedded stack the parent started (so the parent knows the emulator's pid). Prints one JSON line.
 *
 *   node --import tsx bench/variant.ts '{"csv":…,"endpointUrl":…,"workDir":…,"aggregate":false}'
 *
 * Timing: `onProgress` gives the producer's accepted count after each put; a LinePoller watches
 * mid_prices.log + errors.log grow (10 ms). From those two curves:
 *   e2e       first put → the poll that saw the last line
 *   producer  quotes / (first put → last put accepted); the producer buffers at most
 *             maxBufferedRecords (4 000) unacknowledged, so the last put is ≤ 4 000 quotes before
 *             the final flush
 *   consumer  lines / (first line → last line)
 *   latency   for sampled k: time the k-th line appeared − time the k-th quote was put (FIFO
 *             approximation of the two cumulative curves, see docs/performance.md)
 */
import path from 'node:path';
import { runHistorical, type HistoricalRunOptions, type RunSummary } from '../lib/cli/historical-run.ts';
import { createLogger } from '../lib/logging/logger.ts';
import { childConfig } from './child-config.ts';
import { LinePoller, timeOfLine } from './line-poller.ts';
import { percentile, round } from './stats.ts';

export interface VariantArgs {
  csv: string;
  endpointUrl: string;
  workDir: string;
  aggregate: boolean;
  /** Consumer worker processes (1 = in the replayer's process). */
  workers: number;
  batchSize: number;
}

export interface VariantResult {
  summary: RunSummary;
  e2eSeconds: number;
  e2eQuotesPerSec: number;
  producerQuotesPerSec: number;
  consumerQuotesPerSec: number;
  e2eLatencyMs: { p50: number; p99: number; samples: number };
  peakRssMb: number;
  /** Peak RSS of each consumer worker process (empty with one in-process worker). */
  workerPeakRssMb: number[];
  /** CPU seconds (user + system) of this process from the pipeline's start (after the scan) to the end. */
  cpuSeconds: number;
}

const LATENCY_SAMPLES = 2_000;

async function main(args: VariantArgs): Promise<VariantResult> {
  const config = childConfig(args.endpointUrl, args.workDir, args.batchSize);
  const logger = createLogger({ service: 'bench', level: 'WARN' });
  const poller = new LinePoller([path.join(config.outputDir, 'mid_prices.log'), path.join(config.outputDir, 'errors.log')]);
  const puts: Array<{ k: number; atMs: number }> = [];
  let step = 1;
  let nextSample = 1;
  let firstPutMs = Number.NaN;
  let lastPutMs = Number.NaN;
  let startedMs = Number.NaN;
  let sentCount = 0;
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  const options: HistoricalRunOptions = {
    config,
    file: args.csv,
    speed: 'max',
    logger,
    aggregate: args.aggregate,
    workers: args.workers,
    onStart: (scan) => {
      step = Math.max(1, Math.floor(scan.validRows / LATENCY_SAMPLES));
      startedMs = performance.now();
      cpuAtStart = process.cpuUsage();
      poller.start();
    },
    // Counted here, one call per quote handed to the producer: the argument (the producer's
    // accepted entries) would count aggregated records, not quotes, once aggregation packs them.
    onProgress: () => {
      const accepted = ++sentCount;
      const now = performance.now();
      if (accepted === 1) firstPutMs = now;
      lastPutMs = now;
      if (accepted >= nextSample) {
        puts.push({ k: accepted, atMs: now });
        nextSample += step;
      }
    },
  };
  const summary = await runHistorical(options);
  const cpuAtEnd = process.cpuUsage(cpuAtStart);
  await poller.stop();
  const total = poller.lines;
  const firstLine = poller.samples[0];
  const lastLineMs = timeOfLine(poller.samples, total, startedMs) ?? Number.NaN;
  const latencies: number[] = [];
  for (const { k, atMs } of puts) {
    const lineAt = timeOfLine(poller.samples, k, startedMs);
    if (lineAt !== undefined) latencies.push(Math.max(0, lineAt - atMs));
  }
  const e2eSeconds = (lastLineMs - firstPutMs) / 1000;
  const firstLineMs = firstLine === undefined ? Number.NaN : timeOfLine(poller.samples, 1, startedMs) ?? firstLine.atMs;
  return {
    summary,
    e2eSeconds: round(e2eSeconds, 3),
    e2eQuotesPerSec: Math.round(summary.sent / e2eSeconds),
    producerQuotesPerSec: Math.round(summary.sent / ((lastPutMs - firstPutMs) / 1000)),
    consumerQuotesPerSec: Math.round(total / ((lastLineMs - firstLineMs) / 1000)),
    e2eLatencyMs: { p50: round(percentile(latencies, 50), 1), p99: round(percentile(latencies, 99), 1), samples: latencies.length },
    peakRssMb: round(process.resourceUsage().maxRSS / 1024, 1),
    workerPeakRssMb: summary.workerPeakRssMb,
    cpuSeconds: round((cpuAtEnd.user + cpuAtEnd.system) / 1e6, 2),
  };
}

const raw = process.argv[2];
if (raw === undefined) throw new Error('usage: variant.ts <json args>');
const result = await main(JSON.parse(raw) as VariantArgs);
process.stdout.write(JSON.stringify(result) + '\n');
