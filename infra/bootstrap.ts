/**
 * Idempotent creation of the stack's resources (the Kinesis stream and the DynamoDB state table)
 * on the embedded stack or LocalStack. Safe to run concurrently: losing a creation race is not an
 * error. On AWS (the `aws` target) `serverless.yml` owns them: {@link verifyResources} only finds
 * them, and says what to do when they are missing.
 */
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
} from '@aws-sdk/client-kinesis';
import type { StreamDescriptionSummary } from '@aws-sdk/client-kinesis';
import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { TableDescription } from '@aws-sdk/client-dynamodb';
import { setTimeout as delay } from 'node:timers/promises';
import { errorName, TickReplayError } from '../lib/errors.ts';
import type { Clock } from '../lib/time/clock.ts';
import type { Logger } from '../lib/logging/logger.ts';
import type { AwsClients } from '../lib/aws/clients.ts';

export interface ResourceNames {
  streamName: string;
  shardCount: number;
  tableName: string;
}

export interface BootstrapResult {
  streamArn: string;
  createdStream: boolean;
  createdTable: boolean;
}

/** Bootstrap only sleeps between polls. */
export type BootstrapClock = Pick<Clock, 'sleep'>;

/** A resource cannot be created or used as it is. */
export class BootstrapError extends TickReplayError {}

/** The table's only key: `pk` (string, HASH). */
export const TABLE_PARTITION_KEY = 'pk';
/** Total time slept waiting for one resource to become ACTIVE (AWS takes ~30 s for a stream). */
export const BOOTSTRAP_WAIT_LIMIT_MS = 120_000;
const FIRST_POLL_MS = 20;
const MAX_POLL_MS = 1_000;

const realClock: BootstrapClock = { sleep: (ms) => delay(ms) };

/**
 * Polls `check` until it returns a value, sleeping with capped doubling; `check` returning
 * undefined means "not yet". Bounded by the total time slept, so it is deterministic under a
 * fake clock.
 */
async function pollUntil<T>(
  what: string,
  clock: BootstrapClock,
  check: () => Promise<T | undefined>,
  context: Record<string, unknown>,
): Promise<T> {
  let slept = 0;
  let wait = FIRST_POLL_MS;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (slept >= BOOTSTRAP_WAIT_LIMIT_MS) {
      throw new BootstrapError(`${what} did not become ACTIVE within ${BOOTSTRAP_WAIT_LIMIT_MS} ms`, context);
    }
    await clock.sleep(wait);
    slept += wait;
    wait = Math.min(wait * 2, MAX_POLL_MS);
  }
}

async function ensureStream(
  kinesis: AwsClients['kinesis'],
  names: ResourceNames,
  logger: Logger,
  clock: BootstrapClock,
): Promise<{ summary: StreamDescriptionSummary; created: boolean }> {
  const { streamName, shardCount } = names;
  let created = false;
  const summary = await pollUntil(
    `Kinesis stream ${streamName}`,
    clock,
    async () => {
      let found: StreamDescriptionSummary | undefined;
      try {
        found = (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName })))
          .StreamDescriptionSummary;
      } catch (error) {
        if (errorName(error) !== 'ResourceNotFoundException') throw error;
      }
      if (found === undefined) {
        try {
          await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
          created = true;
          logger.info('created Kinesis stream', { streamName, shardCount });
        } catch (error) {
          // Someone else created it between our describe and our create: theirs is as good.
          if (errorName(error) !== 'ResourceInUseException') throw error;
        }
        return undefined;
      }
      // UPDATING (resharding) streams take reads and writes.
      return found.StreamStatus === 'ACTIVE' || found.StreamStatus === 'UPDATING' ? found : undefined;
    },
    { streamName },
  );
  return { summary, created };
}

async function ensureTable(
  dynamodb: AwsClients['dynamodb'],
  tableName: string,
  logger: Logger,
  clock: BootstrapClock,
): Promise<{ table: TableDescription; created: boolean }> {
  let created = false;
  const table = await pollUntil(
    `DynamoDB table ${tableName}`,
    clock,
    async () => {
      let found: TableDescription | undefined;
      try {
        found = (await dynamodb.send(new DescribeTableCommand({ TableName: tableName }))).Table;
      } catch (error) {
        if (errorName(error) !== 'ResourceNotFoundException') throw error;
      }
      if (found === undefined) {
        try {
          await dynamodb.send(
            new CreateTableCommand({
              TableName: tableName,
              AttributeDefinitions: [{ AttributeName: TABLE_PARTITION_KEY, AttributeType: 'S' }],
              KeySchema: [{ AttributeName: TABLE_PARTITION_KEY, KeyType: 'HASH' }],
              BillingMode: 'PAY_PER_REQUEST',
            }),
          );
          created = true;
          logger.info('created DynamoDB table', { tableName });
        } catch (error) {
          if (errorName(error) !== 'ResourceInUseException') throw error;
        }
        return undefined;
      }
      return found.TableStatus === 'ACTIVE' || found.TableStatus === 'UPDATING' ? found : undefined;
    },
    { tableName },
  );
  return { table, created };
}

export async function bootstrapResources(
  clients: Pick<AwsClients, 'kinesis' | 'dynamodb'>,
  names: ResourceNames,
  logger: Logger,
  clock: BootstrapClock = realClock,
): Promise<BootstrapResult> {
  const [stream, table] = await Promise.all([
    ensureStream(clients.kinesis, names, logger, clock),
    ensureTable(clients.dynamodb, names.tableName, logger, clock),
  ]);

  const openShards = stream.summary.OpenShardCount;
  if (!stream.created && openShards !== undefined && openShards !== names.shardCount) {
    logger.warn('Kinesis stream exists with another shard count; using it as it is', {
      streamName: names.streamName,
      openShards,
      requestedShards: names.shardCount,
    });
  }

  const keySchema = table.table.KeySchema ?? [];
  const [key] = keySchema;
  if (keySchema.length !== 1 || key?.AttributeName !== TABLE_PARTITION_KEY || key.KeyType !== 'HASH') {
    throw new BootstrapError(
      `DynamoDB table ${names.tableName} exists with key ${JSON.stringify(keySchema)}; ` +
        `expected only "${TABLE_PARTITION_KEY}" (HASH). Delete it or set TABLE_NAME`,
      { tableName: names.tableName },
    );
  }

  const streamArn = stream.summary.StreamARN;
  if (streamArn === undefined) {
    throw new BootstrapError(`DescribeStreamSummary gave no ARN for ${names.streamName}`, {
      streamName: names.streamName,
    });
  }
  if (!stream.created && !table.created) {
    logger.debug('resources already exist', { streamName: names.streamName, tableName: names.tableName });
  }
  return { streamArn, createdStream: stream.created, createdTable: table.created };
}

/** Whether `error` is AWS's "not found" for a stream or a table. */
function notFound(error: unknown): boolean {
  return errorName(error) === 'ResourceNotFoundException';
}

/**
 * The `aws` target: the deployed stream and table must exist and be usable; nothing is created
 * (the replayer's role may not, and a typo must not make a second stream that nothing consumes).
 */
export async function verifyResources(
  clients: Pick<AwsClients, 'kinesis' | 'dynamodb'>,
  names: Pick<ResourceNames, 'streamName' | 'tableName'>,
  region: string,
): Promise<{ streamArn: string }> {
  const missing = (what: string, name: string, variable: string): BootstrapError =>
    new BootstrapError(
      `${what} ${name} does not exist in ${region}: deploy the stack (npx osls deploy --stage <stage>), or name the deployed one with --stack / --stage or ${variable}`,
      { name, region },
    );
  const [stream, table] = await Promise.all([
    clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: names.streamName })).catch((error: unknown) => {
      throw notFound(error) ? missing('the Kinesis stream', names.streamName, 'STREAM_NAME') : error;
    }),
    clients.dynamodb.send(new DescribeTableCommand({ TableName: names.tableName })).catch((error: unknown) => {
      throw notFound(error) ? missing('the DynamoDB table', names.tableName, 'TABLE_NAME') : error;
    }),
  ]);
  const summary = stream.StreamDescriptionSummary;
  if (summary?.StreamARN === undefined || (summary.StreamStatus !== 'ACTIVE' && summary.StreamStatus !== 'UPDATING')) {
    throw new BootstrapError(`the Kinesis stream ${names.streamName} is ${summary?.StreamStatus ?? 'not described'}, not ACTIVE`, { streamName: names.streamName });
  }
  const key = table.Table?.KeySchema ?? [];
  if (key.length !== 1 || key[0]?.AttributeName !== TABLE_PARTITION_KEY) {
    throw new BootstrapError(`the DynamoDB table ${names.tableName} has key ${JSON.stringify(key)}, not "${TABLE_PARTITION_KEY}": is it the stack's state table?`, { tableName: names.tableName });
  }
  return { streamArn: summary.StreamARN };
}
