/**
 * tick-replay benchmark: `npm run bench [-- --quotes N] [--no-rss-check]` (default N = 1,000,000).
 *
 * On one synthetic data set (bench/synthetic.ts) it measures, in this order:
 *   1. the no-queue floor (bench/no-queue-floor.ts) in a child process, on N rows;
 *   2. replayer RSS flatness: the same on 5N rows in another child, peak RSS compared;
 *   3. the embedded Kinesis's raw PutRecords capacity on the same N records
 *      (bench/putrecords-floor.ts), a first time;
 *   4. the real pipeline (`runHistorical`, --speed max) per variant, each in a child process
 *      against a fresh embedded stack started here (so its pid, hence its VmHWM, is known);
 *   5. the PutRecords capacity a second time (the floor reported is the mean of the two);
 *   6. pacing accuracy at --speed 1 (bench/pacing.ts).
 * It prints a table, then one JSON line (last line of stdout), and writes bench/results/.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedStack, type EmbeddedStack } from '../infra/embedded-stack.ts';
import { cpuSeconds, peakRssMb } from '../lib/system/process-stats.ts';
import { createLogger } from '../lib/logging/logger.ts';
import { barChartSvg } from './chart.ts';
import type { NoQueueResult } from './no-queue-floor.ts';
import { measurePacing } from './pacing.ts';
import { meanFloor, measurePutRecordsFloor, sampleRecords, type PutRecordsFloor } from './putrecords-floor.ts';
import { round } from './stats.ts';
import { writeSyntheticCsv } from './synthetic.ts';
import type { VariantArgs, VariantResult } from './variant.ts';

// As bin/tick-replay.js does: no SDK "Node 22 soon" notice (checked when a client is created).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const RESULTS = path.join(HERE, 'results');
const logger = createLogger({ service: 'bench', level: 'WARN' });

/**
 * Records per handler invocation in the pipeline variants. Lambda allows up to 10,000 for Kinesis;
 * 1,000 amortises the per-batch round trips (GetRecords, lock, checkpoint) on the emulator.
 */
const DEFAULT_BATCH_SIZE = 1_000;

function parseArgs(argv: string[]): { quotes: number; rssCheck: boolean; batchSize: number } {
  let quotes = 1_000_000;
  let rssCheck = true;
  let batchSize = DEFAULT_BATCH_SIZE;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quotes') {
      quotes = Number(argv[++i]);
      if (!Number.isInteger(quotes) || quotes < 1000) throw new Error('--quotes must be an integer >= 1000');
    } else if (arg === '--batch-size') {
      batchSize = Number(argv[++i]);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new Error('--batch-size must be an integer from 1 to 10000');
    } else if (arg === '--no-rss-check') rssCheck = false;
    else if (arg === '--rss-check') rssCheck = true;
    else throw new Error(`unknown argument ${arg} (use --quotes N, --batch-size N, --no-rss-check)`);
  }
  return { quotes, rssCheck, batchSize };
}

const log = (text: string): void => {
  process.stderr.write(`bench: ${text}\n`);
};

/** Runs a bench script in a fresh Node process; returns its last stdout line, parsed. */
function runChild<T>(script: string, args: string[], nodeFlags: string[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', path.join(HERE, script), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      // Same as bin/tick-replay.js: no SDK "Node 22 soon" notice in the output.
      env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...process.env, LOG_LEVEL: 'WARN' },
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) reject(new Error(`${script} exited with ${code ?? signal}`));
      else resolve(JSON.parse(last) as T);
    });
  });
}

interface StackRun<T> {
  result: T;
  emulatorRssMb: number | undefined;
  /** CPU seconds the emulator process used during `body` (startup and bootstrap excluded). */
  emulatorCpuSeconds: number | undefined;
}

async function withStack<T>(dir: string, body: (stack: EmbeddedStack) => Promise<T>): Promise<StackRun<T>> {
  const stack = await startEmbeddedStack({ stateDir: dir, edgePort: 0, logger, logLevel: 'WARN' });
  try {
    const cpuBefore = await cpuSeconds(stack.pid);
    const result = await body(stack);
    const cpuAfter = await cpuSeconds(stack.pid);
    const emulatorCpuSeconds = cpuBefore === undefined || cpuAfter === undefined ? undefined : round(cpuAfter - cpuBefore, 2);
    return { result, emulatorRssMb: await peakRssMb(stack.pid), emulatorCpuSeconds };
  } finally {
    await stack.stop();
  }
}

interface VariantRow {
  name: string;
  e2eQuotesPerSec: number | null;
  producerQuotesPerSec: number | null;
  consumerQuotesPerSec: number | null;
  runSummarySeconds: number | null;
  runSummaryQuotesPerSec: number | null;
  e2eLatencyMs: { p50: number; p99: number } | null;
  peakRssMb: { replayer: number; emulators: number | null; workers: number[] } | null;
  /** Average cores busy during the run (CPU seconds / e2e seconds), per process. */
  cpuCores: { replayer: number; emulators: number | null } | null;
  lines: number | null;
}

interface VariantSpec {
  name: string;
  aggregate: boolean;
  workers: number;
}

async function runVariant(spec: VariantSpec, csv: string, work: string, batchSize: number): Promise<VariantRow> {
  const { name, aggregate, workers } = spec;
  const dir = await mkdtemp(path.join(work, `${name}-`));
  try {
    const { result: r, emulatorRssMb, emulatorCpuSeconds } = await withStack(path.join(dir, 'stack'), (stack) => {
      const args: VariantArgs = { csv, endpointUrl: stack.endpointUrl, workDir: dir, aggregate, workers, batchSize };
      return runChild<VariantResult>('variant.ts', [JSON.stringify(args)]);
    });
    const s = r.summary;
    if (s.midLines + s.errorLines !== s.sent || s.deadLetters !== 0) {
      throw new Error(`${name}: ${s.sent} sent but ${s.midLines} + ${s.errorLines} lines, ${s.deadLetters} dead letters`);
    }
    return {
      name,
      e2eQuotesPerSec: r.e2eQuotesPerSec,
      producerQuotesPerSec: r.producerQuotesPerSec,
      consumerQuotesPerSec: r.consumerQuotesPerSec,
      runSummarySeconds: s.seconds,
      runSummaryQuotesPerSec: s.quotesPerSec,
      e2eLatencyMs: { p50: r.e2eLatencyMs.p50, p99: r.e2eLatencyMs.p99 },
      peakRssMb: { replayer: r.peakRssMb, emulators: emulatorRssMb ?? null, workers: r.workerPeakRssMb },
      cpuCores: {
        replayer: round(r.cpuSeconds / r.e2eSeconds, 2),
        // The stack is idle outside the run, so its CPU over the child's lifetime is the run's.
        emulators: emulatorCpuSeconds === undefined ? null : round(emulatorCpuSeconds / r.e2eSeconds, 2),
      },
      lines: s.midLines + s.errorLines,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const maxOf = (xs: Array<number | null | undefined>): number | null => {
  const ok = xs.filter((x): x is number => typeof x === 'number');
  return ok.length === 0 ? null : Math.max(...ok);
};

const fmt = (v: number | null | undefined, unit = ''): string => (v === null || v === undefined ? 'n/a' : `${v.toLocaleString('en-US')}${unit}`);

async function main(): Promise<void> {
  const { quotes, rssCheck, batchSize } = parseArgs(process.argv.slice(2));
  const work = await mkdtemp(path.join(os.tmpdir(), 'tick-replay-bench-'));
  try {
    const csv = path.join(work, 'quotes.csv');
    log(`writing ${quotes} synthetic quotes`);
    await writeSyntheticCsv(csv, quotes);

    log('no-queue floor');

    // RSS flatness: N vs 5N rows, each in a fresh process, with the source used as `run` and
    // `up` use it (every quote acknowledged, which lets it drop its bookkeeping).
    const floorChild = async (file: string): Promise<NoQueueResult> => {
      const out = await mkdtemp(path.join(work, 'floor-'));
      try {
        // --expose-gc: the floor also reports the heap still reachable after a full collection.
        return await runChild<NoQueueResult>('no-queue-floor.ts', [file, out, '--acknowledge'], ['--expose-gc']);
      } finally {
        await rm(out, { recursive: true, force: true });
      }
    };
    const small = await floorChild(csv);
    let large: NoQueueResult | undefined;
    if (rssCheck) {
      log(`RSS check: ${quotes} vs ${quotes * 5} rows`);
      const bigCsv = path.join(work, 'quotes-5x.csv');
      await writeSyntheticCsv(bigCsv, quotes * 5);
      large = await floorChild(bigCsv);
      await rm(bigCsv, { force: true });
    }

    const floorRuns: Array<StackRun<PutRecordsFloor>> = [];
    log('PutRecords floor: encoding a sample of the data set');
    const floorSample = await sampleRecords(csv, quotes);
    const measurePutFloor = async (): Promise<void> => {
      log(`PutRecords floor (${floorRuns.length + 1} of 2)`);
      const dir = path.join(work, `putfloor-stack-${floorRuns.length + 1}`);
      floorRuns.push(await withStack(dir, (stack) => measurePutRecordsFloor(stack.endpointUrl, { sample: floorSample, records: quotes, getLimit: batchSize })));
      await rm(dir, { recursive: true, force: true });
    };
    await measurePutFloor();

    const variants: VariantRow[] = [];
    const specs: VariantSpec[] = [
      { name: 'aggregation-off', aggregate: false, workers: 1 },
      { name: 'aggregation-on', aggregate: true, workers: 1 },
      { name: 'aggregation-off, 2 workers', aggregate: false, workers: 2 },
      { name: 'aggregation-on, 2 workers', aggregate: true, workers: 2 },
    ];
    for (const spec of specs) {
      log(`variant: ${spec.name}`);
      variants.push(await runVariant(spec, csv, work, batchSize));
    }
    await measurePutFloor();
    const putFloor = meanFloor(floorRuns.map((r) => r.result));
    const putFloorEmuRss = maxOf(floorRuns.map((r) => r.emulatorRssMb));

    log('pacing at --speed 1');
    const pacingCsv = path.join(work, 'pacing.csv');
    await writeSyntheticCsv(pacingCsv, 2_000); // same seed: the first 2,000 quotes of the data set
    const pacing = await measurePacing(pacingCsv);

    const off = variants.find((v) => v.name === 'aggregation-off');
    const on = variants.find((v) => v.name === 'aggregation-on');
    const headline = off;
    const ratio = (a: number | null | undefined, b: number): number | null => (a === null || a === undefined ? null : round(a / b, 3));
    const rssRatio = large === undefined ? null : round(large.peakRssMb / small.peakRssMb, 3);
    const result = {
      quotes,
      batchSize,
      headlineVariant: headline?.name ?? null,
      e2eQuotesPerSec: headline?.e2eQuotesPerSec ?? null,
      producerQuotesPerSec: headline?.producerQuotesPerSec ?? null,
      consumerQuotesPerSec: headline?.consumerQuotesPerSec ?? null,
      e2eLatencyMs: headline?.e2eLatencyMs ?? null,
      peakRssMb: {
        replayer: maxOf(variants.map((v) => v.peakRssMb?.replayer)),
        consumerWorkers: maxOf(variants.flatMap((v) => v.peakRssMb?.workers ?? [])),
        emulators: maxOf([...variants.map((v) => v.peakRssMb?.emulators), putFloorEmuRss]),
      },
      floorNoQueueQuotesPerSec: small.quotesPerSec,
      floorEmulatorPutRecordsPerSec: putFloor.recordsPerSec,
      // The two measurements the floor is the mean of (before and after the variants).
      floorEmulatorPutRecordsSamples: putFloor.samples,
      recordBytes: putFloor.recordBytes,
      // Not a target: the most the unaggregated pipeline could reach (each quote is put and got).
      ceilingEmulatorPutThenGetRecordsPerSec: putFloor.putThenGetRecordsPerSec,
      emulatorGetRecordsPerSec: putFloor.get.recordsPerSec,
      ratios: {
        e2eVsNoQueueFloor: ratio(on?.e2eQuotesPerSec, small.quotesPerSec),
        e2eVsPutRecordsFloor: ratio(off?.e2eQuotesPerSec, putFloor.recordsPerSec),
        e2eVsPutThenGetCeiling: ratio(off?.e2eQuotesPerSec, putFloor.putThenGetRecordsPerSec),
      },
      pacing: { p50: pacing.p50, p99: pacing.p99, max: pacing.max, quotes: pacing.quotes, seconds: pacing.seconds },
      rss: {
        small: { rows: quotes, peakRssMb: round(small.peakRssMb, 1), retainedHeapMb: small.retainedHeapMb ?? null },
        large: large === undefined ? null : { rows: quotes * 5, peakRssMb: round(large.peakRssMb, 1), retainedHeapMb: large.retainedHeapMb ?? null },
        ratio: rssRatio,
        note: 'no-queue floor with each quote acknowledged once its line is written, as run and up acknowledge',
      },
      variants,
      machine: { cpus: os.cpus().length, node: process.version },
    };

    const rows: string[][] = [
      ['variant / floor', 'e2e q/s', 'producer q/s', 'consumer q/s', 'latency p50/p99 ms', 'RSS replayer MB', 'RSS workers MB', 'RSS emulators MB', 'CPU cores repl/emu'],
      ...variants.map((v): string[] => [
        v.name,
        fmt(v.e2eQuotesPerSec),
        fmt(v.producerQuotesPerSec),
        fmt(v.consumerQuotesPerSec),
        v.e2eLatencyMs === null ? 'n/a' : `${v.e2eLatencyMs.p50} / ${v.e2eLatencyMs.p99}`,
        fmt(v.peakRssMb?.replayer),
        v.peakRssMb === null || v.peakRssMb.workers.length === 0 ? '(in replayer)' : v.peakRssMb.workers.join(' / '),
        fmt(v.peakRssMb?.emulators),
        v.cpuCores === null ? 'n/a' : `${v.cpuCores.replayer} / ${fmt(v.cpuCores.emulators)}`,
      ]),
      ['floor: no queue (1 process)', fmt(small.quotesPerSec), '', '', '', fmt(round(small.peakRssMb, 1)), '', '', ''],
      [`floor: PutRecords 500×4 (mean of ${putFloor.samples.map((v) => fmt(v)).join(', ')})`, fmt(putFloor.recordsPerSec), '', '', '', '', '', fmt(putFloorEmuRss), ''],
      [`emulator: GetRecords ${batchSize}×4 shards`, fmt(putFloor.get.recordsPerSec), '', '', '', '', '', '', ''],
      ['ceiling: put + get of each record', fmt(putFloor.putThenGetRecordsPerSec), '', '', '', '', '', '', ''],
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    const line = (r: string[]): string => '| ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
    const table = [line(rows[0]!), '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|', ...rows.slice(1).map(line)];
    const extra = [
      `ratios: e2e (aggregation on) / no-queue floor = ${fmt(result.ratios.e2eVsNoQueueFloor)}; e2e (aggregation off) / PutRecords floor = ${fmt(result.ratios.e2eVsPutRecordsFloor)} (/ the put + get ceiling = ${fmt(result.ratios.e2eVsPutThenGetCeiling)})`,
      `pacing at --speed 1 (${pacing.quotes} quotes, ${pacing.seconds} s): lateness p50 ${pacing.p50} ms, p99 ${pacing.p99} ms, max ${pacing.max} ms (target p99 <= 5 ms)`,
      large === undefined
        ? 'replayer RSS flatness: skipped (--no-rss-check)'
        : `replayer RSS flatness (no-queue floor, quotes acknowledged as run and up do): ${quotes} rows ${round(small.peakRssMb, 1)} MB, ${quotes * 5} rows ${round(large.peakRssMb, 1)} MB, ratio ${rssRatio} (target <= 1.10); heap retained after a full GC: ${fmt(small.retainedHeapMb)} MB vs ${fmt(large.retainedHeapMb)} MB`,
    ];
    process.stdout.write(`tick-replay benchmark, ${quotes.toLocaleString('en-US')} quotes, --speed max, batch size ${batchSize}\n\n${table.join('\n')}\n\n${extra.join('\n')}\n`);

    await mkdir(RESULTS, { recursive: true });
    await writeFile(path.join(RESULTS, 'latest.json'), JSON.stringify(result, null, 2) + '\n');
    const svg = barChartSvg(`tick-replay: quotes/s, ${quotes.toLocaleString('en-US')} quotes (${os.cpus().length} cores)`, [
      ...variants.map((v) => ({ label: `pipeline, ${v.name}`, value: v.e2eQuotesPerSec, kind: 'variant' as const })),
      { label: 'floor: no queue', value: small.quotesPerSec, kind: 'floor' },
      { label: 'floor: PutRecords (records/s)', value: putFloor.recordsPerSec, kind: 'floor' },
      { label: 'ceiling: put + get (records/s)', value: putFloor.putThenGetRecordsPerSec, kind: 'floor' },
    ]);
    await writeFile(path.join(RESULTS, 'throughput.svg'), svg);
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
