/**
 * tick-replay benchmark: `npm run bench [-- --quotes N] [--no-rss-check]` (default N = 1,000,000).
 *
 * On one synthetic data set (bench/synthetic.ts) it measures, in ROUNDS rounds, each of:
 *   - the parse-only reference (bench/parse-only-floor.ts) and the no-queue floor
 *     (bench/no-queue-floor.ts), each in a child process, on N rows;
 *   - the embedded Kinesis's raw PutRecords capacity on the same N records
 *     (bench/putrecords-floor.ts) and the aggregated put floor (bench/aggregated-put-floor.ts),
 *     each on a fresh embedded stack;
 *   - the real pipeline (`runHistorical`, --speed max), aggregation off and on, each in a child
 *     process against a fresh embedded stack started here (so its pid, hence its VmHWM, is known);
 * the 2-worker variants once (last round); every figure is the best of its samples, so that a
 * ratio compares the code at its best with the floor at its best (the machine is shared), and
 * every sample is in the JSON. Then: replayer RSS flatness (the no-queue floor on 5N rows),
 * pacing accuracy at --speed 1 (bench/pacing.ts), and the real-time phase (bench/realtime.ts:
 * `up --speed 1` delivery latency, mode switches through the mode API), and `up --speed max`
 * against `run` on the same file, each the real CLI (bench/up-vs-run.ts).
 * It prints a table, then one JSON line (last line of stdout), and writes bench/results/.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedStack, type EmbeddedStack } from '../infra/embedded-stack.ts';
import { cpuSeconds, peakRssMb } from '../lib/system/process-stats.ts';
import { createLogger } from '../lib/logging/logger.ts';
import { aggregateSample, measureAggregatedPutFloor, type AggregatedPutFloor } from './aggregated-put-floor.ts';
import type { NoQueueResult } from './no-queue-floor.ts';
import { measurePacing } from './pacing.ts';
import type { ParseOnlyResult } from './parse-only-floor.ts';
import { bestFloor, measurePutRecordsFloor, sampleRecords, type PutRecordsFloor } from './putrecords-floor.ts';
import type { RealtimeArgs, RealtimeResult } from './realtime.ts';
import { fmt, resultChart, resultTable, type FloorRow, type VariantRow } from './report.ts';
import { round } from './stats.ts';
import { START_MS, writeSyntheticCsv } from './synthetic.ts';
import { runChild } from './run-child.ts';
import { measureUpVsRun } from './up-vs-run.ts';
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

/**
 * The smallest run the RSS check compares with five times as many rows. A shorter run ends while
 * the heap is still growing to its working size (a 200,000-row floor lasts ~1.5 s, and its peak
 * RSS varied 155–205 MB between runs against 180–200 MB for 1,000,000 rows, with the same 13 MB
 * retained after a full GC), so its peak says nothing about growth with the input.
 */
const RSS_BASE_ROWS = 1_000_000;

/** Samples of each floor and of the aggregation off/on variants, interleaved. */
const ROUNDS = 3;

interface BenchArgs {
  quotes: number;
  rssCheck: boolean;
  batchSize: number;
  /** Length of the `up --speed 1` phase (0: skipped). */
  realtimeSeconds: number;
  switches: number;
  /** Alternated `run` / `up --speed max` pairs (0: skipped). */
  upVsRunRounds: number;
}

function parseArgs(argv: string[]): BenchArgs {
  let quotes = 1_000_000;
  let rssCheck = true;
  let batchSize = DEFAULT_BATCH_SIZE;
  let realtimeSeconds = 60;
  let switches = 20;
  let upVsRunRounds = 3;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quotes') {
      quotes = Number(argv[++i]);
      if (!Number.isInteger(quotes) || quotes < 1000) throw new Error('--quotes must be an integer >= 1000');
    } else if (arg === '--batch-size') {
      batchSize = Number(argv[++i]);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new Error('--batch-size must be an integer from 1 to 10000');
    } else if (arg === '--realtime-seconds') {
      realtimeSeconds = Number(argv[++i]);
      if (!Number.isInteger(realtimeSeconds) || realtimeSeconds < 0) throw new Error('--realtime-seconds must be an integer >= 0 (0 skips the real-time phase)');
    } else if (arg === '--switches') {
      switches = Number(argv[++i]);
      if (!Number.isInteger(switches) || switches < 0) throw new Error('--switches must be an integer >= 0');
    } else if (arg === '--up-vs-run-rounds') {
      upVsRunRounds = Number(argv[++i]);
      if (!Number.isInteger(upVsRunRounds) || upVsRunRounds < 0) throw new Error('--up-vs-run-rounds must be an integer >= 0 (0 skips the up vs run phase)');
    } else if (arg === '--no-rss-check') rssCheck = false;
    else if (arg === '--rss-check') rssCheck = true;
    else throw new Error(`unknown argument ${arg} (use --quotes N, --batch-size N, --no-rss-check, --realtime-seconds S, --switches N, --up-vs-run-rounds N)`);
  }
  return { quotes, rssCheck, batchSize, realtimeSeconds, switches, upVsRunRounds };
}

const log = (text: string): void => {
  process.stderr.write(`bench: ${text}\n`);
};

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
      e2eSamples: [r.e2eQuotesPerSec],
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

/** The best sample of a variant (highest e2e rate), with every sample's rate kept. */
function bestVariant(samples: readonly VariantRow[]): VariantRow {
  const best = samples.reduce((b, v) => ((v.e2eQuotesPerSec ?? 0) > (b.e2eQuotesPerSec ?? 0) ? v : b));
  return { ...best, e2eSamples: samples.map((v) => v.e2eQuotesPerSec ?? 0) };
}

/** The live feed of the real-time phase: the same generator, dated 2031 so that its lines tell their mode. */
const LIVE_START_MS = START_MS + 6 * 365 * 86_400_000;

async function main(): Promise<void> {
  const { quotes, rssCheck, batchSize, realtimeSeconds, switches, upVsRunRounds } = parseArgs(process.argv.slice(2));
  const work = await mkdtemp(path.join(os.tmpdir(), 'tick-replay-bench-'));
  try {
    const csv = path.join(work, 'quotes.csv');
    log(`writing ${quotes} synthetic quotes`);
    await writeSyntheticCsv(csv, quotes);

    // The no-queue floor, with the source used as `run` and `up` use it (every quote
    // acknowledged, which lets it drop its bookkeeping): also the RSS flatness check's subject.
    const floorChild = async (file: string): Promise<NoQueueResult> => {
      const out = await mkdtemp(path.join(work, 'floor-'));
      try {
        // --expose-gc: the floor also reports the heap still reachable after a full collection.
        return await runChild<NoQueueResult>('no-queue-floor.ts', [file, out, '--acknowledge'], ['--expose-gc']);
      } finally {
        await rm(out, { recursive: true, force: true });
      }
    };
    log('PutRecords floors: encoding a sample of the data set');
    const floorSample = await sampleRecords(csv, quotes);
    const aggregates = aggregateSample(floorSample);
    const stackDir = (what: string): string => path.join(work, `${what}-${randomUUID().slice(0, 8)}`);
    const onFreshStack = async <T>(what: string, body: (stack: EmbeddedStack) => Promise<T>): Promise<StackRun<T>> => {
      const dir = stackDir(what);
      try {
        return await withStack(dir, body);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    };

    const parseOnly: ParseOnlyResult[] = [];
    const noQueue: NoQueueResult[] = [];
    const putFloors: Array<StackRun<PutRecordsFloor>> = [];
    const aggPutFloors: Array<StackRun<AggregatedPutFloor>> = [];
    const samples = new Map<string, VariantRow[]>();
    const specs: VariantSpec[] = [
      { name: 'aggregation-off', aggregate: false, workers: 1 },
      { name: 'aggregation-on', aggregate: true, workers: 1 },
      { name: 'aggregation-off, 2 workers', aggregate: false, workers: 2 },
      { name: 'aggregation-on, 2 workers', aggregate: true, workers: 2 },
    ];
    for (let pass = 1; pass <= ROUNDS; pass++) {
      log(`round ${pass} of ${ROUNDS}: parse-only reference, no-queue floor`);
      parseOnly.push(await runChild<ParseOnlyResult>('parse-only-floor.ts', [csv]));
      noQueue.push(await floorChild(csv));
      log(`round ${pass}: PutRecords floor, aggregated put floor`);
      putFloors.push(await onFreshStack('putfloor', (stack) => measurePutRecordsFloor(stack.endpointUrl, { sample: floorSample, records: quotes, getLimit: batchSize })));
      aggPutFloors.push(await onFreshStack('aggfloor', (stack) => measureAggregatedPutFloor(stack.endpointUrl, aggregates, quotes)));
      // The 1-worker variants every round (the ratios' numerators); the 2-worker ones once.
      for (const spec of specs.filter((s) => s.workers === 1 || pass === ROUNDS)) {
        log(`round ${pass}: variant ${spec.name}`);
        const list = samples.get(spec.name) ?? [];
        list.push(await runVariant(spec, csv, work, batchSize));
        samples.set(spec.name, list);
      }
    }
    const variants = specs.map((s) => bestVariant(samples.get(s.name) ?? []));
    const putFloor = bestFloor(putFloors.map((r) => r.result));
    const putFloorEmuRss = maxOf(putFloors.map((r) => r.emulatorRssMb));
    const bestNoQueue = noQueue.reduce((b, r) => (r.quotesPerSec > b.quotesPerSec ? r : b));
    const bestParseOnly = Math.max(...parseOnly.map((r) => r.quotesPerSec));
    const bestAggPut = Math.max(...aggPutFloors.map((r) => r.result.quotesPerSec));

    // RSS is compared between two runs of the same kind, the no-queue floor: the first N-row sample
    // (or a run of RSS_BASE_ROWS when N is smaller) against five times as many rows.
    let small = noQueue[0] as NoQueueResult;
    const rssRows = Math.max(quotes, RSS_BASE_ROWS);
    let large: NoQueueResult | undefined;
    if (rssCheck) {
      log(`RSS check: ${rssRows} vs ${rssRows * 5} rows`);
      if (rssRows > quotes) {
        const baseCsv = path.join(work, 'quotes-rss-base.csv');
        await writeSyntheticCsv(baseCsv, rssRows);
        small = await floorChild(baseCsv);
        await rm(baseCsv, { force: true });
      }
      const bigCsv = path.join(work, 'quotes-5x.csv');
      await writeSyntheticCsv(bigCsv, rssRows * 5);
      large = await floorChild(bigCsv);
      await rm(bigCsv, { force: true });
    }

    log('pacing at --speed 1');
    const pacingCsv = path.join(work, 'pacing.csv');
    await writeSyntheticCsv(pacingCsv, 2_000); // same seed: the first 2,000 quotes of the data set
    const pacing = await measurePacing(pacingCsv);

    let realTime: RealtimeResult | undefined;
    if (realtimeSeconds > 0) {
      log(`real-time phase: up --speed 1 for ${realtimeSeconds} s, then ${switches} mode switches`);
      const liveCsv = path.join(work, 'live.csv');
      await writeSyntheticCsv(liveCsv, 20_000, 7, LIVE_START_MS);
      const dir = await mkdtemp(path.join(work, 'realtime-'));
      const { result } = await withStack(path.join(dir, 'stack'), (stack) => {
        const args: RealtimeArgs = { csv, liveCsv, endpointUrl: stack.endpointUrl, workDir: dir, seconds: realtimeSeconds, switches };
        return runChild<RealtimeResult>('realtime.ts', [JSON.stringify(args)]);
      });
      realTime = result;
      await rm(dir, { recursive: true, force: true });
    }

    const upVsRun = upVsRunRounds === 0 ? undefined : await measureUpVsRun({ csv, quotes, work, rounds: upVsRunRounds, batchSize, aggregate: true, log });

    const off = variants.find((v) => v.name === 'aggregation-off');
    const on = variants.find((v) => v.name === 'aggregation-on');
    const headline = off;
    const ratio = (a: number | null | undefined, b: number): number | null => (a === null || a === undefined ? null : round(a / b, 3));
    const rssRatio = large === undefined ? null : round(large.peakRssMb / small.peakRssMb, 3);
    const result = {
      quotes,
      batchSize,
      rounds: ROUNDS,
      headlineVariant: headline?.name ?? null,
      e2eQuotesPerSec: headline?.e2eQuotesPerSec ?? null,
      e2eAggregatedQuotesPerSec: on?.e2eQuotesPerSec ?? null,
      producerQuotesPerSec: headline?.producerQuotesPerSec ?? null,
      consumerQuotesPerSec: headline?.consumerQuotesPerSec ?? null,
      e2eLatencyMs: headline?.e2eLatencyMs ?? null,
      peakRssMb: {
        replayer: maxOf(variants.map((v) => v.peakRssMb?.replayer)),
        consumerWorkers: maxOf(variants.flatMap((v) => v.peakRssMb?.workers ?? [])),
        emulators: maxOf([...variants.map((v) => v.peakRssMb?.emulators), putFloorEmuRss]),
      },
      floorParseOnlyQuotesPerSec: bestParseOnly,
      floorParseOnlySamples: parseOnly.map((r) => r.quotesPerSec),
      floorNoQueueQuotesPerSec: bestNoQueue.quotesPerSec,
      floorNoQueueSamples: noQueue.map((r) => r.quotesPerSec),
      floorEmulatorPutRecordsPerSec: putFloor.recordsPerSec,
      floorEmulatorPutRecordsSamples: putFloor.samples,
      floorAggregatedPutQuotesPerSec: bestAggPut,
      floorAggregatedPutSamples: aggPutFloors.map((r) => r.result.quotesPerSec),
      aggregatedQuotesPerRecord: aggPutFloors[0]?.result.quotesPerRecord ?? null,
      recordBytes: putFloor.recordBytes,
      // Not a target: the most the unaggregated pipeline could reach (each quote is put and got).
      ceilingEmulatorPutThenGetRecordsPerSec: putFloor.putThenGetRecordsPerSec,
      emulatorGetRecordsPerSec: putFloor.get.recordsPerSec,
      ratios: {
        noQueueVsParseOnly: ratio(bestNoQueue.quotesPerSec, bestParseOnly),
        e2eAggregatedVsNoQueueFloor: ratio(on?.e2eQuotesPerSec, bestNoQueue.quotesPerSec),
        e2eVsPutRecordsFloor: ratio(off?.e2eQuotesPerSec, putFloor.recordsPerSec),
        e2eAggregatedVsAggregatedPutFloor: ratio(on?.e2eQuotesPerSec, bestAggPut),
        e2eVsPutThenGetCeiling: ratio(off?.e2eQuotesPerSec, putFloor.putThenGetRecordsPerSec),
      },
      realTime: realTime === undefined ? null : { deliveryLatencyMs: realTime.deliveryLatencyMs, sendLatenessMs: realTime.sendLatenessMs, unmatchedLines: realTime.unmatchedLines, phaseSeconds: realTime.phaseSeconds, upCpuCores: realTime.cpuCores, pollMs: realTime.pollMs },
      modeSwitchMs: realTime?.modeSwitchMs ?? null,
      upVsRun: upVsRun ?? null,
      pacing: { p50: pacing.p50, p99: pacing.p99, max: pacing.max, quotes: pacing.quotes, seconds: pacing.seconds },
      rss: {
        small: { rows: large === undefined ? quotes : rssRows, peakRssMb: round(small.peakRssMb, 1), retainedHeapMb: small.retainedHeapMb ?? null },
        large: large === undefined ? null : { rows: rssRows * 5, peakRssMb: round(large.peakRssMb, 1), retainedHeapMb: large.retainedHeapMb ?? null },
        ratio: rssRatio,
        note: 'no-queue floor with each quote acknowledged once its line is written, as run and up acknowledge',
      },
      variants,
      machine: { cpus: os.cpus().length, node: process.version, loadAverage: os.loadavg().map((l) => round(l, 2)) },
    };

    const floors: FloorRow[] = [
      { label: 'floor: parse only (csv-parse → objects)', value: bestParseOnly, samples: result.floorParseOnlySamples },
      { label: 'floor: no queue (1 process)', value: bestNoQueue.quotesPerSec, samples: result.floorNoQueueSamples, rssMb: round((noQueue[0] as NoQueueResult).peakRssMb, 1) },
      { label: 'floor: PutRecords 500×4 (records/s)', value: putFloor.recordsPerSec, samples: putFloor.samples, emulatorRssMb: putFloorEmuRss },
      { label: 'floor: aggregated PutRecords (quotes/s)', value: bestAggPut, samples: result.floorAggregatedPutSamples },
      { label: `emulator: GetRecords ${batchSize}×4 shards`, value: putFloor.get.recordsPerSec, samples: [] },
      { label: 'ceiling: put + get of each record', value: putFloor.putThenGetRecordsPerSec, samples: [] },
    ];
    const r = result.ratios;
    const extra = [
      `ratios: no-queue / parse-only = ${fmt(r.noQueueVsParseOnly)} (target >= 0.6); e2e aggregation on / no-queue = ${fmt(r.e2eAggregatedVsNoQueueFloor)} (target >= 0.5); e2e aggregation off / PutRecords floor = ${fmt(r.e2eVsPutRecordsFloor)} (target >= 0.8; / the put + get ceiling = ${fmt(r.e2eVsPutThenGetCeiling)}); e2e aggregation on / aggregated put floor = ${fmt(r.e2eAggregatedVsAggregatedPutFloor)}`,
      realTime === undefined
        ? 'real-time phase: skipped (--realtime-seconds 0)'
        : `delivery latency at --speed 1 (${realTime.phaseSeconds} s, ${realTime.deliveryLatencyMs.samples} lines, ${realTime.unmatchedLines} unmatched): p50 ${realTime.deliveryLatencyMs.p50} ms, p90 ${realTime.deliveryLatencyMs.p90} ms, p99 ${realTime.deliveryLatencyMs.p99} ms, max ${realTime.deliveryLatencyMs.max} ms (target p99 <= 70 ms); mode switch (${realTime.modeSwitchMs.samples.length} switches, ${realTime.modeSwitchMs.timedOut} timed out): p50 ${realTime.modeSwitchMs.p50} ms, p99 ${realTime.modeSwitchMs.p99} ms (target p99 <= 250 ms)`,
      upVsRun === undefined
        ? 'up vs run: skipped (--up-vs-run-rounds 0)'
        : `up --speed max vs run (${upVsRun.flags.join(' ')}, spawn → last line, best of ${upVsRun.runSamples.length}): run ${upVsRun.runSeconds} s (${upVsRun.runSamples.join(', ')}), up ${upVsRun.upSeconds} s (${upVsRun.upSamples.join(', ')}), ratio ${upVsRun.ratio} (target <= 1.1)`,
      `pacing at --speed 1 (${pacing.quotes} quotes, ${pacing.seconds} s): lateness p50 ${pacing.p50} ms, p99 ${pacing.p99} ms, max ${pacing.max} ms (target p99 <= 5 ms)`,
      large === undefined
        ? 'replayer RSS flatness: skipped (--no-rss-check)'
        : `replayer RSS flatness (no-queue floor, quotes acknowledged as run and up do): ${rssRows} rows ${round(small.peakRssMb, 1)} MB, ${rssRows * 5} rows ${round(large.peakRssMb, 1)} MB, ratio ${rssRatio} (target <= 1.10); heap retained after a full GC: ${fmt(small.retainedHeapMb)} MB vs ${fmt(large.retainedHeapMb)} MB`,
    ];
    process.stdout.write(`tick-replay benchmark, ${quotes.toLocaleString('en-US')} quotes, --speed max, batch size ${batchSize}, best of ${ROUNDS} rounds\n\n${resultTable(variants, floors)}\n\n${extra.join('\n')}\n`);

    await mkdir(RESULTS, { recursive: true });
    await writeFile(path.join(RESULTS, 'latest.json'), JSON.stringify(result, null, 2) + '\n');
    const title = `tick-replay: quotes/s, ${quotes.toLocaleString('en-US')} quotes (${os.cpus().length} cores)`;
    await writeFile(path.join(RESULTS, 'throughput.svg'), resultChart(title, variants, floors, realTime?.deliveryLatencyMs ?? null));
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
