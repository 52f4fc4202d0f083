/**
 * The one-shot pipeline behind `tick-replay run`: CSV → arrival order → pacing → Kinesis →
 * local event source mapping → mid-price handler → output files, then a summary. Everything it
 * starts it stops, also on errors and interruption.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { describeExit } from '../../infra/child-exit.ts';
import { EmbeddedStackError } from '../../infra/embedded-stack.ts';
import { KinesisProducer } from '../aws/producer.ts';
import { loadShardMap } from '../aws/shard-map.ts';
import type { Config } from '../config.ts';
import { AwsCallError, errorCode, TickReplayError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import { recordHasPrefix, recordPrefixForRun } from '../quotes/record.ts';
import { DEAD_LETTERS_FILE, ERRORS_FILE, MID_PRICES_FILE, prepareOutputDir } from '../output/log-files.ts';
import { systemClock, type Clock } from '../replay/clock.ts';
import { HistoricalSource, scanCsv, type CsvScan } from '../replay/historical-source.ts';
import { Pacer, type Speed } from '../replay/pacer.ts';
import { replay, type QuoteEntry } from '../replay/replayer.ts';
import { openAwsEnvironment } from './aws-environment.ts';
import { createLocalConsumer } from './local-consumer.ts';

export interface HistoricalRunOptions {
  config: Config;
  file: string;
  speed: Speed;
  logger: Logger;
  /** Aborting stops reading, flushes what was read, lets the consumer drain it, then stops. */
  signal?: AbortSignal;
  clock?: Clock;
  /** Called once the input was scanned (total known) and the pipeline is about to start. */
  onStart?: (scan: CsvScan) => void;
  onProgress?: (sent: number) => void;
  /** Where the embedded stack's process logs (default: inherited stderr). */
  stackLogFile?: string;
  /** Pack quotes into KPL aggregated records (the aws-kinesis-agg format); default false. */
  aggregate?: boolean;
}

export interface RunSummary {
  file: string;
  outputDir: string;
  quotesRead: number;
  rejected: number;
  crossed: number;
  sent: number;
  /** Quotes Kinesis acknowledged (less than `sent` only when an interrupted flush gave up). */
  acknowledged: number;
  midLines: number;
  errorLines: number;
  deadLetters: number;
  seconds: number;
  quotesPerSec: number;
  interrupted: boolean;
}

/** How long an interrupted run keeps flushing and draining what was already read. */
const INTERRUPT_DRAIN_MS = 10_000;

async function countLines(file: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(file)) {
    const buf = chunk as Buffer;
    for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) lines++;
  }
  return lines;
}

/** Aborts `ms` after `signal` aborted (at once if `ms` is 0). */
function graceAfter(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const controller = new AbortController();
  const arm = (): void => {
    setTimeout(() => controller.abort(), ms).unref();
  };
  if (signal?.aborted === true) arm();
  else signal?.addEventListener('abort', arm, { once: true });
  return controller.signal;
}

export async function runHistorical(options: HistoricalRunOptions): Promise<RunSummary> {
  const { config, logger, signal } = options;
  const clock = options.clock ?? systemClock;
  const file = path.resolve(options.file);

  // Fail on bad input or output before starting anything; empty the output files only once the
  // AWS side is up, so a failed start leaves earlier results alone.
  const scan = await scanCsv(file);
  await prepareOutputDir(config.outputDir, { truncate: false });
  logger.info('input scanned', {
    file,
    rows: scan.records,
    valid: scan.validRows,
    rejected: scan.rejectedRows,
    sortedByTimestamp: scan.disorderUs === 0,
    fingerprint: scan.fingerprint.slice(0, 16),
  });

  const aws = await openAwsEnvironment(config, logger, { stackLogFile: options.stackLogFile });
  // A dead embedded stack would leave the producer and the consumer retrying forever: fail the run.
  const failure = new AbortController();
  let closing = false;
  void aws.stack?.exited.then((exit) => {
    if (closing) return;
    failure.abort(new EmbeddedStackError(`the embedded AWS stack stopped unexpectedly (${describeExit(exit)})`, { ...exit }));
  });

  const run = randomUUID();
  const runPrefix = recordPrefixForRun(run);
  const { mapping, checkpoints } = createLocalConsumer({
    aws,
    config,
    logger,
    app: `run-${run}`,
    // A one-shot run consumes what it produces: from the stream's end when it starts, and only
    // records stamped with its run id (another replay may be writing to the same stream).
    startingPosition: 'LATEST',
    filter: (record) => recordHasPrefix(record.Data, runPrefix),
    clock,
  });

  try {
    await prepareOutputDir(config.outputDir, { truncate: true });
    await mapping.start();
    const source = new HistoricalSource(scan, { logger: logger.child('historical-source') });
    const producer = new KinesisProducer<QuoteEntry>({
      client: aws.clients.kinesis,
      streamName: config.streamName,
      shardMap: await loadShardMap(aws.clients.kinesis, config.streamName),
      clock,
      logger: logger.child('producer'),
      aggregate: options.aggregate ?? false,
      // Acknowledgements let the source drop its bookkeeping: memory stays flat as files grow.
      onAck: (acked) => {
        for (const a of acked) source.acknowledge(a.entry.seq);
      },
    });
    failure.signal.addEventListener('abort', () => producer.abort(failure.signal.reason as Error), { once: true });
    options.onStart?.(scan);

    const started = clock.now();
    const result = await replay(source, {
      producer,
      pacer: options.speed === 'max' ? undefined : new Pacer(options.speed, clock),
      signal: AbortSignal.any([failure.signal, ...(signal === undefined ? [] : [signal])]),
      run,
      onSent: options.onProgress === undefined ? undefined : () => options.onProgress?.(producer.stats.accepted),
    });
    if (failure.signal.aborted) throw failure.signal.reason;
    // Interrupted: flush and drain what was read, for a bounded time (a second Ctrl-C exits at once).
    const stop = AbortSignal.any([failure.signal, graceAfter(signal, INTERRUPT_DRAIN_MS)]);
    logger.info(result.interrupted ? 'replay interrupted; flushing and draining what was read' : 'replay finished; flushing and draining', {
      sent: result.sent,
    });
    await producer.flush(stop);
    await mapping.waitForPositions(producer.acknowledgedPositions(), stop);
    if (failure.signal.aborted) throw failure.signal.reason;
    const seconds = (clock.now() - started) / 1000;
    logger.info('drained', {
      acknowledged: producer.stats.acked,
      unacknowledged: producer.stats.unacked,
      requests: producer.stats.requests,
      retriedEntries: producer.stats.retriedEntries,
      invocations: mapping.stats.invocations,
    });

    const out = (name: string): Promise<number> => countLines(path.join(config.outputDir, name));
    return {
      file,
      outputDir: config.outputDir,
      quotesRead: source.stats.read,
      rejected: source.stats.rejected,
      crossed: source.stats.crossed,
      sent: result.sent,
      acknowledged: producer.stats.acked,
      midLines: await out(MID_PRICES_FILE),
      errorLines: await out(ERRORS_FILE),
      deadLetters: await out(DEAD_LETTERS_FILE),
      seconds: Math.round(seconds * 1000) / 1000,
      quotesPerSec: seconds > 0 ? Math.round(result.sent / seconds) : 0,
      interrupted: result.interrupted,
    };
  } catch (error) {
    // Whatever failed after the stack died failed because it died: report the cause.
    if (failure.signal.aborted) throw failure.signal.reason;
    if (error instanceof TickReplayError) throw error;
    throw new AwsCallError(`AWS call failed at ${aws.endpointUrl ?? 'AWS'}: ${errorCode(error) ?? (error as Error).message}`, {}, { cause: error });
  } finally {
    closing = true;
    await mapping.stop();
    // The run's consumer application is throw-away: leave no checkpoints behind.
    await Promise.all([...mapping.processedPositions().keys()].map((shardId) => checkpoints.delete(shardId).catch(() => undefined)));
    await aws.close();
  }
}
