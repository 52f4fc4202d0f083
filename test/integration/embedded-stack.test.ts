import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { bootstrapResources } from '../../infra/bootstrap.ts';
import type { ResourceNames } from '../../infra/bootstrap.ts';
import { EmbeddedStackError, startEmbeddedStack } from '../../infra/embedded-stack.ts';
import type { EmbeddedStack } from '../../infra/embedded-stack.ts';
import { createAwsClients } from '../../lib/aws/clients.ts';
import type { AwsClients } from '../../lib/aws/clients.ts';
import { createLogger } from '../../lib/logging/logger.ts';
import { firstStdoutLine, isAlive, listenOn, portIsFree, spawnModuleScript, waitUntil } from '../support/processes.ts';
import { rawRequest } from '../support/raw-request.ts';

const logger = createLogger({ service: 'embedded-stack-test', level: 'WARN' });
const names: ResourceNames = { streamName: 'it-quotes', shardCount: 4, tableName: 'it-state' };
const region = 'us-east-1';

// Everything the tests start, stopped in `after` by its own handle.
const stacks: EmbeddedStack[] = [];
const clientSets: AwsClients[] = [];
const servers: Server[] = [];
const tempDirs: string[] = [];
const orphanCandidates: number[] = [];
const parents: ChildProcess[] = [];

async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tick-replay-stack-'));
  tempDirs.push(dir);
  return dir;
}

/** `expectFailure`: the emulator's own error line would only be noise in the test output. */
async function startStack(stateDir: string, edgePort = 0, expectFailure = false): Promise<EmbeddedStack> {
  const stack = await startEmbeddedStack({ stateDir, edgePort, logger, logLevel: expectFailure ? 'SILENT' : 'WARN' });
  stacks.push(stack);
  return stack;
}

function clientsFor(stack: EmbeddedStack): AwsClients {
  // env {}: dummy credentials whatever the machine's AWS settings are.
  const clients = createAwsClients({ endpointUrl: stack.endpointUrl, region, env: {} });
  clientSets.push(clients);
  return clients;
}

function httpGet(url: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir, command), fsConstants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

async function readRecords(clients: AwsClients, shardId: string): Promise<string[]> {
  const { ShardIterator } = await clients.kinesis.send(
    new GetShardIteratorCommand({ StreamName: names.streamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
  );
  const { Records = [] } = await clients.kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 100 }));
  return Records.map((record) => Buffer.from(record.Data ?? new Uint8Array()).toString('utf8'));
}

describe('embedded AWS stack', () => {
  let stateDir: string;
  let stack: EmbeddedStack;
  let clients: AwsClients;
  const quote = JSON.stringify({ v: 1, ticker: 'AAPL', bid: '0.1', ask: '0.2', seq: 1 });
  let quoteShard = '';

  before(async () => {
    stateDir = await tempDir();
    stack = await startStack(stateDir);
    clients = clientsFor(stack);
  });

  after(async () => {
    for (const parent of parents) if (parent.exitCode === null && parent.signalCode === null) parent.kill('SIGKILL');
    for (const pid of orphanCandidates) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    for (const set of clientSets) set.destroy();
    await Promise.all(stacks.map((s) => s.stop()));
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    await Promise.all(tempDirs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
  });

  it('answers health checks like LocalStack on /_localstack/health and /_health', async () => {
    for (const route of ['/_localstack/health', '/_health']) {
      const { status, body } = await httpGet(`${stack.endpointUrl}${route}`);
      assert.equal(status, 200);
      const health = JSON.parse(body) as Record<string, unknown>;
      assert.equal(health.kinesis, 'running');
      assert.equal(health.dynamodb, 'running');
      assert.deepEqual(health.services, { kinesis: 'running', dynamodb: 'running' });
    }
  });

  it('rejects a request it cannot route with a 400 that names the problem', async () => {
    const { status, body } = await rawRequest(`${stack.endpointUrl}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(status, 400);
    assert.match((JSON.parse(body) as { message: string }).message, /X-Amz-Target/);
  });

  it('takes a state change only as JSON or SigV4, and only for its own Host names', async () => {
    const put = { 'x-amz-target': 'DynamoDB_20120810.PutItem', 'content-type': 'text/plain' };
    assert.equal((await rawRequest(`${stack.endpointUrl}/`, { method: 'POST', headers: put, body: '{}' })).status, 415);
    assert.equal((await httpGet(`${stack.endpointUrl}/_localstack/health`)).status, 200);
    assert.equal((await rawRequest(`${stack.endpointUrl}/_localstack/health`, { headers: { host: 'evil.example' } })).status, 421);
  });

  it('creates the 4-shard stream and the table, and a second bootstrap creates nothing', async () => {
    const first = await bootstrapResources(clients, names, logger);
    assert.equal(first.createdStream, true);
    assert.equal(first.createdTable, true);
    assert.match(first.streamArn, /^arn:aws:kinesis:us-east-1:\d+:stream\/it-quotes$/);

    const summary = await clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: names.streamName }));
    assert.equal(summary.StreamDescriptionSummary?.OpenShardCount, 4);
    assert.equal(summary.StreamDescriptionSummary?.StreamStatus, 'ACTIVE');

    const second = await bootstrapResources(clients, names, logger);
    assert.deepEqual(second, { streamArn: first.streamArn, createdStream: false, createdTable: false });
  });

  it('returns a record written with PutRecords from GetRecords', async () => {
    const put = await clients.kinesis.send(
      new PutRecordsCommand({
        StreamName: names.streamName,
        Records: [{ PartitionKey: 'AAPL', Data: Buffer.from(quote) }],
      }),
    );
    assert.equal(put.FailedRecordCount ?? 0, 0);
    quoteShard = put.Records?.[0]?.ShardId ?? '';
    assert.match(quoteShard, /^shardId-/);
    assert.deepEqual(await readRecords(clients, quoteShard), [quote]);
  });

  it('round-trips a DynamoDB item and fails a conditional put on an existing key', async () => {
    const item = { pk: { S: 'control#mode' }, mode: { S: 'historical' } };
    await clients.dynamodb.send(
      new PutItemCommand({ TableName: names.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
    );
    const got = await clients.dynamodb.send(
      new GetItemCommand({ TableName: names.tableName, Key: { pk: item.pk }, ConsistentRead: true }),
    );
    assert.deepEqual(got.Item, item);
    await assert.rejects(
      clients.dynamodb.send(
        new PutItemCommand({
          TableName: names.tableName,
          Item: { ...item, mode: { S: 'live' } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
      { name: 'ConditionalCheckFailedException' },
    );
  });

  it('keeps serving both emulators after clients disconnect in the middle of a request body', async () => {
    // kinesalite and dynalite throw on a request stream error: the edge must keep that from them.
    const targets = ['Kinesis_20131202.PutRecords', 'DynamoDB_20120810.PutItem'];
    for (const target of targets) {
      await new Promise<void>((resolve) => {
        const req = http.request(`${stack.endpointUrl}/`, {
          method: 'POST',
          agent: false,
          headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': target, 'Content-Length': '1000' },
        });
        req.on('error', () => undefined); // the socket we destroy below
        req.on('close', () => resolve());
        req.write('{"StreamName":', () => setTimeout(() => req.destroy(), 50));
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(isAlive(stack.pid), true);
    // Reads only: a later test counts the records on the stream.
    assert.deepEqual(await readRecords(clients, quoteShard), [quote]);
    const got = await clients.dynamodb.send(
      new GetItemCommand({ TableName: names.tableName, Key: { pk: { S: 'control#mode' } }, ConsistentRead: true }),
    );
    assert.equal(got.Item?.mode?.S, 'historical');
  });

  it('hands a large body to the emulator whole, and streams one over the request limit for it to refuse', async () => {
    // The edge gathers bodies (the emulators' own gathering is quadratic in the chunks): a 5 MB
    // PutRecords must arrive parsed whole, and one over kinesalite's 7 MiB limit still gets its 413.
    const post = (body: string): Promise<{ status: number | undefined; text: string }> =>
      new Promise((resolve, reject) => {
        const req = http.request(`${stack.endpointUrl}/`, {
          method: 'POST',
          agent: false,
          headers: {
            'Content-Type': 'application/x-amz-json-1.1',
            'X-Amz-Target': 'Kinesis_20131202.PutRecords',
            'X-Amz-Date': '20240101T000000Z',
            Authorization: 'AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0',
          },
        });
        req.on('error', reject);
        req.on('response', (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode, text }));
        });
        req.end(body);
      });
    const records = (count: number, bytes: number): string =>
      JSON.stringify({ StreamName: 'no-such-stream', Records: Array.from({ length: count }, (_, i) => ({ PartitionKey: `k${i}`, Data: Buffer.alloc(bytes, i).toString('base64') })) });
    const large = await post(records(400, 10 * 1024));
    assert.equal(large.status, 400);
    assert.match(large.text, /ResourceNotFoundException/, 'the whole body was parsed (a cut one is a SerializationException)');
    const tooLarge = await post(records(900, 10 * 1024));
    assert.equal(tooLarge.status, 413);
    assert.equal(isAlive(stack.pid), true);
  });

  it('refuses a second stack on a state dir that a running stack uses', async () => {
    await assert.rejects(startStack(stateDir, 0, true), (error: unknown) => {
      assert.ok(error instanceof EmbeddedStackError);
      assert.match(error.message, /in use by another running stack/);
      return true;
    });
  });

  it('stops cleanly: the emulator process is gone and the edge port is free', async () => {
    const { pid, edgePort } = stack;
    await stack.stop();
    await stack.stop(); // idempotent
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
    assert.equal(await portIsFree(edgePort), true);
    assert.deepEqual(await stack.exited, { code: 0, signal: null });
  });

  it('keeps the stream, its records and the items across a restart on the same state dir', async () => {
    stack = await startStack(stateDir);
    clients = clientsFor(stack);
    const again = await bootstrapResources(clients, names, logger);
    assert.equal(again.createdStream, false);
    assert.equal(again.createdTable, false);
    const summary = await clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: names.streamName }));
    assert.equal(summary.StreamDescriptionSummary?.OpenShardCount, 4);
    assert.deepEqual(await readRecords(clients, quoteShard), [quote]);
    const got = await clients.dynamodb.send(
      new GetItemCommand({ TableName: names.tableName, Key: { pk: { S: 'control#mode' } }, ConsistentRead: true }),
    );
    assert.equal(got.Item?.mode?.S, 'historical');
  });

  it('fails with an EmbeddedStackError naming the port when the edge port is taken', async () => {
    const blocker = await listenOn(0);
    servers.push(blocker);
    const port = (blocker.address() as AddressInfo).port;
    await assert.rejects(startStack(await tempDir(), port, true), (error: unknown) => {
      assert.ok(error instanceof EmbeddedStackError);
      assert.match(error.message, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
      assert.match(error.message, /EDGE_PORT or AWS_ENDPOINT_URL/);
      return true;
    });
  });

  it('stops the emulator when the process that started it is killed with SIGKILL', async () => {
    const script = `
      const { startEmbeddedStack } = await import(process.env.STACK_MODULE);
      const { silentLogger } = await import(process.env.LOGGER_MODULE);
      const stack = await startEmbeddedStack({ stateDir: process.env.STATE_DIR, edgePort: 0, logger: silentLogger, logLevel: 'WARN' });
      process.stdout.write(JSON.stringify({ pid: stack.pid, edgePort: stack.edgePort }) + '\\n');
      setInterval(() => {}, 60_000);
    `;
    const { child: parent, exited: parentExited } = spawnModuleScript(script, {
      STACK_MODULE: import.meta.resolve('../../infra/embedded-stack.ts'),
      LOGGER_MODULE: import.meta.resolve('../../lib/logging/logger.ts'),
      STATE_DIR: await tempDir(),
    });
    parents.push(parent);
    const line = await firstStdoutLine(parent);
    const { pid, edgePort } = JSON.parse(line) as { pid: number; edgePort: number };
    orphanCandidates.push(pid);
    assert.equal(isAlive(pid), true);

    parent.kill('SIGKILL');
    await parentExited;
    await waitUntil('the orphaned emulator should exit', () => !isAlive(pid), 10_000);
    await waitUntil('the edge port should be free', () => portIsFree(edgePort), 5_000);
  });

  it('serves the aws CLI through the edge', { skip: !onPath('aws') && 'aws CLI is not on PATH' }, async () => {
    const { stdout } = await promisify(execFile)(
      'aws',
      ['--endpoint-url', stack.endpointUrl, '--region', region, '--output', 'json', 'kinesis', 'list-streams'],
      {
        env: { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_PAGER: '' },
        timeout: 30_000,
      },
    );
    assert.ok((JSON.parse(stdout) as { StreamNames: string[] }).StreamNames.includes(names.streamName));
  });
});

