import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { GetRecordsCommand, KinesisClient, PutRecordCommand, PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { HttpResponse, type HttpRequest } from '@smithy/core/protocols';
import { fromBase64 } from '@smithy/core/serde';
import { createAwsClients } from '../../../lib/aws/clients.ts';
import { decodeBase64, KinesisJsonProtocol } from '../../../lib/aws/kinesis-json-codec.ts';
import { pick, seededRandom } from '../../support/seeded-random.ts';

interface Answer {
  status: number;
  body: string;
}

/** A client whose calls never leave the process: each request body is kept, each answer is `answer`'s. */
function fakeClient(fast: boolean, answer: () => Answer): { client: KinesisClient; bodies: Buffer[] } {
  const bodies: Buffer[] = [];
  const requestHandler = {
    handle(request: HttpRequest): Promise<{ response: HttpResponse }> {
      const body: unknown = request.body;
      if (typeof body === 'string') bodies.push(Buffer.from(body));
      else {
        const bytes = body as Uint8Array;
        bodies.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      }
      const { status, body: text } = answer();
      const response = new HttpResponse({
        statusCode: status,
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'r-1' },
        body: Readable.from([Buffer.from(text)]),
      });
      return Promise.resolve({ response });
    },
    updateHttpClientConfig(): void {},
    httpHandlerConfigs(): Record<string, never> {
      return {};
    },
    destroy(): void {},
  };
  const client = new KinesisClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
    requestHandler,
    ...(fast ? { protocol: KinesisJsonProtocol } : {}),
  });
  return { client, bodies };
}

function randomBytes(random: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

const KEYS = ['AAPL', 'MSFT', 'bin:btc-usdt', 'Zürich "quoted" \\ key', '株式', '\u0001ctl'];

/** What a promise settled with, comparable across the two clients. */
async function outcome(run: () => Promise<unknown>): Promise<unknown> {
  try {
    const value = (await run()) as Record<string, unknown>;
    return { ok: value };
  } catch (error) {
    const e = error as Error & { $fault?: unknown };
    return { error: { name: e.name, message: e.message, fault: e.$fault, type: e.constructor.name } };
  }
}

describe('KinesisJsonProtocol (native base64 for record data)', () => {
  it('sends PutRecords and PutRecord bodies byte for byte as the default protocol does (0 B to 60 KB, all byte values, odd keys)', async () => {
    const random = seededRandom(16);
    const answer = (): Answer => ({ status: 200, body: '{"FailedRecordCount":0,"Records":[],"ShardId":"s","SequenceNumber":"1"}' });
    const plain = fakeClient(false, answer);
    const fast = fakeClient(true, answer);
    for (let round = 0; round < 40; round++) {
      const records: PutRecordsRequestEntry[] = [];
      const count = 1 + Math.floor(random() * 30);
      for (let i = 0; i < count; i++) {
        const length = pick(random, [0, 1, 2, 3, 4, 5, 57, 290, 1000, 46_000, 60_001]);
        records.push({
          Data: randomBytes(random, length),
          PartitionKey: pick(random, KEYS),
          ...(random() < 0.3 ? { ExplicitHashKey: String(Math.floor(random() * 1e15)) } : {}),
        });
      }
      const input = { StreamName: 'quotes', Records: records };
      await plain.client.send(new PutRecordsCommand(input));
      await fast.client.send(new PutRecordsCommand(input));
      const one = records[0] as PutRecordsRequestEntry;
      await plain.client.send(new PutRecordCommand({ StreamName: 'quotes', Data: one.Data, PartitionKey: one.PartitionKey ?? '' }));
      await fast.client.send(new PutRecordCommand({ StreamName: 'quotes', Data: one.Data, PartitionKey: one.PartitionKey ?? '' }));
    }
    assert.equal(fast.bodies.length, 80);
    assert.equal(fast.bodies.length, plain.bodies.length);
    for (let i = 0; i < plain.bodies.length; i++) assert.ok((plain.bodies[i] as Buffer).equals(fast.bodies[i] as Buffer), `request ${i} differs`);
  });

  it('reads GetRecords answers (records, timestamps, odd and invalid base64, errors) as the default protocol does', async () => {
    const random = seededRandom(61);
    const odd = ['', 'QQ==', 'QR==', 'QUI=', 'QUJ=', 'QQ', 'Q', 'Q Q==', 'QQ==QQ==', '-_8=', 'Q===', '====', 'QUJD\n', 'ü===', 'QUJD'];
    const answers: Answer[] = [];
    for (let round = 0; round < 30; round++) {
      const records = [];
      const count = Math.floor(random() * 12);
      for (let i = 0; i < count; i++) {
        const data = random() < 0.15 ? pick(random, odd) : Buffer.from(randomBytes(random, pick(random, [0, 1, 2, 3, 290, 46_000]))).toString('base64');
        records.push({
          Data: data,
          PartitionKey: pick(random, KEYS),
          SequenceNumber: `4963${Math.floor(random() * 1e15)}`,
          ApproximateArrivalTimestamp: 1.7e9 + random() * 1e6,
          ...(random() < 0.2 ? { EncryptionType: 'NONE' } : {}),
        });
      }
      answers.push({ status: 200, body: JSON.stringify({ Records: records, NextShardIterator: `it-${round}`, MillisBehindLatest: round * 7 }) });
    }
    for (const data of odd) answers.push({ status: 200, body: JSON.stringify({ Records: [{ Data: data, PartitionKey: 'k', SequenceNumber: '1' }] }) });
    answers.push({ status: 400, body: '{"__type":"ExpiredIteratorException","message":"Iterator expired"}' });
    answers.push({ status: 400, body: '{"__type":"ProvisionedThroughputExceededException","message":"Rate exceeded"}' });
    answers.push({ status: 500, body: '{"__type":"InternalFailure","message":"boom"}' });

    let next = 0;
    const plain = fakeClient(false, () => answers[next] as Answer);
    const fast = fakeClient(true, () => answers[next] as Answer);
    let failures = 0;
    for (; next < answers.length; next++) {
      const expected = await outcome(() => plain.client.send(new GetRecordsCommand({ ShardIterator: 'it', Limit: 1000 })));
      const actual = await outcome(() => fast.client.send(new GetRecordsCommand({ ShardIterator: 'it', Limit: 1000 })));
      assert.deepEqual(actual, expected, `answer ${next}: ${(answers[next] as Answer).body.slice(0, 120)}`);
      if ('error' in (expected as object)) failures++;
    }
    // Both kinds were exercised: answers read, and answers refused (bad base64 and service errors).
    assert.ok(failures >= 4 && failures < answers.length - 20, `${failures} failures`);
  });

  it('decodes base64 exactly as smithy does, or fails with its error', () => {
    const random = seededRandom(7);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n.';
    let decoded = 0;
    for (let n = 0; n < 20_000; n++) {
      let text = '';
      if (random() < 0.5) text = Buffer.from(randomBytes(random, Math.floor(random() * 40))).toString('base64');
      const extra = Math.floor(random() * 4);
      for (let k = 0; k < extra; k++) {
        const at = Math.floor(random() * (text.length + 1));
        text = text.slice(0, at) + pick(random, [...alphabet]) + text.slice(at + (random() < 0.5 ? 1 : 0));
      }
      const run = (f: (s: string) => Uint8Array): unknown => {
        try {
          return { ok: Array.from(f(text)) };
        } catch (error) {
          return { error: (error as Error).message };
        }
      };
      const expected = run(fromBase64);
      assert.deepEqual(run(decodeBase64), expected, JSON.stringify(text));
      if ('ok' in (expected as object)) decoded++;
    }
    assert.ok(decoded > 5_000 && decoded < 19_000, `${decoded} decoded`);
  });

  it('is the protocol of the project’s Kinesis client', () => {
    const clients = createAwsClients({ region: 'us-east-1', endpointUrl: 'http://127.0.0.1:1' });
    try {
      assert.ok(clients.kinesis.config.protocol instanceof KinesisJsonProtocol);
    } finally {
      clients.destroy();
    }
  });
});
