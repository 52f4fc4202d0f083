/**
 * The long-running replayer on an S3 object (moto, behind a recording proxy), with its
 * checkpoints in the embedded DynamoDB and its quotes in the embedded Kinesis: a replay stopped
 * half-way resumes in a new engine with one ranged GET at the checkpoint's byte offset (the proxy
 * saw it; before it, only the magic-byte probe and the header's first chunk) and puts every row into the stream exactly once; the same key replaced by another
 * object (a new ETag) is not resumed into but replayed from its start.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { bootstrapResources } from '../../infra/bootstrap.ts';
import { startEmbeddedStack, type EmbeddedStack } from '../../infra/embedded-stack.ts';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients.ts';
import { KinesisProducer } from '../../lib/aws/producer.ts';
import { loadShardMap } from '../../lib/aws/shard-map.ts';
import { ControlStore } from '../../lib/control/control-store.ts';
import { fingerprintOf, openInput, sourceFor, type InputContext } from '../../lib/input/input.ts';
import { silentLogger } from '../../lib/logging/logger.ts';
import { DynamoCheckpointStore } from '../../lib/replay/checkpoint-store.ts';
import { ReplayEngine } from '../../lib/replay/engine.ts';
import { sourceIdFor } from '../../lib/replay/historical-source.ts';
import type { QuoteEntry } from '../../lib/replay/replayer.ts';
import { readStream } from '../faults/support/stack.ts';
import { captureLogs, waitFor, type LogLine } from '../support/capture-logs.ts';
import { idleLive } from '../support/engine-fakes.ts';
import { motoMissing, startMoto, type MotoServer } from '../support/moto.ts';
import { startS3Proxy, type S3Proxy } from '../support/s3-proxy.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

const skip = await motoMissing();
const BUCKET = 'resume-quotes';
const KEY = 'ticks.csv';
const NAME = `s3://${BUCKET}/${KEY}`;
const STREAM = 's3-resume-quotes';
const TABLE = 's3-resume-state';
/** About 1 MB: the checkpoint lands far beyond the first chunk of the header read. */
const ROWS = 20_000;
const STOP_AFTER = 12_000;

function csv(rows: number, ticker: string): string {
  const lines = ['timestamp,ticker,bid,ask,latency'];
  for (let i = 0; i < rows; i++) lines.push(`${new Date(Date.UTC(2025, 4, 6) + i * 10).toISOString()},${ticker},${100 + (i % 50)}.5,${101 + (i % 50)},${(i * 7) % 45}`);
  return lines.join('\n') + '\n';
}

void describe('resuming a replay of an S3 object', { skip, timeout: 300_000 }, () => {
  let tmp: TempDir;
  let stack: EmbeddedStack;
  let moto: MotoServer;
  let proxy: S3Proxy;
  let aws: AwsClients;
  let s3: AwsClients;

  before(async () => {
    tmp = await makeTempDir();
    [stack, moto] = await Promise.all([startEmbeddedStack({ stateDir: tmp.join('state'), edgePort: 0, logger: silentLogger }), startMoto()]);
    proxy = await startS3Proxy(moto.url);
    aws = createAwsClients({ endpointUrl: stack.endpointUrl, region: 'us-east-1', env: {} });
    s3 = createAwsClients({ endpointUrl: proxy.url, region: 'us-east-1', env: {} });
    await bootstrapResources(aws, { streamName: STREAM, shardCount: 1, tableName: TABLE }, silentLogger);
    await s3.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });

  after(async () => {
    aws?.destroy();
    s3?.destroy();
    await proxy?.close();
    await Promise.all([stack?.stop(), moto?.stop()]);
    await tmp?.remove();
  });

  const put = (body: string): Promise<unknown> => s3.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: body }));
  const inputs = (): InputContext => ({ s3: () => s3.s3 });
  const objectReads = () => proxy.requests.filter((r) => r.method === 'GET' && r.path.split('?')[0] === `/${BUCKET}/${KEY}`);

  /** Runs an engine (its own owner and producer) until `finished`, then stops it gracefully. */
  async function replayUntil(owner: string, finished: (engine: ReplayEngine) => boolean, gate?: (sent: number) => Promise<void> | undefined): Promise<LogLine[]> {
    const { logger, lines } = captureLogs();
    const engineRef: { current?: ReplayEngine } = {};
    const producer = new KinesisProducer<QuoteEntry>({
      client: aws.kinesis,
      streamName: STREAM,
      shardMap: await loadShardMap(aws.kinesis, STREAM),
      onAck: (acked) => engineRef.current?.onAck(acked),
    });
    const engine = new ReplayEngine({
      control: new ControlStore(aws.dynamodb, TABLE),
      producer,
      checkpoints: new DynamoCheckpointStore(aws.dynamodb, TABLE, owner, 2_000),
      historicalFile: NAME,
      inputs: { ...inputs(), logger },
      speed: 'max',
      createLiveSource: idleLive([]),
      logger,
      pollMs: 50,
      checkpointMs: 50,
      historicalGate: gate,
    });
    engineRef.current = engine;
    const controller = new AbortController();
    const running = engine.run(controller.signal);
    await waitFor(`${owner} to get far enough`, () => finished(engine), 60_000);
    controller.abort();
    await running;
    return lines;
  }

  /** How many times the stream holds each seq of `sourceId`. */
  async function seqCounts(sourceId: string): Promise<Map<number, number>> {
    const counts = new Map<number, number>();
    for (const record of await readStream(aws, STREAM)) {
      const quote = JSON.parse(record.data.toString('utf8')) as { source: string; seq: number };
      if (quote.source === sourceId) counts.set(quote.seq, (counts.get(quote.seq) ?? 0) + 1);
    }
    return counts;
  }

  void it('stops half-way, resumes with one ranged GET at the checkpoint, and sends every row once; a replaced object starts over', async () => {
    await put(csv(ROWS, 'AAA'));
    const sourceId = sourceIdFor(await fingerprintOf(await openInput(sourceFor(NAME, inputs()))));

    // Session 1: held after STOP_AFTER quotes, stopped gracefully once they are acknowledged.
    const hold = new Promise<void>(() => undefined);
    await replayUntil('replayer-1', (engine) => engine.status().historical.done >= STOP_AFTER, (sent) => (sent >= STOP_AFTER ? hold : undefined));
    const checkpoint = await new DynamoCheckpointStore(aws.dynamodb, TABLE, 'reader', 2_000).load(sourceId);
    const offset = checkpoint?.position.resumeAt?.offset ?? 0;
    assert.equal(checkpoint?.position.completed, false);
    assert.ok(offset > 0, `the checkpoint is mid-object (offset ${offset})`);

    // Session 2, a new replayer: the 6-byte probe, the header (its first chunk, then abandoned),
    // then one GET from the checkpoint's offset to the end.
    proxy.requests.length = 0;
    const resumed = await replayUntil('replayer-2', (engine) => engine.status().historical.completed);
    const reads = objectReads();
    assert.deepEqual(
      reads.map((r) => r.range),
      ['bytes=0-5', undefined, `bytes=${offset}-`],
    );
    assert.ok(reads.every((r) => r.ifMatch !== undefined && r.ifMatch === reads[0]?.ifMatch), 'every GET pinned to the ETag');
    assert.ok(resumed.some((l) => l.message === 'reading the S3 object from a byte offset (ranged GET)' && l.offset === offset));

    const counts = await seqCounts(sourceId);
    assert.equal(counts.size, ROWS, 'every row reached the stream');
    assert.deepEqual([...new Set(counts.values())], [1], 'each exactly once');

    // The same key, another object: a new ETag, so a new source; replayed from its start.
    await put(csv(500, 'BBB'));
    const replacedId = sourceIdFor(await fingerprintOf(await openInput(sourceFor(NAME, inputs()))));
    assert.notEqual(replacedId, sourceId);
    proxy.requests.length = 0;
    const fresh = await replayUntil('replayer-3', (engine) => engine.status().historical.source === replacedId && engine.status().historical.completed);
    assert.ok(!fresh.some((l) => l.message === 'resuming historical replay from its checkpoint'), 'nothing resumed');
    assert.ok(
      objectReads().every((r) => r.range === undefined || r.range === 'bytes=0-5'),
      `no ranged read into the new object: ${JSON.stringify(objectReads())}`,
    );
    const replaced = await seqCounts(replacedId);
    assert.equal(replaced.size, 500);
    assert.deepEqual([...new Set(replaced.values())], [1]);
  });
});
