/**
 * Lambda handler for the Kinesis event source: mid prices to mid_prices.log, latency errors to
 * errors.log, malformed records to dead_letters.log (never blocking the shard). KPL aggregated
 * records are de-aggregated transparently (lib/midprice/process-batch.ts); failures are still
 * reported by Kinesis sequence number, so Lambda retries a whole aggregate. A failure to write
 * (disk full, directory not writable) reports the whole batch in `batchItemFailures` so Lambda —
 * or the local event source mapping — retries it and does not checkpoint past it.
 *
 * Metrics (Powertools, CloudWatch embedded metric format, namespace `TickReplay`): `midLines`,
 * `latencyErrors`, `deadLetters`, `quotes`, `outputWriteFailures`, flushed by middy's `logMetrics`
 * after each invocation. EMF is printed on stdout, so local runs (`up`, `run`, `consume`) disable
 * it with POWERTOOLS_METRICS_DISABLED (lib/cli/local-consumer.ts) and show the same numbers on the
 * dashboard instead; `serverless invoke local` prints it on stderr (see `defaultMetrics`).
 */
import { Console } from 'node:console';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { resolveConfig } from '../lib/config.ts';
import { processBatch, type BatchRecord, type BatchResult, type BatchTiming } from '../lib/midprice/process-batch.ts';
import { createAwsClients } from '../lib/aws/clients.ts';
import { fileSink, prepareOutputDir } from '../lib/output/log-files.ts';
import { batchIdentityOf, type OutputSink } from '../lib/output/output-sink.ts';
import { s3Sink } from '../lib/output/s3-sink.ts';

export interface MidPriceHandlerOptions {
  outputDir: string;
  /**
   * Where the lines go; default the files in `outputDir`. Whatever it is, a batch is reported
   * done only once `append` resolved, i.e. once the sink holds it durably (output-sink.ts).
   */
  sink?: OutputSink;
  latencyThresholdMs: number;
  logger?: Logger;
  /** Powertools metrics (EMF); default: namespace TickReplay, service mid-price. */
  metrics?: Metrics;
  /** Told about every batch written (the local dashboard's consumer metrics). */
  onBatch?: (result: BatchResult, timing: BatchTiming) => void;
  /** Milliseconds since the epoch (delivery latency); default Date.now. */
  now?: () => number;
  /** Milliseconds on a monotonic scale (handling time); default performance.now. */
  monotonic?: () => number;
}

export const METRICS_NAMESPACE = 'TickReplay';

/** A write failure streak counts as over once writes succeeded this long with no failure. */
const RECOVERED_AFTER_MS = 2_000;

/**
 * Lambda reads EMF from stdout, so that is where it goes on AWS. `serverless invoke local` (osls
 * sets IS_LOCAL=true) prints the handler's answer on stdout: there the EMF goes to stderr, where
 * it cannot be mistaken for the answer.
 */
function defaultMetrics(logger: Logger, env: Record<string, string | undefined> = process.env): Metrics {
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'mid-price', logger: metricsDiagnostics(logger) });
  if (env.IS_LOCAL === 'true') {
    // Powertools has no option for its output stream: `console` is its (TypeScript-private) printer.
    (metrics as unknown as { console: Console }).console = new Console({ stdout: process.stderr, stderr: process.stderr });
  }
  return metrics;
}

/**
 * Where Powertools Metrics reports on itself (by default plain text on the console): the handler's
 * structured logger. Its "No application metrics to publish" warning goes to DEBUG: locally one
 * handler serves every shard at once, so one invocation's logMetrics can flush the metrics another
 * invocation added, which then finds none to publish — nothing is lost. On Lambda (one invocation
 * per instance at a time, and every invocation adds metrics) it does not happen.
 */
function metricsDiagnostics(logger: Logger): NonNullable<ConstructorParameters<typeof Metrics>[0]>['logger'] {
  const text = (content: unknown): string => String(content);
  return {
    debug: (content: unknown) => logger.debug(text(content)),
    info: (content: unknown) => logger.info(text(content)),
    warn: (content: unknown) => (text(content).startsWith('No application metrics to publish') ? logger.debug(text(content)) : logger.warn(text(content))),
    error: (content: unknown) => logger.error(text(content)),
  };
}

export type MidPriceHandler = (event: KinesisStreamEvent, context: Context) => Promise<KinesisStreamBatchResponse>;

export function createMidPriceHandler(options: MidPriceHandlerOptions): MidPriceHandler {
  const logger = options.logger ?? new Logger({ serviceName: 'mid-price' });
  const metrics = options.metrics ?? defaultMetrics(logger);
  const sink = options.sink ?? fileSink(options.outputDir);
  // A full disk fails every retry of every shard until space comes back: one ERROR when writing
  // starts to fail, one INFO when it works again, the attempts in between at DEBUG. A nearly full
  // disk still takes a small batch now and then: the outage is over only once a success was not
  // followed by a failure for RECOVERED_AFTER_MS.
  let outage: { since: number; attempts: number; lastFailure: number; lastSuccess: number; checking: boolean } | undefined;
  const checkRecovery = (current: NonNullable<typeof outage>, delayMs: number): void => {
    current.checking = true;
    setTimeout(() => {
      current.checking = false;
      // Failing again since the success that started this check: the next success checks anew.
      if (outage !== current || current.lastSuccess < current.lastFailure) return;
      const quietMs = Date.now() - current.lastFailure;
      if (quietMs < RECOVERED_AFTER_MS) {
        checkRecovery(current, RECOVERED_AFTER_MS - quietMs);
        return;
      }
      outage = undefined;
      logger.info('output writable again; the batches that failed are written', {
        output: sink.description,
        failedAttempts: current.attempts,
        failingForMs: current.lastFailure - current.since,
      });
    }, delayMs).unref();
  };
  const confirmRecovery = (): void => {
    if (outage === undefined) return;
    outage.lastSuccess = Date.now();
    if (!outage.checking) checkRecovery(outage, RECOVERED_AFTER_MS);
  };

  const now = options.now ?? Date.now;
  const monotonic = options.monotonic ?? (() => performance.now());

  const processEvent = async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
    const started = monotonic();
    const records: BatchRecord[] = event.Records.map((r) => ({
      id: r.kinesis.sequenceNumber,
      partitionKey: r.kinesis.partitionKey,
      data: Buffer.from(r.kinesis.data, 'base64'),
    }));
    // Which batch this is (shard, first and last record): an S3 sink's keys are made of it.
    const identity = batchIdentityOf(event.Records);
    if (identity === undefined) return { batchItemFailures: [] };
    const result = processBatch(records, options.latencyThresholdMs);
    try {
      const { recovered } = await sink.append(result, identity);
      if (recovered.length > 0) {
        logger.warn('rolled back the partial batch of a writer that died mid-append (it is retried in full)', { files: recovered });
      }
    } catch (error) {
      metrics.addMetric('outputWriteFailures', MetricUnit.Count, 1);
      if (outage === undefined) {
        outage = { since: Date.now(), attempts: 1, lastFailure: Date.now(), lastSuccess: 0, checking: false };
        logger.error('cannot write output; batches are retried until it can (logged again when it recovers)', {
          error: error as Error,
          output: sink.description,
          records: records.length,
        });
      } else {
        outage.attempts++;
        outage.lastFailure = Date.now();
        logger.debug('cannot write output yet; the batch will be retried', { error: error as Error, attempts: outage.attempts });
      }
      return { batchItemFailures: [{ itemIdentifier: (records[0] as BatchRecord).id }] };
    }
    confirmRecovery();
    metrics.addMetric('quotes', MetricUnit.Count, result.userRecords);
    metrics.addMetric('midLines', MetricUnit.Count, result.midLines.length);
    metrics.addMetric('latencyErrors', MetricUnit.Count, result.errorLines.length);
    metrics.addMetric('deadLetters', MetricUnit.Count, result.deadLetters);
    if (options.onBatch !== undefined) {
      const writtenMs = now();
      // One clock locally; across machines a skewed clock could put an arrival after the write.
      const deliverySeconds = result.liveArrivalsUs.map((us) => Math.max(0, writtenMs - us / 1000) / 1000);
      options.onBatch(result, { handledSeconds: (monotonic() - started) / 1000, deliverySeconds });
    }
    if (result.deadLetters > 0) {
      logger.warn('malformed records dead-lettered', { count: result.deadLetters, reasons: result.deadLetterReasons });
    }
    logger.debug('batch processed', {
      records: records.length,
      quotes: result.userRecords,
      midLines: result.midLines.length,
      errorLines: result.errorLines.length,
    });
    return { batchItemFailures: [] };
  };

  return middy<KinesisStreamEvent, KinesisStreamBatchResponse>(processEvent).use(injectLambdaContext(logger)).use(logMetrics(metrics));
}

let configured: Promise<MidPriceHandler> | undefined;

/**
 * The Lambda entry point. Configuration is read on the first invocation, not at import, so that
 * importing this module (the local event source mapping does) never fails on the environment.
 * With OUTPUT_URI (serverless.yml sets it) the output is S3 objects under that prefix, written
 * with the function's role; otherwise the output directory, created then: a fresh Lambda sandbox
 * (and `invoke local`) has no /tmp/output. A failure is thrown (Lambda retries the batch) and
 * tried again next time.
 */
export const handler: MidPriceHandler = async (event, context) => {
  const ready = (configured ??= (async () => {
    const config = resolveConfig();
    let sink: OutputSink | undefined;
    if (config.outputS3 !== undefined) {
      // Lives as long as the sandbox: its keep-alive sockets serve every invocation.
      sink = s3Sink(createAwsClients({ endpoints: config.endpoints, target: config.target, region: config.region }).s3, config.outputS3);
    } else {
      await prepareOutputDir(config.outputDir, { truncate: false });
    }
    // The resolved level (POWERTOOLS_LOG_LEVEL, else LOG_LEVEL, validated); Lambda's Advanced
    // Logging Controls still override it inside Powertools.
    const logger = new Logger({ serviceName: 'mid-price', logLevel: config.logLevel });
    return createMidPriceHandler({ outputDir: config.outputDir, sink, latencyThresholdMs: config.latencyThresholdMs, logger });
  })());
  let configuredHandler: MidPriceHandler;
  try {
    configuredHandler = await ready;
  } catch (error) {
    if (configured === ready) configured = undefined;
    throw error;
  }
  return configuredHandler(event, context);
};
