/**
 * `tick-replay run --historical s3://…` as a user runs it: the CSV in S3 (moto) as plain, gzip and
 * zstd objects, Kinesis and DynamoDB on the embedded stack the CLI starts, the output checked
 * line by line against an expectation written by hand from the rules (arrival = timestamp +
 * latency, exact decimal mids, errors above 20 ms). Also the error a user gets when no S3 is
 * configured. Skipped, with the reason, only when moto_server is not installed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients.ts';
import { cli } from '../support/cli-process.ts';
import { motoMissing, startMoto, type MotoServer } from '../support/moto.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

const skip = await motoMissing();
const BUCKET = 'cli-quotes';

/** Two tickers whose latencies overtake each other, a row above the threshold, one bad row. */
const CSV = [
  'timestamp,ticker,bid,ask,latency',
  '2025-06-02 09:30:00.000,ABC,0.1,0.2,15',
  '2025-06-02 09:30:00.005,XYZ,99.99,100.01,3',
  '2025-06-02 09:30:00.010,ABC,0.11,0.13,1',
  '2025-06-02 09:30:00.012,XYZ,100.00,100.05,25',
  'not-a-time,ABC,1,2,3',
  '2025-06-02 09:30:00.020,ABC,0.3,0.35,0',
  '2025-06-02 09:30:00.021,XYZ,100.10,100.20,20',
  '',
].join('\n');

/** Arrivals .008 .011 .015 .020 (.037 is over 20 ms) .041, in that order on one shard. */
const MIDS = ['2025-06-02 09:30:00.005, 100', '2025-06-02 09:30:00.010, 0.12', '2025-06-02 09:30:00.000, 0.15', '2025-06-02 09:30:00.020, 0.325', '2025-06-02 09:30:00.021, 100.15'];
const ERRORS = ['No mid price at 2025-06-02 09:30:00.012 as latency 25ms is bigger than 20ms'];

async function lines(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8')).split('\n').filter((line) => line !== '');
}

void describe('tick-replay run --historical s3://… (moto for S3, the embedded stack for Kinesis and DynamoDB)', { skip, timeout: 300_000 }, () => {
  let moto: MotoServer;
  let clients: AwsClients;
  let tmp: TempDir;

  before(async () => {
    tmp = await makeTempDir();
    moto = await startMoto();
    clients = createAwsClients({ endpointUrl: moto.url, region: 'us-east-1', env: {} });
    await clients.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const zstd = execFileSync('zstd', ['-q', '-c'], { input: CSV });
    for (const [key, body] of [
      ['day/quotes.csv', Buffer.from(CSV)],
      ['day/quotes.csv.gz', gzipSync(CSV)],
      ['day/quotes.csv.zst', zstd],
    ] as const) {
      await clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    }
  });

  after(async () => {
    clients?.destroy();
    await moto?.stop();
    await tmp?.remove();
  });

  const run = (input: string, out: string, env: Record<string, string> = { ...moto.env, AWS_ENDPOINT_URL_S3: moto.url }) =>
    cli(['run', '--historical', input, '--out', tmp.join(out), '--state-dir', tmp.join(`state-${out}`), '--edge-port', '0', '--shards', '1', '--speed', 'max'], { LOG_LEVEL: 'WARN', ...env });

  for (const key of ['day/quotes.csv', 'day/quotes.csv.gz', 'day/quotes.csv.zst']) {
    void it(`replays s3://${BUCKET}/${key}: every valid row once, exact mids, in arrival order`, async () => {
      const out = key.replace(/\W/g, '-');
      const result = await run(`s3://${BUCKET}/${key}`, out);
      assert.equal(result.code, 0, result.stderr.slice(-3_000));
      assert.deepEqual(await lines(tmp.join(out, 'mid_prices.log')), MIDS);
      assert.deepEqual(await lines(tmp.join(out, 'errors.log')), ERRORS);
      const summary = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
      assert.deepEqual(summary.files, [`s3://${BUCKET}/${key}`]);
      assert.equal(summary.rejected, 1);
      assert.match(result.stderr, /"message":"row rejected".*"line":6/);
    });
  }

  void it('with the embedded stack and no S3 endpoint, says which variable to set (or --aws) and starts nothing', async () => {
    const result = await run(`s3://${BUCKET}/day/quotes.csv`, 'no-s3', moto.env);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(
      result.stderr.trim().split('\n').at(-1),
      "tick-replay: error: an s3:// input needs S3, which the embedded AWS stack does not have: set AWS_ENDPOINT_URL_S3=<url> (an S3-compatible endpoint such as MinIO, moto or LocalStack; or AWS_ENDPOINT_URL for every service), or use --aws (TICK_REPLAY_TARGET=aws) to use AWS's S3",
    );
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(existsSync(tmp.join('state-no-s3')), false, 'the embedded stack was not started');
  });

  void it('names a missing object in one line', async () => {
    const result = await run(`s3://${BUCKET}/day/missing.csv`, 'missing');
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stderr.trim().split('\n').at(-1), `tick-replay: error: cannot read s3://${BUCKET}/day/missing.csv: no such object`);
  });
});
