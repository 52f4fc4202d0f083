/**
 * The one-shot pipeline behind `tick-replay run`: CSV → arrival order → pacing → Kinesis →
 * local event source mapping → mid-price handler → output files, then a summary. Everything it
 * starts it stops, also on errors and interruption.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { createMidPriceHandler } from '../../functions/mid-price.ts';
import { KinesisProducer } from '../aws/producer.ts';
import { loadShardMap } from '../aws/shard-map.ts';
import type { Config } from '../config.ts';
import { EventSourceMapping } from '../consumer/event-source-mapping.ts';
import { createLocalContext } from '../consumer/lambda-context.ts';
import { DynamoShardCheckpoints } from '../consumer/shard-checkpoints.ts';
import type { Logger } from '../logging/logger.ts';
import { DEAD_LETTERS_FILE, ERRORS_FILE, MID_PRICES_FILE, prepareOutputDir } from '../output/log-files.ts';
import { systemClock, type Clock } from '../replay/clock.ts';
import { HistoricalSource, scanCsv, type CsvScan } from '../replay/historical-source.ts';
import { Pacer, type Speed } from '../replay/pacer.ts';
import { replay, type QuoteEntry } from '../replay/replayer.ts';
import { openAwsEnvironment } from './aws-environment.ts';

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
}

export interface RunSummary {
  file: string;
  outputDir: string;
  quotesRead: number;
  rejected: number;
  crossed: number;
  sent: number;
  midLines: number;
  errorLines: number;
  deadLetters: number;
  seconds: number;
  quotesPerSec: number;
  interrupted: boolean;
}

/** How long an interrupted run waits for the consumer to drain what was already sent. */
const INTERRUPT_DRAIN_MS = 10_000;

async function countLines(file: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(file)) {
    const buf = chunk as Buffer;
    for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) lines++;
  }
  return lines;
}

export async function runHistorical(options: HistoricalRunOptions): Promise<RunSummary> {
  const { config, logger, signal } = options;
  const clock = options.clock ?? systemClock;
  const file = path.resolve(options.file);

  // Fail on bad input or output before starting anything.
  const scan = await scanCsv(file);
  await prepareOutputDir(config.outputDir, { truncate: true });
  logger.info('input scanned', {
    file,
    rows: scan.records,
    valid: scan.validRows,
    rejected: scan.rejectedRows,
    sortedByTimestamp: scan.disorderUs === 0,
    fingerprint: scan.fingerprint.slice(0, 16),
  });

  const aws = await openAwsEnvironment(config, logger, { stackLogFile: options.stackLogFile });
  const app = `run-${randomUUID()}`;
  const checkpoints = new DynamoShardCheckpoints(aws.clients.dynamodb, config.tableName, app, config.streamName);
  const handler = createMidPriceHandler({
    outputDir: config.outputDir,
    latencyThresholdMs: config.latencyThresholdMs,
    logger: new PowertoolsLogger({ serviceName: 'mid-price', logLevel: config.logLevel }),
  });
  const mapping = new EventSourceMapping({
    kinesis: aws.clients.kinesis,
    checkpoints,
    streamName: config.streamName,
    streamArn: aws.streamArn,
    region: config.region,
    invoke: (event) => handler(event, createLocalContext('midPrice', config.region)),
    batchSize: config.batchSize,
    // A one-shot run consumes what it produces, not what earlier runs left in the stream.
    startingPosition: 'LATEST',
    clock,
    logger: logger.child('event-source-mapping'),
  });

  try {
    await mapping.start();
    const producer = new KinesisProducer<QuoteEntry>({
      client: aws.clients.kinesis,
      streamName: config.streamName,
      shardMap: await loadShardMap(aws.clients.kinesis, config.streamName),
      clock,
      logger: logger.child('producer'),
    });
    const source = new HistoricalSource(scan, { logger: logger.child('historical-source') });
    options.onStart?.(scan);

    const started = clock.now();
    const result = await replay(source, {
      producer,
      pacer: options.speed === 'max' ? undefined : new Pacer(options.speed, clock),
      signal,
      onSent: options.onProgress === undefined ? undefined : () => options.onProgress?.(producer.stats.accepted),
    });
    await producer.flush();
    logger.info(result.interrupted ? 'replay interrupted; waiting for the consumer to drain what was sent' : 'replay finished; waiting for the consumer to drain', {
      sent: result.sent,
      requests: producer.stats.requests,
      retriedEntries: producer.stats.retriedEntries,
    });
    const drain = result.interrupted ? AbortSignal.timeout(INTERRUPT_DRAIN_MS) : undefined;
    await mapping.waitForPositions(producer.acknowledgedPositions(), drain);
    const seconds = (clock.now() - started) / 1000;

    const out = (name: string): Promise<number> => countLines(path.join(config.outputDir, name));
    return {
      file,
      outputDir: config.outputDir,
      quotesRead: source.stats.read,
      rejected: source.stats.rejected,
      crossed: source.stats.crossed,
      sent: result.sent,
      midLines: await out(MID_PRICES_FILE),
      errorLines: await out(ERRORS_FILE),
      deadLetters: await out(DEAD_LETTERS_FILE),
      seconds: Math.round(seconds * 1000) / 1000,
      quotesPerSec: seconds > 0 ? Math.round(result.sent / seconds) : 0,
      interrupted: result.interrupted,
    };
  } finally {
    await mapping.stop();
    // The run's consumer application is throw-away: leave no checkpoints behind.
    await Promise.all([...mapping.processedPositions().keys()].map((shardId) => checkpoints.delete(shardId).catch(() => undefined)));
    await aws.close();
  }
}
