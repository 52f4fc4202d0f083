/**
 * The real-time phase, in its own process: `up --speed 1` (the whole local stack: mode API,
 * live feed simulator, replayer, in-process consumer) against an embedded stack the parent
 * started, for `seconds` of historical replay, then `switches` mode flips through the real mode
 * API (POST /mode, as `tick-replay mode` sends it). Prints one JSON line.
 *
 *   node --import tsx bench/realtime.ts '{"csv":…,"liveCsv":…,"endpointUrl":…,"workDir":…,"seconds":60,"switches":20}'
 *
 * Delivery latency = when a line is first seen in mid_prices.log/errors.log − the quote's
 * scheduled wall clock. The scheduled time is reconstructed as the Pacer defines it:
 * anchor + (arrival − first arrival) / speed, the anchor being the moment the first quote was
 * handed to the producer (the Pacer releases the first quote at once, so that is its anchor to
 * within microseconds). Each sent quote's exact output line is computed with the handler's own
 * `processBatch` and queued under that text, so a line seen in the files is matched to the quote
 * it came from (identical lines pair in send order). Lines are read when the kernel reports the
 * files changed (LinePoller), so a latency is over-stated by the notification's delay (well under a
 * millisecond) plus the read; POLL_MS is only the fallback look.
 *
 * Mode switch = API call → the line of the first quote of the new mode sent after the call, seen
 * in the files (lines of that mode still in flight from its previous period do not count).
 */
import path from 'node:path';
import { callModeApi } from '../lib/cli/mode-commands.ts';
import { runUp } from '../lib/cli/up-command.ts';
import { createLogger } from '../lib/logging/logger.ts';
import { processBatch } from '../lib/midprice/process-batch.ts';
import { encodeQuote } from '../lib/records/quote-record.ts';
import type { PacedQuote } from '../lib/replay/replay-source.ts';
import { childConfig } from './child-config.ts';
import { LinePoller } from './line-poller.ts';
import { percentile, round } from './stats.ts';

export interface RealtimeArgs {
  csv: string;
  liveCsv: string;
  endpointUrl: string;
  workDir: string;
  seconds: number;
  switches: number;
}

export interface LatencyFigures {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  samples: number;
  /** Lines per latency bucket of `bucketMs` (the distribution drawn in the chart). */
  histogram: { bucketMs: number; counts: number[] };
}

export interface RealtimeResult {
  deliveryLatencyMs: LatencyFigures;
  /** The replayer's part: scheduled wall clock → handed to the producer (pacing, send window). */
  sendLatenessMs: { p50: number; p99: number; max: number };
  /** Quotes sent in the measured phase whose line never showed up before it ended. */
  unmatchedLines: number;
  phaseSeconds: number;
  /** CPU of the `up` process (replayer, consumer, handler, mode API client, feed) over the phase, in cores. */
  cpuCores: number;
  modeSwitchMs: { p50: number; p99: number; max: number; samples: number[]; timedOut: number };
  pollMs: number;
}

const POLL_MS = 50;
const SPEED = 1;
const SWITCH_TIMEOUT_MS = 10_000;
/** After a switch's first line, before the next switch: the old mode's lines in flight drain. */
const SWITCH_DWELL_MS = 1_000;
const BUCKET_MS = 10;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function latencyFigures(values: readonly number[], bucketMs = BUCKET_MS): LatencyFigures {
  const counts: number[] = [];
  for (const v of values) {
    const b = Math.max(0, Math.floor(v / bucketMs));
    while (counts.length <= b) counts.push(0);
    counts[b] = (counts[b] ?? 0) + 1;
  }
  return {
    p50: round(percentile(values, 50), 1),
    p90: round(percentile(values, 90), 1),
    p99: round(percentile(values, 99), 1),
    max: round(values.length === 0 ? Number.NaN : Math.max(...values), 1),
    samples: values.length,
    histogram: { bucketMs, counts },
  };
}

async function main(args: RealtimeArgs): Promise<RealtimeResult> {
  // BATCH_SIZE as `up` has it by default (100), unlike the throughput variants.
  const config = childConfig(args.endpointUrl, args.workDir);
  const logger = createLogger({ service: 'bench', level: 'WARN' });
  const threshold = config.latencyThresholdMs;

  // Scheduled wall clock of each sent quote, queued under its output line's text.
  const scheduled = new Map<string, Array<{ at: number; sentMs: number }>>();
  let measuring = true;
  let anchor: { wallMs: number; arrivalUs: number } | undefined;
  let phaseEndMs = Number.POSITIVE_INFINITY;
  // A mode switch waits for the line of the first quote of the new mode sent after the call.
  let waitingFor: { mode: 'historical' | 'live'; sinceMs: number; line?: string; resolve: (atMs: number) => void } | undefined;
  const lineOf = (quote: PacedQuote): string | undefined => {
    const out = processBatch([{ id: '1', partitionKey: quote.ticker, data: encodeQuote(quote) }], threshold);
    return out.midLines[0] ?? out.errorLines[0];
  };
  const onQuoteSent = (quote: PacedQuote): void => {
    if (waitingFor !== undefined && waitingFor.line === undefined && quote.mode === waitingFor.mode) waitingFor.line = lineOf(quote);
    if (!measuring || quote.mode !== 'historical') return;
    const now = performance.now();
    anchor ??= { wallMs: now, arrivalUs: quote.arrivalUs };
    const at = anchor.wallMs + (quote.arrivalUs - anchor.arrivalUs) / 1000 / SPEED;
    const line = lineOf(quote);
    if (line === undefined) return;
    const queue = scheduled.get(line);
    if (queue === undefined) scheduled.set(line, [{ at, sentMs: now }]);
    else queue.push({ at, sentMs: now });
  };

  const latencies: number[] = [];
  const sendLateness: number[] = [];
  const onLine = (line: string, atMs: number): void => {
    const queue = scheduled.get(line);
    if (queue !== undefined) {
      const { at, sentMs } = queue.shift() as { at: number; sentMs: number };
      if (queue.length === 0) scheduled.delete(line);
      if (at <= phaseEndMs) {
        latencies.push(atMs - at);
        sendLateness.push(sentMs - at);
      }
    }
    if (waitingFor !== undefined && line === waitingFor.line && atMs >= waitingFor.sinceMs) {
      waitingFor.resolve(atMs);
      waitingFor = undefined;
    }
  };
  const poller = new LinePoller([path.join(config.outputDir, 'mid_prices.log'), path.join(config.outputDir, 'errors.log')], POLL_MS, onLine);

  const stop = new AbortController();
  let ready: (apiUrl: string) => void = () => undefined;
  const apiReady = new Promise<string>((resolve) => (ready = resolve));
  const up = runUp({
    config,
    historicalFile: args.csv,
    liveFile: args.liveCsv,
    livePort: 0,
    apiPort: 0,
    dashboardPort: 0,
    speed: SPEED,
    logger,
    signal: stop.signal,
    onReady: (info) => ready(info.apiUrl ?? ''),
    onQuoteSent,
  });
  const failed = up.then(() => {
    throw new Error('up stopped before the benchmark stopped it');
  });
  try {
    const apiUrl = await Promise.race([apiReady, failed]);
    poller.start();
    // The phase runs from the first quote sent.
    while (anchor === undefined) await Promise.race([sleep(20), failed]);
    const started = anchor.wallMs;
    const cpuAtStart = process.cpuUsage();
    await Promise.race([sleep(args.seconds * 1000 - (performance.now() - started)), failed]);
    measuring = false;
    phaseEndMs = performance.now();
    const phaseSeconds = (phaseEndMs - started) / 1000;
    const cpu = process.cpuUsage(cpuAtStart);
    const cpuCores = round((cpu.user + cpu.system) / 1e6 / phaseSeconds, 2);
    // What was sent in the phase reaches the files (or is counted as unmatched).
    await Promise.race([sleep(2_000), failed]);
    const unmatchedLines = [...scheduled.values()].reduce((n, q) => n + q.filter((s) => s.at <= phaseEndMs).length, 0);

    const switchMs: number[] = [];
    let timedOut = 0;
    for (let i = 0; i < args.switches; i++) {
      const mode = i % 2 === 0 ? 'live' : 'historical';
      const sinceMs = performance.now();
      const seen = new Promise<number>((resolve) => (waitingFor = { mode, sinceMs, resolve }));
      await callModeApi({ base: apiUrl }, { method: 'POST', body: { mode } });
      const atMs = await Promise.race([seen, sleep(SWITCH_TIMEOUT_MS).then(() => undefined), failed]);
      if (atMs === undefined) {
        timedOut++;
        waitingFor = undefined;
      } else switchMs.push(round(atMs - sinceMs, 1));
      await Promise.race([sleep(SWITCH_DWELL_MS), failed]);
    }
    return {
      deliveryLatencyMs: latencyFigures(latencies),
      sendLatenessMs: { p50: round(percentile(sendLateness, 50), 1), p99: round(percentile(sendLateness, 99), 1), max: round(Math.max(...sendLateness), 1) },
      unmatchedLines,
      phaseSeconds: round(phaseSeconds, 1),
      cpuCores,
      modeSwitchMs: {
        p50: round(percentile(switchMs, 50), 1),
        p99: round(percentile(switchMs, 99), 1),
        max: round(Math.max(...switchMs), 1),
        samples: switchMs,
        timedOut,
      },
      pollMs: POLL_MS,
    };
  } finally {
    stop.abort();
    await poller.stop();
    await up.catch(() => undefined);
  }
}

const raw = process.argv[2];
if (raw === undefined) throw new Error('usage: realtime.ts <json args>');
const result = await main(JSON.parse(raw) as RealtimeArgs);
process.stdout.write(JSON.stringify(result) + '\n');
