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
import { describeEndpoints } from '../aws/endpoints.ts';
import { isRetryableError } from '../aws/retryable.ts';
import { KinesisProducer } from '../aws/producer.ts';
import { listShards, loadShardMap } from '../aws/shard-map.ts';
import { waitForCheckpoints } from '../consumer/checkpoint-wait.ts';
import type { Config } from '../config.ts';
import { AwsCallError, errorCode, InputError, TickReplayError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import { systemClock, type Clock } from '../time/clock.ts';
import { locationKey, type InputContext } from '../input/input.ts';
import { HistoricalSource, openNamedInput, scanCsv, sourceIdFor, type CsvScan } from '../replay/historical-source.ts';
import { MergedSource } from '../replay/merged-source.ts';
import { DEFAULT_SELECTION, type Selection } from '../replay/selection.ts';
import { Pacer, type Speed } from '../replay/pacer.ts';
import { replay, type QuoteEntry } from '../replay/replayer.ts';
import { openAwsEnvironment } from './aws-environment.ts';
import { startConsumerApplication, type ConsumerApplication } from './consumer-application.ts';
import { consumerLeases } from './local-consumer.ts';
import { countOutput, describeOutput, prepareOutput } from './output-target.ts';

export interface HistoricalRunOptions {
  config: Config;
  /** One input, or several replayed as one stream merged by arrival (given order breaks ties). */
  file: string | readonly string[];
  /** Window, tickers, disorder bound (default: everything, 60 s). */
  selection?: Selection;
  /** How s3:// inputs are reached (input-context.ts); default: local files only. */
  inputs?: InputContext;
  speed: Speed;
  logger: Logger;
  /** Aborting stops reading, flushes what was read, lets the consumer drain it, then stops. */
  signal?: AbortSignal;
  clock?: Clock;
  /** Called once the inputs were scanned (total known) and the pipeline is about to start. */
  onStart?: (inputs: { validRows: number; scans: CsvScan[] }) => void;
  onProgress?: (sent: number) => void;
  /** Where the embedded stack's process logs (default: inherited stderr). */
  stackLogFile?: string;
  /** Pack quotes into KPL aggregated records (the aws-kinesis-agg format); default false. */
  aggregate?: boolean;
  /** Consumer workers: 1 (default) runs in this process; N > 1 forks N worker processes. */
  workers?: number;
}

export interface RunSummary {
  /** The inputs, comma-separated (see `files`). */
  file: string;
  files: string[];
  /** The output directory, or `s3://bucket/prefix`. */
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
  /** Peak RSS (MB) of each consumer worker process (`--workers` > 1; empty when consuming in-process). */
  workerPeakRssMb: number[];
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
  const selection = options.selection ?? DEFAULT_SELECTION;
  const names = typeof options.file === 'string' ? [options.file] : [...options.file];
  const files = names.map((name) => locationKey(name));

  // Fail on bad input or output before starting anything; empty the output files only once the
  // AWS side is up, so a failed start leaves earlier results alone.
  const scans: CsvScan[] = [];
  const bySource = new Map<string, string>();
  for (const name of names) {
    const scan = await scanCsv(await openNamedInput(name, options.inputs), { selection });
    const twin = bySource.get(sourceIdFor(scan.fingerprint, selection));
    if (twin !== undefined) throw new InputError(`${twin} and ${name} have the same content; give it once`, { files: [twin, name] });
    bySource.set(sourceIdFor(scan.fingerprint, selection), name);
    scans.push(scan);
    logger.info('input scanned', {
      file: scan.file,
      format: scan.format,
      compression: scan.compression,
      rows: scan.records,
      valid: scan.validRows,
      rejected: scan.rejectedRows,
      sortedByTimestamp: scan.disorderUs === 0,
      fingerprint: scan.fingerprint.slice(0, 16),
    });
  }
  await prepareOutput(config, { truncate: false });

  const aws = await openAwsEnvironment(config, logger, { stackLogFile: options.stackLogFile });
  // A dead embedded stack would leave the producer and the consumer retrying forever: fail the run.
  const failure = new AbortController();
  let closing = false;
  void aws.stack?.exited.then((exit) => {
    if (closing) return;
    failure.abort(new EmbeddedStackError(`the embedded AWS stack stopped unexpectedly (${describeExit(exit)})`, { ...exit }));
  });

  const run = randomUUID();
  const app = `run-${run}`;
  const leases = consumerLeases(aws, config, app);
  // Set on each shard once Kinesis acknowledged the run's first record there; the outcome is an
  // error or undefined, so that a failure waits to be reported after the flush (never unhandled).
  const floors = new Map<string, Promise<Error | undefined>>();
  let consumer: ConsumerApplication | undefined;

  try {
    await prepareOutput(config, { truncate: true, logger });
    // The run's throw-away application: only its records, each shard from the run's floor.
    // With one worker, in this process: the producer below wakes it (onRecordsLanded).
    consumer = await startConsumerApplication({ aws, config, logger, app, workers: options.workers ?? 1, from: 'trim-horizon', run, clock, wokenOnPut: true });
    const consumerFailed = consumer.failed;
    const sourceLogger = logger.child('historical-source');
    const source = new MergedSource(scans.map((scan) => new HistoricalSource(scan, { logger: sourceLogger, selection })));
    const producer = new KinesisProducer<QuoteEntry>({
      client: aws.clients.kinesis,
      streamName: config.streamName,
      shardMap: await loadShardMap(aws.clients.kinesis, config.streamName),
      clock,
      logger: logger.child('producer'),
      aggregate: options.aggregate ?? false,
      // With one worker the consumer is in this process: it reads what landed now, not at its next idle poll.
      onRecordsLanded: (shardIds) => consumer?.local?.mapping.recordsPut(shardIds),
      onAck: (acked) => {
        // Acknowledgements let the source drop its bookkeeping: memory stays flat as files grow.
        for (const a of acked) source.acknowledge(a.entry.source, a.entry.seq);
        // A one-shot run consumes only what it produced: each shard's lease starts at the run's
        // first record there (see LeaseTable.setFloor), whichever worker ends up holding it.
        for (const a of acked) {
          if (!floors.has(a.shardId)) floors.set(a.shardId, leases.setFloor(a.shardId, a.sequenceNumber).then(() => undefined, (error: unknown) => (error instanceof Error ? error : new Error(String(error)))));
        }
      },
    });
    failure.signal.addEventListener('abort', () => producer.abort(failure.signal.reason as Error), { once: true });
    options.onStart?.({ validRows: source.total, scans });

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
    // Without its floor a shard's lease never starts: the run could not finish.
    for (const outcome of await Promise.all(floors.values())) if (outcome !== undefined) throw outcome;
    // Everything is put: the workers write their checkpoints now, not checkpointIdleMs later.
    consumer.checkpointPromptly();
    await waitForCheckpoints(leases, producer.acknowledgedPositions(), { signal: AbortSignal.any([stop, consumerFailed]), clock });
    if (failure.signal.aborted) throw failure.signal.reason;
    if (consumerFailed.aborted) throw consumerFailed.reason;
    const seconds = (clock.now() - started) / 1000;
    logger.info('drained', {
      acknowledged: producer.stats.acked,
      unacknowledged: producer.stats.unacked,
      requests: producer.stats.requests,
      retriedEntries: producer.stats.retriedEntries,
      consumerWorkers: options.workers ?? 1,
    });

    const workerPeakRssMb = await consumer.stop();
    const lines = await countOutput(config, (name) => countLines(path.join(config.outputDir, name)));
    return {
      file: files.join(', '),
      files,
      outputDir: describeOutput(config),
      quotesRead: source.stats.read,
      rejected: source.stats.rejected,
      crossed: source.stats.crossed,
      sent: result.sent,
      acknowledged: producer.stats.acked,
      midLines: lines.mid_prices,
      errorLines: lines.errors,
      deadLetters: lines.dead_letters,
      seconds: Math.round(seconds * 1000) / 1000,
      quotesPerSec: seconds > 0 ? Math.round(result.sent / seconds) : 0,
      interrupted: result.interrupted,
      workerPeakRssMb,
    };
  } catch (error) {
    // Whatever failed after the stack died failed because it died: report the cause.
    if (failure.signal.aborted) throw failure.signal.reason;
    if (error instanceof TickReplayError) throw error;
    throw new AwsCallError(`AWS call failed at ${describeEndpoints(aws.endpoints)}: ${errorCode(error) ?? (error as Error).message}`, {}, { cause: error, retryable: isRetryableError(error) });
  } finally {
    closing = true;
    await consumer?.stop();
    // The run's consumer application is throw-away: leave no leases behind.
    const shards = await listShards(aws.clients.kinesis, config.streamName).catch(() => []);
    await Promise.all(shards.map((shard) => leases.delete(shard.ShardId ?? '').catch(() => undefined)));
    await aws.close();
  }
}
