/**
 * One consumer worker as it runs on this machine: the mid-price Lambda handler behind the local
 * event source mapping, sharing the shards of its consumer application with any other worker
 * through leases, with its logs following the CLI's routing. `run`, `up` and `consume` differ
 * only in the application, the starting position and the filter.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { _Record as KinesisRecord } from '@aws-sdk/client-kinesis';
import { createMidPriceHandler, type MidPriceHandlerOptions } from '../../functions/mid-price.ts';
import type { Config } from '../config.ts';
import { EventSourceMapping, type StartingPosition } from '../consumer/event-source-mapping.ts';
import { createLocalContext } from '../consumer/lambda-context.ts';
import { LeaseTable } from '../consumer/lease-table.ts';
import type { Logger } from '../logging/logger.ts';
import { createPowertoolsLogger } from '../logging/powertools-sink.ts';
import type { Clock } from '../time/clock.ts';
import type { AwsEnvironment } from './aws-environment.ts';
import { outputSink } from './output-target.ts';

export interface LocalConsumerOptions {
  aws: Pick<AwsEnvironment, 'clients' | 'streamArn'>;
  config: Config;
  logger: Logger;
  /** Consumer application: its leases and checkpoints are its own. */
  app: string;
  startingPosition: StartingPosition;
  filter?: (record: KinesisRecord) => boolean;
  clock?: Clock;
  /** Told about every batch the handler wrote (the dashboard). */
  onBatch?: MidPriceHandlerOptions['onBatch'];
  /** A producer in this process wakes the mapping on every put (EventSourceMapping's `wokenOnPut`). */
  wokenOnPut?: boolean;
}

export interface LocalConsumer {
  mapping: EventSourceMapping;
  leases: LeaseTable;
  workerId: string;
}

/** Unique per process and start: a restarted worker is a new owner (it must take its leases back). */
export function newWorkerId(): string {
  return `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

export function consumerLeases(aws: Pick<AwsEnvironment, 'clients'>, config: Config, app: string): LeaseTable {
  return new LeaseTable(aws.clients.dynamodb, config.tableName, app, config.streamName);
}

export function createLocalConsumer(options: LocalConsumerOptions): LocalConsumer {
  const { aws, config, logger } = options;
  const leases = consumerLeases(aws, config, options.app);
  const workerId = newWorkerId();
  // Powertools prints EMF metrics on stdout, where the CLI prints its results: off locally (the
  // dashboard shows these numbers) unless the user asks for them with POWERTOOLS_METRICS_DISABLED=false.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const handler = createMidPriceHandler({
    outputDir: config.outputDir,
    sink: outputSink(config, () => aws.clients.s3),
    latencyThresholdMs: config.latencyThresholdMs,
    logger: createPowertoolsLogger('mid-price', logger.level, logger.sink),
    onBatch: options.onBatch,
  });
  const mapping = new EventSourceMapping({
    kinesis: aws.clients.kinesis,
    leases,
    workerId,
    leaseDurationMs: config.leaseDurationMs,
    streamName: config.streamName,
    streamArn: aws.streamArn,
    region: config.region,
    invoke: (event) => handler(event, createLocalContext('midPrice', config.region)),
    batchSize: config.batchSize,
    // Not with S3 objects, keyed by a batch's first record (see the option).
    trailingCheckpoints: config.outputS3 === undefined,
    startingPosition: options.startingPosition,
    filter: options.filter,
    wokenOnPut: options.wokenOnPut,
    clock: options.clock,
    logger: logger.child('event-source-mapping'),
  });
  return { mapping, leases, workerId };
}
