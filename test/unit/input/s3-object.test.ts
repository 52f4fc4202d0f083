/**
 * The S3 source's decisions on failures moto cannot produce (a scripted client stands in for S3:
 * access denied, a body that ends early without an error, a connection that keeps dropping), and
 * the command's S3 configuration. Reading against a real S3 is test/integration/s3-input*.test.ts.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { GetObjectCommand, HeadBucketCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { commandInputs } from '../../../lib/cli/input-context.ts';
import { ConfigError, InputError } from '../../../lib/errors.ts';
import { silentLogger } from '../../../lib/logging/logger.ts';
import { S3ObjectSource } from '../../../lib/input/s3-object.ts';
import { FakeClock } from '../../support/fake-clock.ts';

const OBJECT = Buffer.from('timestamp,ticker,bid,ask\n' + '2025-01-01T00:00:00Z,AAA,1,2\n'.repeat(100));
const ETAG = '"abc"';

type Answer = (command: unknown) => unknown;

/** A client that answers HEAD with the object's size and ETag and each GET with the next script step. */
function scriptedClient(gets: Answer[], head: Answer = () => ({ ETag: ETAG, ContentLength: OBJECT.length, LastModified: new Date(0) })) {
  const seen: Array<{ command: string; range?: string; ifMatch?: string }> = [];
  return {
    seen,
    send(command: unknown): Promise<unknown> {
      const input = (command as { input: { Range?: string; IfMatch?: string } }).input;
      if (command instanceof HeadObjectCommand) {
        seen.push({ command: 'HeadObject' });
        return Promise.resolve().then(() => head(command));
      }
      if (command instanceof HeadBucketCommand) {
        seen.push({ command: 'HeadBucket' });
        return Promise.resolve({});
      }
      assert.ok(command instanceof GetObjectCommand);
      seen.push({ command: 'GetObject', range: input.Range, ifMatch: input.IfMatch });
      const step = gets.shift();
      if (step === undefined) return Promise.reject(new Error('no more GETs scripted'));
      return Promise.resolve().then(() => step(command));
    },
  };
}

/** A body of OBJECT[from, to) that then errors with `code` (or ends quietly when `code` is undefined). */
function body(from: number, to: number, code?: string): { Body: Readable } {
  const stream = new Readable({ read() {} });
  stream.push(OBJECT.subarray(from, to));
  if (code === undefined) stream.push(null);
  else setImmediate(() => stream.destroy(Object.assign(new Error('aborted'), { code })));
  return { Body: stream };
}

function offsetOf(command: unknown): number {
  const range = (command as { input: { Range?: string } }).input.Range;
  return range === undefined ? 0 : Number(/^bytes=(\d+)-$/.exec(range)?.[1]);
}

async function readAll(source: S3ObjectSource): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of source.open(0)) parts.push(chunk);
  return Buffer.concat(parts);
}

describe('S3ObjectSource failures', () => {
  const source = (client: ReturnType<typeof scriptedClient>, maxAttempts?: number) =>
    new S3ObjectSource('s3://bucket/quotes.csv', { client, clock: new FakeClock(), random: () => 0, maxAttempts, logger: silentLogger });

  it('says access denied, with the permission to grant, on a 403', async () => {
    const client = scriptedClient([], () => Promise.reject(Object.assign(new Error('Forbidden'), { name: 'Forbidden', $metadata: { httpStatusCode: 403 } })));
    await assert.rejects(source(client).describe(), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.match(error.message, /^cannot read s3:\/\/bucket\/quotes\.csv: access denied \(the credentials need s3:GetObject on the object/);
      return true;
    });
  });

  it('resumes a body that ended early (no error) and one reset mid-transfer, from the bytes already read, pinned to the ETag', async () => {
    const client = scriptedClient([() => body(0, 700), (c) => body(offsetOf(c), 1500, 'ECONNRESET'), (c) => body(offsetOf(c), OBJECT.length)]);
    const s3 = source(client);
    await s3.describe();
    assert.deepEqual(await readAll(s3), OBJECT);
    assert.deepEqual(
      client.seen.filter((s) => s.command === 'GetObject'),
      [
        { command: 'GetObject', range: undefined, ifMatch: ETAG },
        { command: 'GetObject', range: 'bytes=700-', ifMatch: ETAG },
        { command: 'GetObject', range: 'bytes=1500-', ifMatch: ETAG },
      ],
    );
  });

  it('fails clearly when the connection keeps dropping without progress', async () => {
    const client = scriptedClient([() => body(0, 100), ...Array.from({ length: 10 }, () => (c: unknown) => body(offsetOf(c), offsetOf(c), 'ECONNRESET'))]);
    const s3 = source(client, 3);
    await s3.describe();
    await assert.rejects(readAll(s3), /^InputError: cannot read s3:\/\/bucket\/quotes\.csv: the connection dropped 3 times at byte 100 without progress \(ECONNRESET\)$/);
    assert.equal(client.seen.filter((s) => s.command === 'GetObject').length, 3);
  });
});

describe('the S3 client of a command', () => {
  it('refuses s3:// inputs on the embedded stack without an S3 endpoint, naming what to set', () => {
    const inputs = commandInputs({ target: 'local', endpoints: {}, region: 'us-east-1' }, silentLogger);
    assert.throws(
      () => inputs.s3?.(),
      (error: unknown) => error instanceof ConfigError && /^an s3:\/\/ input needs S3, which the embedded AWS stack does not have: set AWS_ENDPOINT_URL_S3=<url>.*--aws/.test(error.message),
    );
    inputs.close();
  });

  it('makes one client, at the configured S3 endpoint or at AWS with --aws', async () => {
    for (const config of [
      { target: 'local' as const, endpoints: { s3: 'http://127.0.0.1:9' }, region: 'us-east-1' },
      { target: 'aws' as const, endpoints: {}, region: 'eu-west-2' },
    ]) {
      const inputs = commandInputs(config, silentLogger);
      const client = inputs.s3?.() as { config: { region: () => Promise<string> } } | undefined;
      assert.equal(inputs.s3?.(), client, 'one client per command');
      assert.equal(await client?.config.region(), config.region);
      inputs.close();
    }
  });
});
