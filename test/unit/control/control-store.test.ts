/**
 * ControlStore against the embedded DynamoDB (dynalite): the atomic version counter, defaults,
 * the replayer status round trip, and how failures surface.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { bootstrapResources } from '../../../infra/bootstrap.ts';
import { startEmbeddedStack, type EmbeddedStack } from '../../../infra/embedded-stack.ts';
import { createAwsClients, type AwsClients } from '../../../lib/aws/clients.ts';
import { isRetryableError } from '../../../lib/aws/retryable.ts';
import {
  ControlDataError,
  ControlStore,
  DEFAULT_MODE_CONTROL,
  MODE_CONTROL_KEY,
  REPLAYER_STATUS_KEY,
  type ReplayStatus,
} from '../../../lib/control/control-store.ts';
import { AwsCallError } from '../../../lib/errors.ts';
import { silentLogger } from '../../../lib/logging/logger.ts';
import { makeTempDir, type TempDir } from '../../support/temp-dir.ts';

const status: ReplayStatus = {
  mode: 'historical',
  appliedVersion: 3,
  historical: { source: 'hist:sample', file: 'data/historical_sample.csv', done: 10, total: 200, completed: false, position: { line: 12 } },
  live: { connection: 'idle', received: 0, rejected: 0, reconnects: 0 },
  updatedAt: '2025-01-01T00:00:00.000Z',
};

describe('ControlStore', () => {
  let tmp: TempDir;
  let stack: EmbeddedStack;
  let clients: AwsClients;
  let tables = 0;

  before(async () => {
    tmp = await makeTempDir();
    stack = await startEmbeddedStack({ stateDir: tmp.join('state'), edgePort: 0, logger: silentLogger, logLevel: 'WARN' });
    clients = createAwsClients({ endpointUrl: stack.endpointUrl, region: 'us-east-1', env: {} });
  });

  after(async () => {
    clients.destroy();
    await stack.stop();
    await tmp.remove();
  });

  /** A fresh table, so that every test starts without a control item. */
  async function freshTable(): Promise<string> {
    const tableName = `control-${++tables}`;
    await bootstrapResources(clients, { streamName: `control-stream-${tables}`, shardCount: 1, tableName }, silentLogger);
    return tableName;
  }

  it('reads the default control (historical, version 0) when none was ever requested', async () => {
    const store = new ControlStore(clients.dynamodb, await freshTable());
    assert.deepEqual(await store.getMode(), DEFAULT_MODE_CONTROL);
    assert.equal(await store.getStatus(), undefined);
  });

  it('records each request with the next version and the request time', async () => {
    let clock = Date.parse('2025-03-01T10:00:00.000Z');
    const store = new ControlStore(clients.dynamodb, await freshTable(), () => new Date(clock));
    assert.deepEqual(await store.requestMode('live', false), {
      mode: 'live',
      version: 1,
      fromStart: false,
      requestedAt: '2025-03-01T10:00:00.000Z',
      rewinds: 0,
    });
    clock += 1_500;
    const second = await store.requestMode('historical', true);
    assert.deepEqual(second, { mode: 'historical', version: 2, fromStart: true, requestedAt: '2025-03-01T10:00:01.500Z', rewinds: 1 });
    assert.deepEqual(await store.getMode(), second);
    // Asking again for the same mode is a new request too; the rewind count stays, so a rewind
    // followed at once by another request is not lost.
    const third = await store.requestMode('live', false);
    assert.equal(third.version, 3);
    assert.equal(third.rewinds, 1);
  });

  it('gives concurrent requests distinct, strictly increasing versions', async () => {
    const store = new ControlStore(clients.dynamodb, await freshTable());
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) => store.requestMode(i % 2 === 0 ? 'live' : 'historical', false)),
    );
    const versions = results.map((r) => r.version).sort((a, b) => a - b);
    assert.deepEqual(versions, Array.from({ length: 25 }, (_, i) => i + 1));
    const last = results.find((r) => r.version === 25);
    assert.deepEqual(await store.getMode(), last);
  });

  it('round-trips the replayer status', async () => {
    const store = new ControlStore(clients.dynamodb, await freshTable());
    await store.putStatus(status);
    assert.deepEqual(await store.getStatus(), status);
    const live: ReplayStatus = { ...status, mode: 'live', live: { url: 'ws://127.0.0.1:8765', connection: 'open', received: 5, rejected: 1, reconnects: 2 } };
    await store.putStatus(live);
    assert.deepEqual(await store.getStatus(), live);
  });

  it('refuses fromStart with live and an unknown mode (programming errors)', async () => {
    const store = new ControlStore(clients.dynamodb, await freshTable());
    await assert.rejects(store.requestMode('live', true), TypeError);
    await assert.rejects(store.requestMode('paper' as 'live', false), TypeError);
    assert.equal((await store.getMode()).version, 0);
  });

  it('reports a malformed item as ControlDataError', async () => {
    const tableName = await freshTable();
    const store = new ControlStore(clients.dynamodb, tableName);
    await clients.dynamodb.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: MODE_CONTROL_KEY }, mode: { S: 'paper' }, version: { N: '1' } } }));
    await clients.dynamodb.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: REPLAYER_STATUS_KEY }, status: { S: '[1,2]' } } }));
    await assert.rejects(store.getMode(), ControlDataError);
    await assert.rejects(store.getStatus(), ControlDataError);
  });

  it('wraps a DynamoDB failure in AwsCallError that keeps the cause (and its retryability)', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    const failing: Pick<DynamoDBClient, 'send'> = { send: () => Promise.reject(throttled) };
    const store = new ControlStore(failing, 'some-table');
    await assert.rejects(store.requestMode('live', false), (error: unknown) => {
      assert.ok(error instanceof AwsCallError);
      assert.match(error.message, /DynamoDB UpdateItem on table some-table failed: ThrottlingException: Rate exceeded/);
      assert.equal(error.cause, throttled);
      assert.equal(error.retryable, true);
      assert.equal(isRetryableError(error), true);
      return true;
    });
    await assert.rejects(store.getMode(), AwsCallError);
    await assert.rejects(store.putStatus(status), AwsCallError);
  });
});
