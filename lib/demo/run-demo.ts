/**
 * The scripted demo (`npm run demo`): the sample files through the whole stack as `up` runs it —
 * embedded AWS, live feed simulator, the REAL mode API (serverless-offline), replayer and
 * consumer — historical → live → historical, at full speed, then a summary.
 *
 * Its output is the same byte for byte on every run, by construction rather than by sorting:
 *  - one shard, so the stream (and so every output file) has one order: the order sent;
 *  - the modes switch at quote-count boundaries, never at times: the historical replay is gated
 *    after `switchAfter` quotes; once Kinesis acknowledged them and the consumer wrote them, the
 *    demo calls POST /mode live; the feed streams the live file once, to the one client it waits
 *    for; once all of it was sent, acknowledged and written, POST /mode historical resumes from
 *    the DynamoDB checkpoint (the gated quote first) to the end of the file;
 *  - output lines carry the quotes' own timestamps (live ones too), never a clock;
 *  - a fresh stack, stream and table each time, and a fixed latency threshold (20 ms).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openAwsEnvironment } from '../cli/aws-environment.ts';
import { createLocalConsumer } from '../cli/local-consumer.ts';
import { waitForCheckpoints } from '../consumer/checkpoint-wait.ts';
import { startLocalModeApi } from '../cli/local-mode-api.ts';
import { callModeApi } from '../cli/mode-commands.ts';
import { createReplayEngine } from '../cli/replay-engine-setup.ts';
import { resolveConfig } from '../config.ts';
import { TickReplayError } from '../errors.ts';
import { startFeedServer } from '../live/feed-server.ts';
import type { Logger } from '../logging/logger.ts';
import { DEAD_LETTERS_FILE, ERRORS_FILE, MID_PRICES_FILE, prepareOutputDir } from '../output/log-files.ts';
import { scanCsv } from '../replay/historical-source.ts';

/** The demo could not complete (a step timed out, or a component failed). */
export class DemoError extends TickReplayError {}

export interface DemoOptions {
  historicalFile: string;
  liveFile: string;
  outputDir: string;
  /** Historical quotes replayed before the switch to live. */
  switchAfter: number;
  logger: Logger;
  /** Told what happens, one line per step. */
  onStep?: (line: string) => void;
  /** Bound on each wait (ms); default 60 s. */
  stepTimeoutMs?: number;
}

export interface DemoSummary {
  historicalBefore: number;
  live: number;
  historicalAfter: number;
  historicalTotal: number;
  midLines: number;
  errorLines: number;
  deadLetters: number;
  seconds: number;
}

const STEP_TIMEOUT_MS = 60_000;
const POLL_MS = 20;
/** Fixed, whatever the environment says: the committed sample output is made with it. */
const THRESHOLD_MS = 20;

async function lineCount(file: string): Promise<number> {
  const text = await readFile(file, 'utf8');
  return text === '' ? 0 : text.split('\n').length - 1;
}

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const { logger } = options;
  const step = options.onStep ?? (() => undefined);
  const stepTimeoutMs = options.stepTimeoutMs ?? STEP_TIMEOUT_MS;
  const started = performance.now();
  const liveScan = await scanCsv(options.liveFile);
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'tick-replay-demo-'));
  // Nothing from the environment: an AWS_ENDPOINT_URL or LATENCY_THRESHOLD would change the output.
  const config = resolveConfig(
    {},
    {
      outputDir: options.outputDir,
      stateDir,
      edgePort: 0,
      shardCount: 1,
      latencyThresholdMs: THRESHOLD_MS,
      streamName: 'tick-replay-demo-quotes',
      tableName: 'tick-replay-demo-state',
      logLevel: logger.level,
    },
  );
  await prepareOutputDir(config.outputDir, { truncate: true });

  const stops: Array<() => Promise<void>> = [];
  const engineStop = new AbortController();
  let engineFailure: unknown;
  let engineDone: Promise<void> | undefined;

  /** Polls `condition`; fails with `what` after the step timeout or when the replayer failed. */
  const waitUntil = async (what: string, condition: () => boolean): Promise<void> => {
    const deadline = performance.now() + stepTimeoutMs;
    while (!condition()) {
      if (engineFailure !== undefined) throw new DemoError(`the replayer failed while waiting for ${what}`, {}, { cause: engineFailure });
      if (performance.now() > deadline) throw new DemoError(`timed out after ${stepTimeoutMs} ms waiting for ${what}`, { what });
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  };

  try {
    const aws = await openAwsEnvironment(config, logger);
    stops.push(() => aws.close());
    const feed = await startFeedServer({ file: options.liveFile, port: 0, speed: 'max', loop: false, waitForClients: 1, logger: logger.child('feed') });
    stops.push(() => feed.close());
    step(`embedded AWS at ${aws.endpoints.kinesis ?? '?'}, live feed at ${feed.url}; starting the mode API (serverless-offline)`);
    const api = await startLocalModeApi({ aws, config, port: 0, logger });
    stops.push(() => api.stop());

    // The replayer's producer below wakes it (onRecordsLanded).
    const { mapping, leases } = createLocalConsumer({ aws, config, logger, app: 'demo', startingPosition: 'TRIM_HORIZON', filter: () => true, wokenOnPut: true });
    await mapping.start();
    stops.push(() => mapping.stop());

    // The gate holds the first historical session at `switchAfter` quotes; the switch to live
    // ends that session, which releases it without sending the held quote.
    let gateArmed = true;
    let held = false;
    const never = new Promise<void>(() => undefined);
    const { producer, engine } = await createReplayEngine({
      aws,
      config,
      historicalFile: options.historicalFile,
      speed: 'max',
      liveUrl: feed.url,
      logger,
      // The consumer is in this process: it reads what landed now, not at its next idle poll.
      onRecordsLanded: (shardIds) => mapping.recordsPut(shardIds),
      historicalGate: (sent) => {
        if (!gateArmed || sent < options.switchAfter) return undefined;
        held = true;
        return never;
      },
    });
    engineDone = engine.run(engineStop.signal).catch((error: unknown) => {
      engineFailure = error;
    });
    /** Everything sent is acknowledged and the consumer has written it. */
    const drain = async (): Promise<void> => {
      await producer.flush(AbortSignal.timeout(stepTimeoutMs));
      const written = await waitForCheckpoints(leases, new Map(producer.acknowledgedPositions()), { signal: AbortSignal.timeout(stepTimeoutMs) });
      if (!written) throw new DemoError(`timed out after ${stepTimeoutMs} ms waiting for the consumer to write what was sent`, {});
    };

    step(`historical: replaying ${options.historicalFile} up to quote ${options.switchAfter}`);
    await waitUntil(`${options.switchAfter} historical quotes to be acknowledged`, () => held && engine.status().historical.done >= options.switchAfter);
    await drain();
    gateArmed = false;
    await callModeApi({ base: api.url }, { method: 'POST', body: { mode: 'live' } });
    step(`POST ${api.url}/mode {"mode":"live"}: streaming ${liveScan.validRows} live quotes from the feed`);
    await waitUntil(`all ${liveScan.validRows} live quotes to be sent to Kinesis`, () => feed.sent() === liveScan.validRows && engine.status().live.received === liveScan.validRows);
    await drain();
    await callModeApi({ base: api.url }, { method: 'POST', body: { mode: 'historical' } });
    step(`POST ${api.url}/mode {"mode":"historical"}: resuming from the DynamoDB checkpoint`);
    await waitUntil('the historical file to be replayed to its end', () => {
      const { historical, mode } = engine.status();
      return mode === 'historical' && historical.completed && historical.total > 0 && historical.done === historical.total;
    });
    await drain();
    const total = engine.status().historical.total;

    const out = (name: string): string => path.join(config.outputDir, name);
    return {
      historicalBefore: options.switchAfter,
      live: liveScan.validRows,
      historicalAfter: total - options.switchAfter,
      historicalTotal: total,
      midLines: await lineCount(out(MID_PRICES_FILE)),
      errorLines: await lineCount(out(ERRORS_FILE)),
      deadLetters: await lineCount(out(DEAD_LETTERS_FILE)),
      seconds: Math.round(performance.now() - started) / 1000,
    };
  } finally {
    engineStop.abort();
    await engineDone;
    for (const stop of stops.reverse()) await stop().catch((error: unknown) => logger.warn('stopping a demo component failed', { error }));
    await rm(stateDir, { recursive: true, force: true });
  }
}
