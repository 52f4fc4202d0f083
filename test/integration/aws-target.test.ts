/**
 * The AWS side of the CLI against servers it did not start: each service where its own variable
 * says (Kinesis on moto, DynamoDB on an embedded stack: two different servers), the deployed
 * stack's outputs read from CloudFormation (moto), the mode API's URL from them and its requests
 * signed, `up --aws` as the replayer alone, S3 by path. Skipped, with the reason, only when
 * moto_server is not installed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { startEmbeddedStack, type EmbeddedStack } from '../../infra/embedded-stack.ts';
import { createAwsClients } from '../../lib/aws/clients.ts';
import { resolveConfig } from '../../lib/config.ts';
import { ControlStore } from '../../lib/control/control-store.ts';
import { silentLogger } from '../../lib/logging/logger.ts';
import { readLines } from '../support/lines.ts';
import { awsCli, motoMissing, startMoto, type MotoServer } from '../support/moto.ts';
import { authorizationParts, botocoreMissing, botocoreSignature } from '../support/botocore-sigv4.ts';
import { runInProject, type CliResult } from '../support/cli-run.ts';
import { PROJECT_DIR } from '../support/osls.ts';
import { waitUntil } from '../support/processes.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';
import { EMBEDDED_TARGET_ENV, embeddedChildEnv } from '../support/aws-env.ts';

const skip = await motoMissing();
/** Why signatures are not recomputed (they are checked for form only), or undefined. */
const botocore = await botocoreMissing();

/** Endpoint variables of the caller's shell must not leak into these runs. */
const NO_ENDPOINTS = { ...EMBEDDED_TARGET_ENV, MODE_API_URL: '' };

function cli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return runInProject(process.execPath, ['bin/tick-replay.js', ...args], { ...NO_ENDPOINTS, ...env });
}

void describe('the CLI against AWS endpoints it did not start', { skip, timeout: 240_000 }, () => {
  let moto: MotoServer;
  let stack: EmbeddedStack;
  let tmp: TempDir;

  before(async () => {
    tmp = await makeTempDir();
    [moto, stack] = await Promise.all([startMoto(), startEmbeddedStack({ stateDir: tmp.join('state'), edgePort: 0, logger: silentLogger, logLevel: 'WARN' })]);
  });

  after(async () => {
    await Promise.all([moto?.stop(), stack?.stop()]);
    await tmp?.remove();
  });

  void it('calls each service where AWS_ENDPOINT_URL_<SERVICE> says: Kinesis on moto, DynamoDB on the embedded stack', async () => {
    const csv = tmp.join('split.csv');
    await writeFile(csv, 'timestamp,ticker,bid,ask,latency\n2025-06-01 10:00:00.000,XYZ,1.10,1.20,3\n2025-06-01 10:00:00.010,XYZ,1.11,1.21,25\n');
    const result = await cli(['run', '--historical', csv, '--out', tmp.join('split-out'), '--stream', 'split-quotes', '--table', 'split-state', '--shards', '1'], {
      ...moto.env,
      AWS_ENDPOINT_URL_KINESIS: moto.url,
      AWS_ENDPOINT_URL_DYNAMODB: stack.endpointUrl,
      LOG_LEVEL: 'WARN',
    });
    assert.equal(result.code, 0, result.stderr.slice(-3000));
    assert.deepEqual(await readLines(tmp.join('split-out', 'mid_prices.log')), ['2025-06-01 10:00:00.000, 1.15']);
    assert.deepEqual(await readLines(tmp.join('split-out', 'errors.log')), ['No mid price at 2025-06-01 10:00:00.010 as latency 25ms is bigger than 20ms']);

    const onMoto = createAwsClients({ endpointUrl: moto.url, region: 'us-east-1', env: {} });
    const onStack = createAwsClients({ endpointUrl: stack.endpointUrl, region: 'us-east-1', env: {} });
    try {
      assert.ok((await onMoto.kinesis.send(new ListStreamsCommand({}))).StreamNames?.includes('split-quotes'), 'the stream is on moto');
      assert.ok(!(await onStack.kinesis.send(new ListStreamsCommand({}))).StreamNames?.includes('split-quotes'), 'not on the embedded stack');
      assert.ok((await onStack.dynamodb.send(new ListTablesCommand({}))).TableNames?.includes('split-state'), 'the table is on the embedded stack');
      assert.ok(!(await onMoto.dynamodb.send(new ListTablesCommand({}))).TableNames?.includes('split-state'), 'not on moto');
    } finally {
      onMoto.destroy();
      onStack.destroy();
    }
  });

  void it('reaches S3 where AWS_ENDPOINT_URL_S3 says, addressing buckets by path as emulators need', async () => {
    // `localhost`, not an IP: with a host name the SDK would put the bucket in it (virtual hosting).
    const config = resolveConfig({ AWS_ENDPOINT_URL_S3: moto.url.replace('127.0.0.1', 'localhost'), AWS_ENDPOINT_URL: 'http://127.0.0.1:9' });
    const clients = createAwsClients({ endpoints: config.endpoints, target: config.target, region: config.region, env: {} });
    try {
      assert.equal(clients.s3.config.forcePathStyle, true);
      await clients.s3.send(new CreateBucketCommand({ Bucket: 'path-style-check' }));
      await clients.s3.send(new PutObjectCommand({ Bucket: 'path-style-check', Key: 'input/a.csv', Body: 'timestamp,ticker,bid,ask\n' }));
      const object = await clients.s3.send(new GetObjectCommand({ Bucket: 'path-style-check', Key: 'input/a.csv' }));
      assert.equal(await object.Body?.transformToString(), 'timestamp,ticker,bid,ask\n');
    } finally {
      clients.destroy();
    }
  });

  void it('with --aws, says which stack is missing and what to do, and starts nothing', async () => {
    const result = await cli(['run', '--aws', '--stack', 'no-such-stack', '--historical', 'data/historical_sample.csv', '--out', tmp.join('none')], { ...moto.env, AWS_ENDPOINT_URL: moto.url });
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr.trim().split('\n').at(-1),
      'tick-replay: error: no stack no-such-stack in us-east-1: deploy it (npx osls deploy --stage <stage> --region us-east-1), name another with --stack or --stage, or set STREAM_NAME and TABLE_NAME',
    );
  });

  void it('with --aws, flips the mode at the stack\'s ModeApiUrl, signed (the API at an emulator endpoint)', async () => {
    const template = JSON.stringify({
      Resources: { Placeholder: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'mode-target-placeholder' } } },
      Outputs: { ModeApiUrl: { Value: 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/test/mode' } },
    });
    await awsCli(moto, ['cloudformation', 'create-stack', '--stack-name', 'tick-replay-test', '--template-body', template]);
    const seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string }> = [];
    const api = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"mode":"live","version":1,"fromStart":false,"requestedAt":"x"}');
      });
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    try {
      const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
      const env = { ...moto.env, AWS_ENDPOINT_URL_CLOUDFORMATION: moto.url, AWS_ENDPOINT_URL_API_GATEWAY: apiUrl };
      const result = await cli(['mode', 'live', '--aws', '--stage', 'test'], env);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), '{"mode":"live","version":1,"fromStart":false,"requestedAt":"x"}');
      // `status` GETs the same route, signed the same way.
      const status = await cli(['status', '--aws', '--stage', 'test'], env);
      assert.equal(status.code, 0, status.stderr);
      assert.deepEqual(seen.map((s) => [s.method, s.url, s.body]), [
        ['POST', '/restapis/a1b2c3d4e5/test/_user_request_/mode', '{"mode":"live"}'],
        ['GET', '/restapis/a1b2c3d4e5/test/_user_request_/mode', ''],
      ]);
      for (const request of seen) {
        const parts = authorizationParts(request.headers.authorization);
        assert.ok(parts !== undefined, `${request.method}: a SigV4 Authorization header, got ${String(request.headers.authorization)}`);
        // Signed for the API's own region (its URL's), not the CLI's (us-east-1, where the stack was read).
        assert.match(parts.credential, /^test\/\d{8}\/eu-west-1\/execute-api\/aws4_request$/);
        // What API Gateway does with it: the signature over the request as it arrived (the headers
        // it names, their values on the wire), recomputed by botocore from the same credentials.
        if (botocore !== undefined) continue;
        const headers = Object.fromEntries(parts.signed.split(';').map((name) => [name, String(request.headers[name] ?? '')]));
        const theirs = await botocoreSignature({ method: request.method, url: `${apiUrl}${request.url}`, headers, body: request.body, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test', sessionToken: headers['x-amz-security-token'] } });
        assert.equal(parts.signature, theirs.signature, `${request.method}: the signature checks out`);
      }
    } finally {
      await new Promise((resolve) => api.close(resolve));
    }
  });

  void it('with --aws, up runs the replayer alone into the deployed stream and follows the deployed table', async () => {
    const template = JSON.stringify({
      Resources: {
        Quotes: { Type: 'AWS::Kinesis::Stream', Properties: { Name: 'upaws-quotes', ShardCount: 2 } },
        State: {
          Type: 'AWS::DynamoDB::Table',
          Properties: { TableName: 'upaws-state', BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] },
        },
      },
      Outputs: { QuotesStreamName: { Value: { Ref: 'Quotes' } }, StateTableName: { Value: { Ref: 'State' } } },
    });
    await awsCli(moto, ['cloudformation', 'create-stack', '--stack-name', 'tick-replay-upaws', '--template-body', template]);
    const csv = tmp.join('upaws.csv');
    const rows = Array.from({ length: 20 }, (_, i) => `2025-06-02 10:00:${String(i).padStart(2, '0')}.000,T${i % 3},1.0${i % 10},1.1${i % 10},1`);
    await writeFile(csv, ['timestamp,ticker,bid,ask,latency', ...rows].join('\n') + '\n');

    const child = spawn(process.execPath, ['bin/tick-replay.js', 'up', '--aws', '--stage', 'upaws', '--historical', csv, '--speed', 'max'], {
      cwd: PROJECT_DIR,
      env: embeddedChildEnv({ ...NO_ENDPOINTS, ...moto.env, AWS_ENDPOINT_URL: moto.url, LOG_LEVEL: 'WARN' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const clients = createAwsClients({ endpointUrl: moto.url, region: 'us-east-1', env: {} });
    const store = new ControlStore(clients.dynamodb, 'upaws-state');
    const recordsInStream = async (): Promise<number> => {
      let count = 0;
      for (const shard of (await clients.kinesis.send(new ListShardsCommand({ StreamName: 'upaws-quotes' }))).Shards ?? []) {
        const { ShardIterator } = await clients.kinesis.send(new GetShardIteratorCommand({ StreamName: 'upaws-quotes', ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
        count += (await clients.kinesis.send(new GetRecordsCommand({ ShardIterator }))).Records?.length ?? 0;
      }
      return count;
    };
    try {
      await waitUntil('the banner', () => stdout.includes('Press Ctrl-C'), 60_000);
      assert.match(stdout, /into the deployed stack tick-replay-upaws\n/);
      assert.match(stdout, /stream upaws-quotes, table upaws-state/);
      assert.doesNotMatch(stdout, /mode API|dashboard/, 'no local mode API, consumer or dashboard');
      await waitUntil('every row in the deployed stream', async () => (await recordsInStream()) === 20, 60_000);
      await waitUntil('the status in the deployed table', async () => (await store.getStatus())?.historical.completed === true, 60_000);
      // A mode request in the deployed table (what the deployed mode API writes) is followed.
      await store.requestMode('historical', true);
      await waitUntil('the rewind replayed', async () => (await recordsInStream()) === 40, 60_000);
      await waitUntil('the request applied', async () => (await store.getStatus())?.appliedVersion === 1, 60_000);
    } finally {
      child.kill('SIGINT');
      clients.destroy();
    }
    // Stopped cleanly (flushed and checkpointed), with the exit status the local `up` has; a
    // child that ignores Ctrl-C is killed so it cannot outlive the test, and the test fails.
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await exited;
    clearTimeout(killer);
    assert.equal(code, 0, stderr.slice(-2000));
  });
});
