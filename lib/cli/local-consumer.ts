/**
 * The consumer as it runs on this machine: the mid-price Lambda handler behind the local event
 * source mapping, with its logs following the CLI's routing. `run` and `up` differ only in the
 * consumer application, the starting position and the filter.
 */
import type { _Record as KinesisRecord } from '@aws-sdk/client-kinesis';
import { createMidPriceHandler } from '../../functions/mid-price.ts';
import type { Config } from '../config.ts';
import { EventSourceMapping, type StartingPosition } from '../consumer/event-source-mapping.ts';
import { createLocalContext } from '../consumer/lambda-context.ts';
import { DynamoShardCheckpoints } from '../consumer/shard-checkpoints.ts';
import type { Logger } from '../logging/logger.ts';
import { createPowertoolsLogger } from '../logging/powertools-sink.ts';
import type { Clock } from '../replay/clock.ts';
import type { AwsEnvironment } from './aws-environment.ts';

export interface LocalConsumerOptions {
  aws: AwsEnvironment;
  config: Config;
  logger: Logger;
  /** Consumer application: its checkpoints are its own. */
  app: string;
  startingPosition: StartingPosition;
  filter: (record: KinesisRecord) => boolean;
  clock?: Clock;
}

export interface LocalConsumer {
  mapping: EventSourceMapping;
  checkpoints: DynamoShardCheckpoints;
}

export function createLocalConsumer(options: LocalConsumerOptions): LocalConsumer {
  const { aws, config, logger } = options;
  const checkpoints = new DynamoShardCheckpoints(aws.clients.dynamodb, config.tableName, options.app, config.streamName);
  const handler = createMidPriceHandler({
    outputDir: config.outputDir,
    latencyThresholdMs: config.latencyThresholdMs,
    logger: createPowertoolsLogger('mid-price', logger.level, logger.sink),
  });
  const mapping = new EventSourceMapping({
    kinesis: aws.clients.kinesis,
    checkpoints,
    streamName: config.streamName,
    streamArn: aws.streamArn,
    region: config.region,
    invoke: (event) => handler(event, createLocalContext('midPrice', config.region)),
    batchSize: config.batchSize,
    startingPosition: options.startingPosition,
    filter: options.filter,
    clock: options.clock,
    logger: logger.child('event-source-mapping'),
  });
  return { mapping, checkpoints };
}
