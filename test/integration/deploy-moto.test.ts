/**
 * The AWS path, run for real against an AWS implementation nobody here wrote: moto's server on a
 * free loopback port. `AWS_ENDPOINT_URL=<moto> npx osls deploy --stage local` (no credentials in
 * the environment: the project's osls plugin gives the emulator dummy ones) must complete the
 * CloudFormation stack with every resource of serverless.yml, as the AWS APIs describe them; then
 * `npx --no tick-replay run --aws --stage local` replays an unseen CSV into the deployed stream
 * and table, names from the stack's outputs, through the local event source mapping (moto cannot
 * run Lambda code without Docker), and the output must be exactly what the CSV says, in files and
 * in the deployed bucket (`--out s3://…`, read back with `output cat`).
 * Skipped, with the reason, only when moto_server is not installed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { readLines } from '../support/lines.ts';
import { awsCli, motoMissing, startMoto, type MotoServer } from '../support/moto.ts';
import { runOsls } from '../support/osls.ts';
import { runInProject, type CliResult } from '../support/cli-run.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

const STACK = 'tick-replay-local';
/** moto's account and the stack's naming (infra/aws/data.yml). */
const BUCKET = 'tick-replay-123456789012-us-east-1-local';
const skip = await motoMissing();

/** An unseen file: aliases for every column, unsorted, three tickers, a bad row, two late quotes. */
const CSV = [
  'ts,symbol,bid,ask,latency_ms',
  '2025-03-03 09:30:00.250,MSFT,410.10,410.30,4',
  '2025-03-03 09:30:00.100,NVDA,120.01,120.04,30',
  '2025-03-03 09:30:00.000,MSFT,410.00,410.21,400',
  '2025-03-03 09:30:00.300,NVDA,120.03,120.06,2',
  '2025-03-03 09:30:00.120,AMZN,0.1,0.2,0',
  'bad-time,AMZN,1,2,0',
  '2025-03-03 09:30:00.500,AMZN,185.5,185.75,1.5',
].join('\n');

/** Worked out by hand from the rule: arrival = ts + latency, mid = (bid + ask) / 2, errors over 20 ms. */
const EXPECTED_BY_TICKER: Record<string, { mids: string[]; errors: string[] }> = {
  MSFT: { mids: ['2025-03-03 09:30:00.250, 410.2'], errors: ['No mid price at 2025-03-03 09:30:00.000 as latency 400ms is bigger than 20ms'] },
  NVDA: { mids: ['2025-03-03 09:30:00.300, 120.045'], errors: ['No mid price at 2025-03-03 09:30:00.100 as latency 30ms is bigger than 20ms'] },
  AMZN: { mids: ['2025-03-03 09:30:00.120, 0.15', '2025-03-03 09:30:00.500, 185.625'], errors: [] },
};

/** Each valid row's line and arrival (ms after 09:30:00 = ts + latency): what orders it in its shard. */
const LINES: Array<{ ticker: string; kind: 'mid_prices' | 'errors'; line: string; arrival: number }> = [
  { ticker: 'MSFT', kind: 'mid_prices', line: '2025-03-03 09:30:00.250, 410.2', arrival: 254 },
  { ticker: 'NVDA', kind: 'errors', line: 'No mid price at 2025-03-03 09:30:00.100 as latency 30ms is bigger than 20ms', arrival: 130 },
  { ticker: 'MSFT', kind: 'errors', line: 'No mid price at 2025-03-03 09:30:00.000 as latency 400ms is bigger than 20ms', arrival: 400 },
  { ticker: 'NVDA', kind: 'mid_prices', line: '2025-03-03 09:30:00.300, 120.045', arrival: 302 },
  { ticker: 'AMZN', kind: 'mid_prices', line: '2025-03-03 09:30:00.120, 0.15', arrival: 120 },
  { ticker: 'AMZN', kind: 'mid_prices', line: '2025-03-03 09:30:00.500, 185.625', arrival: 501.5 },
];

/** The shard Kinesis puts a partition key on: the MD5 of the key as a 128-bit number, in the shard's hash key range. */
function shardOf(ticker: string, shards: ReadonlyArray<{ ShardId: string; HashKeyRange: { StartingHashKey: string; EndingHashKey: string } }>): string {
  const hash = BigInt(`0x${createHash('md5').update(ticker, 'utf8').digest('hex')}`);
  const shard = shards.find((s) => BigInt(s.HashKeyRange.StartingHashKey) <= hash && hash <= BigInt(s.HashKeyRange.EndingHashKey));
  assert.ok(shard !== undefined, `a shard for ${ticker}`);
  return shard.ShardId;
}

interface StackResource {
  LogicalResourceId: string;
  ResourceType: string;
  ResourceStatus: string;
}

/** As a user types it in the project: `npx --no tick-replay …` (the package's own bin). */
function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return runInProject('npx', ['--no', 'tick-replay', ...args], env);
}

void describe('osls deploy --stage local to moto, then a replay into the deployed stack', { skip, timeout: 360_000 }, () => {
  let moto: MotoServer;
  let tmp: TempDir;
  let resources: StackResource[];

  before(async () => {
    tmp = await makeTempDir();
    moto = await startMoto();
    // runOsls passes no credentials and no shared config: the plugin's dummies must do.
    const deploy = await runOsls(['deploy', '--stage', 'local'], { AWS_ENDPOINT_URL: moto.url }, 300_000);
    assert.equal(deploy.code, 0, `deploy failed:\n${deploy.stdout.slice(-3000)}\n${deploy.stderr.slice(-3000)}`);
    assert.match(deploy.stdout + deploy.stderr, /Service deployed to stack tick-replay-local/);
    resources = (await awsCli<{ StackResourceSummaries: StackResource[] }>(moto, ['cloudformation', 'list-stack-resources', '--stack-name', STACK])).StackResourceSummaries;
  });

  after(async () => {
    await moto?.stop();
    await tmp?.remove();
  });

  void it('completes the CloudFormation stack, every resource created', async () => {
    const { Stacks } = await awsCli<{ Stacks: Array<{ StackStatus: string }> }>(moto, ['cloudformation', 'describe-stacks', '--stack-name', STACK]);
    assert.match(Stacks[0]?.StackStatus ?? '', /^(CREATE|UPDATE)_COMPLETE$/);
    const ids = resources.map((r) => r.LogicalResourceId);
    for (const id of ['QuotesStream', 'StateTable', 'MidPriceFailuresQueue', 'ReplayBucket', 'ModeLambdaFunction', 'MidPriceLambdaFunction', 'MidPriceEventSourceMappingKinesisQuotesStream', 'ApiGatewayRestApi', 'ModeRole', 'MidPriceRole', 'ReplayerTaskRole', 'ReplayerTaskDefinition', 'ReplayerCluster']) {
      assert.ok(ids.includes(id), `${id} in the stack`);
    }
    for (const r of resources) assert.equal(r.ResourceStatus, 'CREATE_COMPLETE', r.LogicalResourceId);
  });

  void it('has the stream, the table, the encrypted queue and bucket as their APIs describe them', async () => {
    const stream = await awsCli<{ StreamDescriptionSummary: { StreamStatus: string; OpenShardCount: number } }>(moto, ['kinesis', 'describe-stream-summary', '--stream-name', 'tick-replay-quotes-local']);
    assert.deepEqual([stream.StreamDescriptionSummary.StreamStatus, stream.StreamDescriptionSummary.OpenShardCount], ['ACTIVE', 4]);
    const table = await awsCli<{ Table: { KeySchema: unknown; BillingModeSummary?: { BillingMode: string } } }>(moto, ['dynamodb', 'describe-table', '--table-name', 'tick-replay-state-local']);
    assert.deepEqual(table.Table.KeySchema, [{ AttributeName: 'pk', KeyType: 'HASH' }]);
    assert.equal(table.Table.BillingModeSummary?.BillingMode, 'PAY_PER_REQUEST');
    const queue = await awsCli<{ QueueUrl: string }>(moto, ['sqs', 'get-queue-url', '--queue-name', 'tick-replay-mid-price-failures-local']);
    const attributes = await awsCli<{ Attributes: Record<string, string> }>(moto, ['sqs', 'get-queue-attributes', '--queue-url', queue.QueueUrl, '--attribute-names', 'All']);
    assert.equal(attributes.Attributes.SqsManagedSseEnabled, 'true');
    const encryption = await awsCli<{ ServerSideEncryptionConfiguration: { Rules: Array<{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: string } }> } }>(moto, ['s3api', 'get-bucket-encryption', '--bucket', BUCKET]);
    assert.equal(encryption.ServerSideEncryptionConfiguration.Rules[0]?.ApplyServerSideEncryptionByDefault.SSEAlgorithm, 'AES256');
  });

  void it('holds, in the template CloudFormation deployed, the settings moto\'s CloudFormation does not apply', async () => {
    // moto 5.2 creates these resources but drops these properties (its describe calls then answer
    // NONE/DISABLED/not found), and implements no AWS::CloudWatch::Alarm or AWS::S3::BucketPolicy:
    // the deployed template is what a real CloudFormation would apply. (package.test.ts checks the
    // same settings in the packaged template, and cfn-lint validates them.)
    const { TemplateBody } = await awsCli<{ TemplateBody: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> } }>(moto, ['cloudformation', 'get-template', '--stack-name', STACK]);
    const props = (id: string): Record<string, unknown> => TemplateBody.Resources[id]?.Properties ?? {};
    assert.deepEqual(props('QuotesStream').StreamEncryption, { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' });
    assert.deepEqual(props('StateTable').SSESpecification, { SSEEnabled: true });
    assert.deepEqual(props('StateTable').PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: true });
    assert.deepEqual(props('ReplayBucket').PublicAccessBlockConfiguration, { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    assert.deepEqual(props('ReplayerTaskDefinition').RequiresCompatibilities, ['FARGATE']);
    assert.equal(props('ReplayerTaskDefinition').NetworkMode, 'awsvpc');
    const alarms = Object.values(TemplateBody.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm').map((r) => r.Properties.MetricName);
    assert.deepEqual(alarms.sort(), ['ApproximateNumberOfMessagesVisible', 'IteratorAge']);
    assert.ok(resources.some((r) => r.ResourceType === 'AWS::IAM::Role' && r.LogicalResourceId === 'ReplayerExecutionRole'));
  });

  void it('has both functions with a role each, reserved concurrency for mode, and the Kinesis mapping with ReportBatchItemFailures', async () => {
    const roles = new Set<string>();
    for (const name of ['tick-replay-local-mode', 'tick-replay-local-midPrice']) {
      const { Configuration } = await awsCli<{ Configuration: { Runtime: string; Role: string } }>(moto, ['lambda', 'get-function', '--function-name', name]);
      assert.equal(Configuration.Runtime, 'nodejs24.x');
      roles.add(Configuration.Role);
    }
    assert.equal(roles.size, 2, 'one role per function');
    const concurrency = await awsCli<{ ReservedConcurrentExecutions?: number }>(moto, ['lambda', 'get-function-concurrency', '--function-name', 'tick-replay-local-mode']);
    assert.equal(concurrency.ReservedConcurrentExecutions, 2);
    // (moto's list filter by --function-name finds nothing: list them all and match the ARN.)
    const { EventSourceMappings } = await awsCli<{ EventSourceMappings: Array<{ EventSourceArn: string; FunctionArn: string; FunctionResponseTypes?: string[]; BatchSize: number; DestinationConfig?: { OnFailure?: { Destination?: string } } }> }>(moto, ['lambda', 'list-event-source-mappings']);
    const mappings = EventSourceMappings.filter((m) => m.FunctionArn.endsWith(':function:tick-replay-local-midPrice'));
    assert.equal(mappings.length, 1);
    const [mapping] = mappings;
    assert.match(mapping?.EventSourceArn ?? '', /:stream\/tick-replay-quotes-local$/);
    assert.deepEqual(mapping?.FunctionResponseTypes, ['ReportBatchItemFailures']);
    assert.equal(mapping?.BatchSize, 100);
    assert.match(mapping?.DestinationConfig?.OnFailure?.Destination ?? '', /:tick-replay-mid-price-failures-local$/);
  });

  void it('has the REST API with AWS_IAM on POST and GET /mode', async () => {
    const api = resources.find((r) => r.LogicalResourceId === 'ApiGatewayRestApi') as StackResource & { PhysicalResourceId: string };
    const { items } = await awsCli<{ items: Array<{ id: string; path: string }> }>(moto, ['apigateway', 'get-resources', '--rest-api-id', api.PhysicalResourceId]);
    const mode = items.find((item) => item.path === '/mode');
    assert.ok(mode !== undefined, '/mode resource');
    for (const method of ['POST', 'GET']) {
      const described: { authorizationType: string } = await awsCli(moto, ['apigateway', 'get-method', '--rest-api-id', api.PhysicalResourceId, '--resource-id', mode.id, '--http-method', method]);
      assert.equal(described.authorizationType, 'AWS_IAM', `${method} /mode`);
    }
  });

  void it("has the replayer's task definition, its cluster and its image repository", async () => {
    const { taskDefinition } = await awsCli<{ taskDefinition: { family: string; memory: string; containerDefinitions: Array<{ image: string; command: string[]; environment: Array<{ name: string; value: string }>; logConfiguration: { logDriver: string } }> } }>(moto, ['ecs', 'describe-task-definition', '--task-definition', 'tick-replay-replayer-local']);
    assert.equal(taskDefinition.memory, '1024');
    const container = taskDefinition.containerDefinitions[0];
    assert.equal(container?.image, '123456789012.dkr.ecr.us-east-1.amazonaws.com/tick-replay-replayer-local:latest');
    assert.deepEqual(container?.command.slice(0, 2), ['up', '--aws']);
    const env = Object.fromEntries((container?.environment ?? []).map((e) => [e.name, e.value]));
    assert.deepEqual([env.TICK_REPLAY_TARGET, env.STREAM_NAME, env.TABLE_NAME], ['aws', 'tick-replay-quotes-local', 'tick-replay-state-local']);
    assert.equal(container?.logConfiguration.logDriver, 'awslogs');
    const { clusters } = await awsCli<{ clusters: Array<{ status: string }> }>(moto, ['ecs', 'describe-clusters', '--clusters', 'tick-replay-local']);
    assert.equal(clusters[0]?.status, 'ACTIVE');
    const { repositories } = await awsCli<{ repositories: Array<{ repositoryName: string }> }>(moto, ['ecr', 'describe-repositories', '--repository-names', 'tick-replay-replayer-local']);
    assert.equal(repositories.length, 1);
  });

  void it('replays an unseen CSV into the deployed stream and table (names from the outputs) with exact output', async () => {
    const csv = tmp.join('unseen.csv');
    await writeFile(csv, CSV);
    const out = tmp.join('out');
    // Only the endpoint and the emulator's credentials: --aws finds everything else in the stack.
    const result = await runCli(['run', '--aws', '--stage', 'local', '--historical', csv, '--out', out], { ...moto.env, AWS_ENDPOINT_URL: moto.url, LOG_LEVEL: 'WARN' });
    assert.equal(result.code, 0, result.stderr.slice(-3000));
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '') as Record<string, unknown>;
    assert.deepEqual(
      [summary.quotesRead, summary.rejected, summary.sent, summary.acknowledged, summary.midLines, summary.errorLines, summary.deadLetters],
      [7, 1, 6, 6, 4, 2, 0],
    );
    const mids = await readLines(tmp.join('out', 'mid_prices.log'));
    const errors = await readLines(tmp.join('out', 'errors.log'));
    const all = Object.values(EXPECTED_BY_TICKER);
    assert.deepEqual([...mids].sort(), all.flatMap((e) => e.mids).sort());
    assert.deepEqual([...errors].sort(), all.flatMap((e) => e.errors).sort());
    for (const [ticker, expected] of Object.entries(EXPECTED_BY_TICKER)) {
      assert.deepEqual(mids.filter((line) => expected.mids.includes(line)), expected.mids, `${ticker} in arrival order`);
    }
    assert.deepEqual(await readLines(tmp.join('out', 'dead_letters.log')), []);
    // The quotes went into the deployed stream: moto holds them.
    const shards = await awsCli<{ Shards: Array<{ ShardId: string }> }>(moto, ['kinesis', 'list-shards', '--stream-name', 'tick-replay-quotes-local']);
    let records = 0;
    for (const shard of shards.Shards) {
      const { ShardIterator } = await awsCli<{ ShardIterator: string }>(moto, ['kinesis', 'get-shard-iterator', '--stream-name', 'tick-replay-quotes-local', '--shard-id', shard.ShardId, '--shard-iterator-type', 'TRIM_HORIZON']);
      records += (await awsCli<{ Records: unknown[] }>(moto, ['kinesis', 'get-records', '--shard-iterator', ShardIterator])).Records.length;
    }
    assert.equal(records, 6);
  });

  void it('replays an unseen gzip CSV from S3 into another bucket (--historical s3://….csv.gz --out s3://…), and output cat prints exactly the expected lines in shard and arrival order', async () => {
    // The input uploaded gzip-compressed under the deployed bucket's input/ prefix (where the
    // replayer task reads); the output in a bucket of its own, as a user may keep it.
    const gz = tmp.join('unseen-s3.csv.gz');
    await writeFile(gz, gzipSync(CSV));
    await awsCli(moto, ['s3api', 'put-object', '--bucket', BUCKET, '--key', 'input/unseen.csv.gz', '--body', gz]);
    const outBucket = 'tick-replay-e2e-output';
    await awsCli(moto, ['s3api', 'create-bucket', '--bucket', outBucket]);
    const env = { ...moto.env, AWS_ENDPOINT_URL: moto.url, LOG_LEVEL: 'WARN' };
    const out = `s3://${outBucket}/runs/e2e`;
    const result = await runCli(['run', '--aws', '--stage', 'local', '--historical', `s3://${BUCKET}/input/unseen.csv.gz`, '--out', out, '--speed', 'max'], env);
    assert.equal(result.code, 0, result.stderr.slice(-3000));
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '') as Record<string, unknown>;
    assert.deepEqual([summary.outputDir, summary.midLines, summary.errorLines, summary.deadLetters], [out, 4, 2, 0]);

    // Independent of the code under test: each ticker's shard from Kinesis's hashing rule, then
    // shards in id order, each in arrival order (the order the replayer sends in).
    const { Shards: shards } = await awsCli<{ Shards: Array<{ ShardId: string; HashKeyRange: { StartingHashKey: string; EndingHashKey: string } }> }>(moto, [
      'kinesis', 'list-shards', '--stream-name', 'tick-replay-quotes-local',
    ]);
    const expected = (kind: 'mid_prices' | 'errors'): string =>
      LINES.filter((l) => l.kind === kind)
        .map((l) => ({ ...l, shard: shardOf(l.ticker, shards) }))
        .sort((a, b) => (a.shard === b.shard ? a.arrival - b.arrival : a.shard < b.shard ? -1 : 1))
        .map((l) => `${l.line}\n`)
        .join('');
    for (const kind of ['mid_prices', 'errors'] as const) {
      const cat = await runCli(['output', 'cat', out, kind], env);
      assert.equal(cat.code, 0, cat.stderr);
      assert.equal(cat.stdout, expected(kind), kind);
    }
    const deadLetters = await runCli(['output', 'cat', out, 'dead_letters'], env);
    assert.deepEqual([deadLetters.code, deadLetters.stdout], [0, '']);
  });
});
