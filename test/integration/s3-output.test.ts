/**
 * The S3 output against moto's S3 (an implementation nobody here wrote): `run --out s3://…` then
 * `output cat` gives exactly what the file sink gives for the same input, and a batch retried
 * after a failure that left some of its objects written ends with exactly one copy of its lines,
 * also when the retry covers fewer records than the failed attempt. Skipped, with the reason,
 * only when moto_server is not installed.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { bootstrapResources } from '../../infra/bootstrap.ts';
import { createMidPriceHandler, handler as lambdaEntry } from '../../functions/mid-price.ts';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients.ts';
import { EventSourceMapping } from '../../lib/consumer/event-source-mapping.ts';
import { createLocalContext } from '../../lib/consumer/lambda-context.ts';
import { LeaseTable } from '../../lib/consumer/lease-table.ts';
import { silentLogger } from '../../lib/logging/logger.ts';
import { copyObjects, listBatchObjects } from '../../lib/output/s3-reader.ts';
import { OUTPUT_KINDS, type OutputKind, type S3Prefix } from '../../lib/output/s3-keys.ts';
import { s3Sink } from '../../lib/output/s3-sink.ts';
import { encodeQuote } from '../../lib/records/quote-record.ts';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { EMBEDDED_TARGET_ENV } from '../support/aws-env.ts';
import { runInProject, type CliResult } from '../support/cli-run.ts';
import { kinesisQuoteEvent } from '../support/kinesis-quote-event.ts';
import { motoMissing, startMoto, type MotoServer } from '../support/moto.ts';
import { quickRetries } from '../support/quick-retries.ts';
import { useEmbeddedStack } from '../support/stack-fixture.ts';

const skip = await motoMissing();
// The handlers' EMF metrics would go to stdout, the test runner's channel.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

/**
 * Three tickers whose prices lie in disjoint ranges (a mid line says which ticker it is), latencies
 * from 0 to 39 ms (over the 20 ms threshold: error lines), timestamps not sorted (the arrival order
 * decides), every timestamp distinct (every line is unique).
 */
function csv(rows: number): string {
  const tickers = [
    { name: 'AAA', base: 10 },
    { name: 'BBB', base: 200 },
    { name: 'CCC', base: 3000 },
  ];
  const lines = ['timestamp,ticker,bid,ask,latency'];
  for (let i = 0; i < rows; i++) {
    const t = tickers[(i * 7) % 3] as { name: string; base: number };
    // Every fifth row 30 ms earlier than its neighbours: unsorted input.
    const ms = 1000 + i * 10 - (i % 5 === 0 ? 30 : 0) + (i % 3);
    const stamp = `2025-03-04 10:${String(Math.floor(ms / 60_000)).padStart(2, '0')}:${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}.${String(ms % 1000).padStart(3, '0')}`;
    const bid = `${t.base + (i % 50)}.${String(i % 97).padStart(2, '0')}`;
    const ask = `${t.base + (i % 50)}.${String((i % 97) + 3).padStart(2, '0')}`;
    lines.push(`${stamp},${t.name},${bid},${ask},${(i * 13) % 40}`);
  }
  return lines.join('\n') + '\n';
}

function tickerOf(midLine: string): string {
  const mid = Number(midLine.split(', ')[1]);
  return mid < 100 ? 'AAA' : mid < 1000 ? 'BBB' : 'CCC';
}

const byTicker = (lines: readonly string[]): Record<string, string[]> => {
  const groups: Record<string, string[]> = {};
  for (const line of lines) (groups[tickerOf(line)] ??= []).push(line);
  return groups;
};

const linesOf = (text: string): string[] => (text === '' ? [] : text.replace(/\n$/, '').split('\n'));

/** Every object's lines of `kind`, in reading order (what `output cat` prints). */
async function catS3(client: S3Client, location: S3Prefix, kind: OutputKind): Promise<string[]> {
  const chunks: Buffer[] = [];
  await copyObjects(client, location, await listBatchObjects(client, location, kind), (bytes) => {
    chunks.push(Buffer.from(bytes));
  });
  return linesOf(Buffer.concat(chunks).toString('utf8'));
}

async function keysUnder(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (page.Contents ?? []).map((o) => o.Key ?? '');
}

/**
 * `client` with a fault: `when(command, input)` says whether a request's answer is lost after
 * S3 stored it (`after`) or the request fails before it is sent (`before`).
 */
function withFault(client: S3Client, when: (command: string, input: { Key?: string }) => 'before' | 'after' | undefined): { fired: () => number } {
  const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
  let fired = 0;
  const faulty = async (command: { constructor: { name: string }; input: { Key?: string } }): Promise<unknown> => {
    const fault = when(command.constructor.name, command.input);
    if (fault === 'before') {
      fired++;
      throw Object.assign(new Error('injected: connection reset before the request was sent'), { name: 'TimeoutError', code: 'ECONNRESET' });
    }
    const answer = await send(command);
    if (fault === 'after') {
      fired++;
      throw Object.assign(new Error('injected: the answer was lost after S3 stored the object'), { name: 'TimeoutError', code: 'ECONNRESET' });
    }
    return answer;
  };
  (client as unknown as { send: typeof faulty }).send = faulty;
  return { fired: () => fired };
}

/** The mid-price handler writing to `location` through `client` (threshold 20 ms, quiet). */
function s3Handler(client: S3Client, location: S3Prefix): ReturnType<typeof createMidPriceHandler> {
  return createMidPriceHandler({
    outputDir: '/nowhere',
    sink: s3Sink(client, location),
    latencyThresholdMs: 20,
    logger: new Logger({ serviceName: 'mid-price-test', logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'Test', serviceName: 'test' }),
  });
}

void describe('S3 output (moto)', { skip, timeout: 300_000 }, () => {
  const env = useEmbeddedStack();
  let moto: MotoServer;
  let s3clients: AwsClients;

  before(async () => {
    moto = await startMoto();
    s3clients = createAwsClients({ endpointUrl: moto.url, region: 'us-east-1', env: {} });
  });

  after(async () => {
    s3clients?.destroy();
    await moto?.stop();
  });

  const bucket = async (name: string): Promise<string> => {
    await s3clients.s3.send(new CreateBucketCommand({ Bucket: name }));
    return name;
  };

  function cli(args: string[]): Promise<CliResult> {
    return runInProject(process.execPath, ['bin/tick-replay.js', ...args], { ...EMBEDDED_TARGET_ENV, ...moto.env, AWS_ENDPOINT_URL_S3: moto.url, LOG_LEVEL: 'WARN' }, 180_000);
  }

  void it('run --out s3://… then output cat: the file sink’s bytes (one shard), the same lines in per-ticker order (three shards, aggregated)', async () => {
    const input = env.tmp.join('quotes.csv');
    await writeFile(input, csv(600));
    const out = await bucket('run-output');
    const common = ['run', '--historical', input, '--speed', 'max', '--batch-size', '25'];
    const [files, one, three] = await Promise.all([
      cli([...common, '--out', env.tmp.join('files'), '--shards', '1', '--state-dir', env.tmp.join('state-files'), '--edge-port', '0']),
      cli([...common, '--out', `s3://${out}/one-shard/`, '--shards', '1', '--state-dir', env.tmp.join('state-one'), '--edge-port', '0']),
      cli([...common, '--out', `s3://${out}/three-shards`, '--shards', '3', '--aggregate', '--state-dir', env.tmp.join('state-three'), '--edge-port', '0']),
    ]);
    for (const result of [files, one, three]) assert.equal(result.code, 0, result.stderr.slice(-3000));
    assert.match(one.stdout, /-> s3:\/\/run-output\/one-shard\//);

    const expected: Record<OutputKind, string> = {
      mid_prices: await readFile(env.tmp.join('files', 'mid_prices.log'), 'utf8'),
      errors: await readFile(env.tmp.join('files', 'errors.log'), 'utf8'),
      dead_letters: await readFile(env.tmp.join('files', 'dead_letters.log'), 'utf8'),
    };
    // The input is what the test says it is: every row once, both kinds of line present.
    assert.equal(linesOf(expected.mid_prices).length + linesOf(expected.errors).length, 600);
    assert.ok(linesOf(expected.errors).length > 100 && linesOf(expected.mid_prices).length > 300);
    assert.equal(new Set(linesOf(expected.mid_prices)).size, linesOf(expected.mid_prices).length, 'every mid line is unique');

    for (const kind of OUTPUT_KINDS) {
      const cat = await cli(['output', 'cat', `s3://${out}/one-shard`, kind]);
      assert.equal(cat.code, 0, cat.stderr);
      assert.equal(cat.stdout, expected[kind], `${kind}: byte-identical to the file sink`);
    }
    const summary = JSON.parse(linesOf(three.stdout).at(-1) ?? '{}') as { midLines: number; errorLines: number };
    assert.deepEqual([summary.midLines, summary.errorLines], [linesOf(expected.mid_prices).length, linesOf(expected.errors).length], 'the summary counts the S3 lines');
    const mids = await cli(['output', 'cat', `s3://${out}/three-shards`, 'mid_prices']);
    assert.equal(mids.code, 0, mids.stderr);
    assert.deepEqual(byTicker(linesOf(mids.stdout)), byTicker(linesOf(expected.mid_prices)), 'each ticker in arrival order');
    assert.deepEqual(linesOf(mids.stdout).sort(), linesOf(expected.mid_prices).sort());
    const errors = await cli(['output', 'cat', `s3://${out}/three-shards`, 'errors']);
    assert.deepEqual(linesOf(errors.stdout).sort(), linesOf(expected.errors).sort());
    // The local directory reads the same way.
    const local = await cli(['output', 'cat', env.tmp.join('files'), 'errors']);
    assert.equal(local.stdout, expected.errors);
  });

  void it('output cat: clear errors for a missing bucket, a prefix with no output, an unknown kind; an empty kind prints nothing', async () => {
    const out = await bucket('cat-errors');
    const noBucket = await cli(['output', 'cat', 's3://no-such-bucket/p', 'mid_prices']);
    assert.equal(noBucket.code, 2);
    assert.match(noBucket.stderr, /cannot use s3:\/\/no-such-bucket\/p: the bucket no-such-bucket does not exist/);
    const empty = await cli(['output', 'cat', `s3://${out}/nothing-here`, 'mid_prices']);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /no tick-replay output under s3:\/\/cat-errors\/nothing-here/);
    const kind = await cli(['output', 'cat', `s3://${out}/p`, 'mids']);
    assert.equal(kind.code, 2);
    assert.match(kind.stderr, /must be one of mid_prices, errors, dead_letters, got "mids"/);

    const location = { bucket: out, prefix: 'only-mids' };
    await s3Sink(s3clients.s3, location).append({ midLines: ['2025-01-01 00:00:00.000, 1'], errorLines: [], deadLetterLines: [] }, { shardId: 'shardId-000000000000', firstSequence: '5', lastSequence: '5' });
    const none = await cli(['output', 'cat', `s3://${out}/only-mids`, 'dead_letters']);
    assert.deepEqual([none.code, none.stdout], [0, '']);
  });

  void it('a batch retried after a failure that left some of its objects in S3 ends with one copy of its lines (local event source mapping)', async () => {
    const out = await bucket('retried-batch');
    const location = { bucket: out, prefix: 'out' };
    const streamName = 'retry-quotes';
    const { streamArn } = await bootstrapResources(env.clients, { streamName, shardCount: 1, tableName: 'retry-state' }, silentLogger);
    // Ten quotes, every third over the threshold: batches of 4 hold mids and errors.
    const quotes = Array.from({ length: 10 }, (_, i) =>
      encodeQuote({ ticker: 'AAPL', timestamp: `2025-01-01T00:00:0${i}.000Z`, arrival: `2025-01-01T00:00:0${i}.005Z`, bid: `${i}.1`, ask: `${i}.3`, latencyMs: i % 3 === 0 ? 50 : 5, mode: 'historical', source: 'hist:t', seq: i + 1 }),
    );
    await env.clients.kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: quotes.map((Data) => ({ Data, PartitionKey: 'AAPL' })) }));

    // The first batch's errors object is stored, and its answer lost: the handler reports the batch failed.
    const client = createAwsClients({ endpointUrl: moto.url, region: 'us-east-1', env: {} }).s3;
    let armed = true;
    const fault = withFault(client, (command, input) => {
      if (!armed || command !== 'PutObjectCommand' || input.Key?.includes('/errors/') !== true) return undefined;
      armed = false;
      return 'after';
    });
    const handler = s3Handler(client, location);
    const esm = new EventSourceMapping({
      kinesis: env.clients.kinesis,
      leases: new LeaseTable(env.clients.dynamodb, 'retry-state', 'retry-app', streamName),
      workerId: 'worker-1',
      streamName,
      streamArn,
      region: 'us-east-1',
      invoke: (event) => handler(event, createLocalContext('midPrice', 'us-east-1')),
      batchSize: 4,
      startingPosition: 'TRIM_HORIZON',
      idlePollMs: 20,
      clock: quickRetries,
      logger: silentLogger,
    });
    await esm.start();
    const deadline = Date.now() + 30_000;
    while (esm.stats.records < 10 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await esm.stop();
    client.destroy();
    assert.equal(esm.stats.records, 10, 'every record processed');
    assert.equal(fault.fired(), 1, 'the fault hit the first attempt');
    assert.equal(esm.stats.failedInvocations, 1, 'the batch failed once and was retried');

    const expectedMids = [1, 2, 4, 5, 7, 8].map((i) => `2025-01-01 00:00:0${i}.000, ${i}.2`);
    const expectedErrors = [0, 3, 6, 9].map((i) => `No mid price at 2025-01-01 00:00:0${i}.000 as latency 50ms is bigger than 20ms`);
    assert.deepEqual(await catS3(s3clients.s3, location, 'mid_prices'), expectedMids);
    assert.deepEqual(await catS3(s3clients.s3, location, 'errors'), expectedErrors);
    // One object per batch and kind, not one per attempt: 3 batches (4 + 4 + 2 records).
    assert.equal((await keysUnder(s3clients.s3, out, 'out/mid_prices/')).length, 3);
    assert.equal((await keysUnder(s3clients.s3, out, 'out/errors/')).length, 3);
    assert.deepEqual(await keysUnder(s3clients.s3, out, 'out/dead_letters/'), []);
  });

  void it('a retry that covers fewer records than the failed attempt leaves none of the attempt’s lines behind (handler)', async () => {
    const out = await bucket('shrunk-retry');
    const location = { bucket: out, prefix: 'p' };
    // Records 1000-1005; 1004 is malformed (a dead letter).
    const full = kinesisQuoteEvent([{ timestamp: '2025-01-01T00:00:01.000Z' }, { timestamp: '2025-01-01T00:00:02.000Z' }, { timestamp: '2025-01-01T00:00:03.000Z' }, { timestamp: '2025-01-01T00:00:04.000Z' }, 'not json', { timestamp: '2025-01-01T00:00:06.000Z' }]);
    const client = createAwsClients({ endpointUrl: moto.url, region: 'us-east-1', env: {} }).s3;
    let failMids = true;
    withFault(client, (command, input) => (failMids && command === 'PutObjectCommand' && input.Key?.includes('/mid_prices/') === true ? 'before' : undefined));
    const handler = s3Handler(client, location);
    const context = createLocalContext('midPrice', 'us-east-1');
    // The attempt stores the dead letter, then fails on the mids.
    assert.deepEqual((await handler(full, context)).batchItemFailures, [{ itemIdentifier: '1000' }]);
    assert.equal((await keysUnder(s3clients.s3, out, 'p/dead_letters/')).length, 1, 'the failed attempt left its dead letter');
    failMids = false;
    // Lambda retries from 1000 with fewer records (a bisected batch), then the rest comes as its own batch.
    assert.deepEqual((await handler({ Records: full.Records.slice(0, 3) }, context)).batchItemFailures, []);
    assert.deepEqual((await handler({ Records: full.Records.slice(3) }, context)).batchItemFailures, []);
    client.destroy();

    const deadLetters = await catS3(s3clients.s3, location, 'dead_letters');
    assert.equal(deadLetters.length, 1, 'the dead letter once, not once per attempt');
    assert.equal((JSON.parse(deadLetters[0] ?? '{}') as { sequenceNumber: string }).sequenceNumber, '1004');
    assert.deepEqual(await catS3(s3clients.s3, location, 'mid_prices'), [1, 2, 3, 4, 6].map((s) => `2025-01-01 00:00:0${s}.000, 1.2`));
  });

  void it('the Lambda entry point writes to OUTPUT_URI (as serverless.yml sets it), with the S3 endpoint of AWS_ENDPOINT_URL_S3', async () => {
    const out = await bucket('lambda-entry');
    const saved = { OUTPUT_URI: process.env.OUTPUT_URI, AWS_ENDPOINT_URL_S3: process.env.AWS_ENDPOINT_URL_S3, OUTPUT_DIR: process.env.OUTPUT_DIR };
    Object.assign(process.env, { OUTPUT_URI: `s3://${out}/output`, AWS_ENDPOINT_URL_S3: moto.url, OUTPUT_DIR: env.tmp.join('never-written') });
    try {
      const answer = await lambdaEntry(kinesisQuoteEvent([{}, { latencyMs: 25 }]), createLocalContext('midPrice', 'us-east-1'));
      assert.deepEqual(answer.batchItemFailures, []);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    const location = { bucket: out, prefix: 'output' };
    assert.deepEqual(await catS3(s3clients.s3, location, 'mid_prices'), ['2025-01-01 00:00:00.120, 1.2']);
    assert.deepEqual(await catS3(s3clients.s3, location, 'errors'), ['No mid price at 2025-01-01 00:00:00.120 as latency 25ms is bigger than 20ms']);
    assert.deepEqual(await keysUnder(s3clients.s3, out, 'output/'), [
      `output/errors/shardId-000000000000/${'1000'.padStart(56, '0')}.log`,
      `output/mid_prices/shardId-000000000000/${'1000'.padStart(56, '0')}.log`,
    ]);
  });
});
