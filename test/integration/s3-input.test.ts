/**
 * S3 objects as historical input, against moto (an S3 nobody here wrote) behind a recording proxy
 * that also injects what moto never does (a connection dropped mid-body, 503 SlowDown): the
 * bytes read are exactly the object's, a resume reads with a ranged GET, every read is pinned to
 * the ETag, an object replaced mid-read fails clearly, failures are named, patterns are listed.
 * Skipped, with the reason, only when moto_server is not installed.
 */
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, beforeEach, describe, it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients.ts';
import { InputError } from '../../lib/errors.ts';
import { expandInputs } from '../../lib/input/expand.ts';
import { fingerprintOf, openInput, sourceFor, type InputContext } from '../../lib/input/input.ts';
import { S3ObjectSource } from '../../lib/input/s3-object.ts';
import { captureLogs } from '../support/capture-logs.ts';
import { motoMissing, startMoto, type MotoServer } from '../support/moto.ts';
import { startS3Proxy, type S3Proxy } from '../support/s3-proxy.ts';

const skip = await motoMissing();
const BUCKET = 'tick-input';

/** A CSV of `rows` rows, large enough to arrive in several chunks. */
function csv(rows: number, tag = ''): Buffer {
  const lines = ['timestamp,ticker,bid,ask,latency'];
  for (let i = 0; i < rows; i++) lines.push(`2025-03-04 10:00:${String(i % 60).padStart(2, '0')}.${String(i % 1000).padStart(3, '0')},T${tag}${i % 7},${100 + (i % 13)}.25,${101 + (i % 13)}.75,${i % 40}`);
  return Buffer.from(lines.join('\n') + '\n');
}

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk);
  return Buffer.concat(parts);
}

void describe('S3 objects as historical input', { skip, timeout: 120_000 }, () => {
  let moto: MotoServer;
  let proxy: S3Proxy;
  let clients: AwsClients;
  const context = (): InputContext => ({ s3: () => clients.s3 });
  /** A source whose backoff waits nothing (random 0): the retries are counted, not timed. */
  const source = (name: string, logger = captureLogs().logger): S3ObjectSource => new S3ObjectSource(name, { client: clients.s3, random: () => 0, logger });
  const put = (key: string, body: Buffer): Promise<unknown> => clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  /** Reads of one object (the SDK adds `?x-id=GetObject`). */
  const isGet = (r: { method: string; path: string }, key: string): boolean => r.method === 'GET' && r.path.split('?')[0] === `/${BUCKET}/${key}`;
  const gets = (key: string) => proxy.requests.filter((r) => isGet(r, key));

  before(async () => {
    moto = await startMoto();
    proxy = await startS3Proxy(moto.url);
    clients = createAwsClients({ endpointUrl: proxy.url, region: 'us-east-1', env: {} });
    await clients.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });

  after(async () => {
    clients?.destroy();
    await proxy?.close();
    await moto?.stop();
  });

  beforeEach(() => {
    proxy.requests.length = 0;
  });

  void it('reads the object exactly, probes the magic bytes with a 6-byte range, and pins every read to the ETag', async () => {
    const body = csv(5_000);
    await put('plain.csv', body);
    const input = await openInput(sourceFor(`s3://${BUCKET}/plain.csv`, context()));
    assert.equal(input.compression, 'none');
    assert.equal(input.identity.size, body.length);
    assert.deepEqual(await readAll(input.bytes.open(0)), body);
    const reads = gets('plain.csv');
    assert.deepEqual(
      reads.map((r) => r.range),
      ['bytes=0-5', undefined],
    );
    const etag = input.identity.version.split(':')[1];
    assert.ok(reads.every((r) => r.ifMatch === etag), `If-Match ${etag} on every GET: ${JSON.stringify(reads)}`);
  });

  void it('reads from a byte offset with one ranged GET', async () => {
    const body = csv(2_000);
    await put('offset.csv', body);
    const input = await openInput(sourceFor(`s3://${BUCKET}/offset.csv`, context()));
    proxy.requests.length = 0;
    assert.deepEqual(await readAll(input.bytes.open(12_345)), body.subarray(12_345));
    assert.deepEqual(
      gets('offset.csv').map((r) => r.range),
      ['bytes=12345-'],
    );
  });

  void it('resumes a body cut mid-transfer with a ranged GET from the bytes already read, plain and gzip', async () => {
    const body = csv(20_000);
    for (const [key, stored] of [['cut.csv', body], ['cut.csv.gz', gzipSync(body)]] as const) {
      await put(key, stored);
      const { logger, lines } = captureLogs();
      const input = await openInput(new S3ObjectSource(`s3://${BUCKET}/${key}`, { client: clients.s3, random: () => 0, logger }));
      proxy.requests.length = 0;
      proxy.inject({ kind: 'cut', afterBytes: 40_000 }, (r) => isGet(r, key));
      assert.deepEqual(await readAll(input.bytes.open(0)), body, key);
      const reads = gets(key);
      assert.equal(reads.length, 2, JSON.stringify(reads));
      assert.equal(reads[0]?.fault, 'cut');
      const resumedAt = Number(/^bytes=(\d+)-$/.exec(reads[1]?.range ?? '')?.[1]);
      assert.ok(resumedAt > 0 && resumedAt <= 40_000, `resumed at ${resumedAt}`);
      assert.equal(reads[1]?.ifMatch, reads[0]?.ifMatch);
      assert.ok(lines.some((l) => l.level === 'WARN' && /connection dropped mid-object/.test(l.message) && l.offset === resumedAt));
    }
  });

  void it('fails clearly when the object is replaced while it is read, and fingerprints the new one differently', async () => {
    await put('replaced.csv', csv(100));
    const first = await openInput(sourceFor(`s3://${BUCKET}/replaced.csv`, context()));
    await put('replaced.csv', csv(100, 'X'));
    await assert.rejects(readAll(first.bytes.open(0)), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.match(error.message, /^cannot read s3:\/\/tick-input\/replaced\.csv: the object was replaced while it was read \(its ETag is no longer "[0-9a-f]+"\); run again/);
      return true;
    });
    const second = await openInput(sourceFor(`s3://${BUCKET}/replaced.csv`, context()));
    assert.notEqual(await fingerprintOf(second), await fingerprintOf(first));
    // The same content in another key is the same content.
    await put('copy.csv', csv(100, 'X'));
    const copy = await openInput(sourceFor(`s3://${BUCKET}/copy.csv`, context()));
    assert.equal(await fingerprintOf(copy), await fingerprintOf(second));
  });

  void it('retries S3 throttling (503 SlowDown) with backoff beyond the SDK’s own attempts', async () => {
    await put('slow.csv', csv(50));
    const { logger, lines } = captureLogs();
    const object = source(`s3://${BUCKET}/slow.csv`, logger);
    await object.describe();
    proxy.requests.length = 0;
    proxy.inject({ kind: 'throttle' }, (r) => r.method === 'GET', 5);
    assert.deepEqual(await readAll(object.open(0)), csv(50));
    assert.deepEqual(
      gets('slow.csv').map((r) => r.fault),
      ['throttle', 'throttle', 'throttle', 'throttle', 'throttle', 'pass'],
    );
    assert.ok(lines.some((l) => l.level === 'WARN' && l.message === 'cannot read the S3 object yet; retrying'));
  });

  void it('names a missing bucket, a missing key and a bad name', async () => {
    const reason = async (name: string): Promise<string> => {
      try {
        await source(name).describe();
      } catch (error) {
        assert.ok(error instanceof InputError, String(error));
        return error.message;
      }
      return assert.fail('no error');
    };
    assert.equal(await reason('s3://no-such-bucket-here/a.csv'), 'cannot read s3://no-such-bucket-here/a.csv: no such bucket');
    assert.equal(await reason(`s3://${BUCKET}/missing.csv`), `cannot read s3://${BUCKET}/missing.csv: no such object`);
    assert.throws(() => sourceFor(`s3://${BUCKET}/`, context()), /names no object: give s3:\/\/tick-input\/<key>/);
  });

  void it('lists a key pattern with ListObjectsV2, in key order, and refuses one that matches nothing', async () => {
    for (const key of ['days/2025-01-02.csv.gz', 'days/2025-01-01.csv.gz', 'days/2025-01-01.csv', 'days/nested/2025-01-03.csv.gz', 'other/2025-01-01.csv.gz']) await put(key, Buffer.from('x'));
    assert.deepEqual(await expandInputs([`s3://${BUCKET}/days/*.csv.gz`], process.cwd(), context()), [`s3://${BUCKET}/days/2025-01-01.csv.gz`, `s3://${BUCKET}/days/2025-01-02.csv.gz`]);
    assert.deepEqual(await expandInputs([`s3://${BUCKET}/days/**.csv.gz`], process.cwd(), context()), [
      `s3://${BUCKET}/days/2025-01-01.csv.gz`,
      `s3://${BUCKET}/days/2025-01-02.csv.gz`,
      `s3://${BUCKET}/days/nested/2025-01-03.csv.gz`,
    ]);
    const listings = proxy.requests.filter((r) => r.method === 'GET' && r.path.startsWith(`/${BUCKET}?`));
    assert.ok(listings.every((r) => r.path.includes('list-type=2') && r.path.includes('prefix=days%2F')), JSON.stringify(listings));
    await assert.rejects(expandInputs([`s3://${BUCKET}/days/*.zst`], process.cwd(), context()), /^InputError: no object matches --historical "s3:\/\/tick-input\/days\/\*\.zst"$/);
  });
});
