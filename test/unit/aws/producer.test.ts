import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PutRecordsCommand, PutRecordsCommandOutput, PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import { KinesisProducer, ProducerError, type ProducerEntry } from '../../../lib/aws/producer.ts';
import { ShardMap } from '../../../lib/aws/shard-map.ts';
import type { Clock } from '../../../lib/time/clock.ts';

interface SentRequest {
  keys: string[];
  payloads: string[];
}

/** A clock whose sleeps end on the next turn of the event loop, recording each requested delay. */
function fastClock(delays: number[] = []): Clock {
  return {
    now: () => performance.now(),
    sleep: (ms) => {
      delays.push(ms);
      return new Promise((resolve) => setImmediate(resolve));
    },
  };
}

type Responder = (request: SentRequest, call: number) => Promise<PutRecordsResultEntry[]>;

/** Stands in for KinesisClient: records every PutRecords call and answers with `respond`. */
function fakeKinesis(respond: Responder): { client: { send(command: PutRecordsCommand): Promise<PutRecordsCommandOutput> }; requests: SentRequest[] } {
  const requests: SentRequest[] = [];
  let sequence = 0;
  return {
    requests,
    client: {
      async send(command: PutRecordsCommand): Promise<PutRecordsCommandOutput> {
        const records = command.input.Records ?? [];
        const request = {
          keys: records.map((r) => r.PartitionKey ?? ''),
          payloads: records.map((r) => Buffer.from(r.Data ?? new Uint8Array()).toString()),
        };
        requests.push(request);
        const results = await respond(request, requests.length);
        return {
          $metadata: {},
          FailedRecordCount: results.filter((r) => r.ErrorCode !== undefined).length,
          Records: results.map((r) => (r.ErrorCode === undefined ? { ShardId: r.ShardId ?? 'shardId-000000000000', SequenceNumber: String(++sequence) } : r)),
        };
      },
    },
  };
}

const allOk: Responder = (request) => Promise.resolve(request.keys.map(() => ({})));

function entry(key: string, payload: string): ProducerEntry {
  return { partitionKey: key, data: Buffer.from(payload) };
}

describe('KinesisProducer', () => {
  it('sends at most 500 records per PutRecords call and delivers every entry once', async () => {
    const { client, requests } = fakeKinesis(allOk);
    const producer = new KinesisProducer({ client, streamName: 's', clock: fastClock(), lingerMs: 5 });
    for (let i = 0; i < 1_234; i++) await producer.put(entry('AAPL', `q${i}`));
    await producer.flush();
    assert.ok(requests.every((r) => r.keys.length <= 500));
    const delivered = requests.flatMap((r) => r.payloads);
    assert.deepEqual(delivered, Array.from({ length: 1_234 }, (_, i) => `q${i}`));
    assert.equal(producer.stats.acked, 1_234);
  });

  it('splits batches so that no request exceeds the byte limit', async () => {
    const { client, requests } = fakeKinesis(allOk);
    const producer = new KinesisProducer({ client, streamName: 's', clock: fastClock(), maxBatchBytes: 10_000 });
    const big = 'x'.repeat(3_000);
    for (let i = 0; i < 10; i++) await producer.put(entry('K', big));
    await producer.flush();
    for (const r of requests) {
      const bytes = r.payloads.reduce((n, p) => n + p.length + 1, 0);
      assert.ok(bytes <= 10_000, `request of ${bytes} bytes`);
    }
    assert.equal(requests.flatMap((r) => r.payloads).length, 10);
  });

  it('resends only the entries Kinesis throttled, with jittered growing delays', async () => {
    // Every third entry of a request is throttled on its first two attempts.
    const attempts = new Map<string, number>();
    const { client, requests } = fakeKinesis((request) =>
      Promise.resolve(
        request.payloads.map((p) => {
          const n = (attempts.get(p) ?? 0) + 1;
          attempts.set(p, n);
          const payloadIndex = Number(p.slice(1));
          return payloadIndex % 3 === 0 && n <= 2
            ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded' }
            : {};
        }),
      ),
    );
    const delays: number[] = [];
    let r = 0;
    const random = (): number => [0.9, 0.1, 0.5][r++ % 3] as number;
    const producer = new KinesisProducer({ client, streamName: 's', clock: fastClock(delays), random, lingerMs: 0 });
    for (let i = 0; i < 300; i++) await producer.put(entry('K', `q${i}`));
    await producer.flush();

    const delivered = new Set<string>();
    for (const [payload, n] of attempts) {
      const index = Number(payload.slice(1));
      assert.equal(n, index % 3 === 0 ? 3 : 1, `${payload} sent ${n} times`);
      delivered.add(payload);
    }
    assert.equal(delivered.size, 300);
    assert.equal(producer.stats.acked, 300);
    assert.equal(producer.stats.retriedEntries, 200);
    // Retried requests carry only the failed entries.
    const retries = requests.filter((req) => req.payloads.every((p) => Number(p.slice(1)) % 3 === 0));
    assert.ok(retries.length >= 2);
    // Backoff delays are jittered (not all equal) and within the cap.
    const backoffs = delays.filter((d) => d > 0);
    assert.ok(backoffs.length >= 2);
    assert.ok(new Set(backoffs).size > 1, `delays ${backoffs.join(',')}`);
    assert.ok(backoffs.every((d) => d <= 5_000));
  });

  it('retries a whole request after a transient failure and fails fast on a fatal one', async () => {
    let calls = 0;
    const flaky = fakeKinesis((request) => {
      calls++;
      if (calls === 1) return Promise.reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      return allOk(request, calls);
    });
    const producer = new KinesisProducer({ client: flaky.client, streamName: 's', clock: fastClock() });
    await producer.put(entry('K', 'a'));
    await producer.flush();
    assert.equal(producer.stats.acked, 1);
    assert.equal(producer.stats.retriedRequests, 1);

    const missing = fakeKinesis(() => Promise.reject(Object.assign(new Error('Stream s not found'), { name: 'ResourceNotFoundException' })));
    const doomed = new KinesisProducer({ client: missing.client, streamName: 's', clock: fastClock() });
    await doomed.put(entry('K', 'a'));
    await assert.rejects(doomed.flush(), (error: unknown) => error instanceof ProducerError && /not found/.test(error.message));
    await assert.rejects(doomed.put(entry('K', 'b')), ProducerError);
    assert.equal(missing.requests.length, 1);
  });

  it('makes put() wait while too many entries are unacknowledged (bounded memory)', async () => {
    const release: Array<() => void> = [];
    const { client } = fakeKinesis((request) => new Promise((resolve) => release.push(() => resolve(request.keys.map(() => ({}))))));
    const producer = new KinesisProducer({ client, streamName: 's', clock: fastClock(), maxBufferedRecords: 100, maxBatchRecords: 50, maxInFlight: 1 });
    let accepted = 0;
    const writer = (async () => {
      for (let i = 0; i < 1_000; i++) {
        await producer.put(entry('K', `q${i}`));
        accepted++;
      }
    })();
    // Let the writer run as far as it can: many turns of the event loop, no wall-clock wait.
    for (let i = 0; i < 200; i++) await new Promise((resolve) => setImmediate(resolve));
    // Kinesis has not answered: the writer is stuck at the bound, not buffering 1,000 entries.
    assert.equal(accepted, 99);
    assert.ok(producer.stats.unacked <= 100);
    while (accepted < 1_000) {
      release.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await writer;
    const flushed = producer.flush();
    for (let i = 0; i < 100 && producer.stats.unacked > 0; i++) {
      release.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await flushed;
    assert.equal(producer.stats.acked, 1_000);
    assert.ok(producer.stats.maxUnacked <= 100);
  });

  it('never has two requests in flight for the same shard, so per-key order holds', async () => {
    const shardMap = new ShardMap([
      { shardId: 'shard-a', start: 0n, end: 2n ** 127n - 1n },
      { shardId: 'shard-b', start: 2n ** 127n, end: 2n ** 128n - 1n },
    ]);
    const inFlight = new Map<string, number>();
    let overlap = false;
    let concurrent = 0;
    let maxConcurrent = 0;
    const { client, requests } = fakeKinesis(async (request) => {
      const shards = new Set(request.keys.map((k) => shardMap.shardFor(k)));
      for (const s of shards) {
        if ((inFlight.get(s) ?? 0) > 0) overlap = true;
        inFlight.set(s, (inFlight.get(s) ?? 0) + 1);
      }
      maxConcurrent = Math.max(maxConcurrent, ++concurrent);
      await new Promise((resolve) => setTimeout(resolve, 2));
      concurrent--;
      for (const s of shards) inFlight.set(s, (inFlight.get(s) ?? 0) - 1);
      return request.keys.map(() => ({}));
    });
    const producer = new KinesisProducer({ client, streamName: 's', shardMap, clock: fastClock(), maxBatchRecords: 20, maxInFlight: 4 });
    const tickers = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'TSLA', 'NVDA'];
    for (let i = 0; i < 2_000; i++) await producer.put(entry(tickers[i % tickers.length] as string, `${i}`));
    await producer.flush();
    assert.equal(overlap, false);
    assert.ok(maxConcurrent > 1, 'different shards are sent concurrently');
    for (const ticker of tickers) {
      const seen = requests.flatMap((r) => r.payloads.filter((_, i) => r.keys[i] === ticker)).map(Number);
      assert.deepEqual(seen, [...seen].sort((a, b) => a - b), `${ticker} in order`);
    }
  });

  it("fills a request with the entries of every idle shard's lane, so a paced rate costs one request per linger, not one per shard", async () => {
    const shardMap = new ShardMap([
      { shardId: 'shard-a', start: 0n, end: 2n ** 127n - 1n },
      { shardId: 'shard-b', start: 2n ** 127n, end: 2n ** 128n - 1n },
    ]);
    const { client, requests } = fakeKinesis((request) => Promise.resolve(request.keys.map((key) => ({ ShardId: shardMap.shardFor(key) }))));
    const producer = new KinesisProducer({ client, streamName: 's', shardMap, lingerMs: 20 });
    const tickers = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'TSLA', 'NVDA'];
    const shardOf = (ticker: string): string => shardMap.shardFor(ticker);
    assert.equal(new Set(tickers.map(shardOf)).size, 2, 'the keys land on both shards');
    await Promise.all(tickers.map((ticker) => producer.put(entry(ticker, ticker))));
    // Nothing forces a send: the linger makes the first lane due, and the other rides along.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(requests.length, 1);
    const first = shardOf('AAPL');
    assert.deepEqual(requests[0]?.payloads, [...tickers.filter((t) => shardOf(t) === first), ...tickers.filter((t) => shardOf(t) !== first)]);
    assert.equal(producer.stats.acked, tickers.length);
  });

  it('tells after each reply which shards its accepted records landed on, each once, rejected ones left out', async () => {
    const shardMap = new ShardMap([
      { shardId: 'shard-a', start: 0n, end: 2n ** 127n - 1n },
      { shardId: 'shard-b', start: 2n ** 127n, end: 2n ** 128n - 1n },
    ]);
    const tickers = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'TSLA', 'NVDA'];
    const onA = tickers.filter((t) => shardMap.shardFor(t) === 'shard-a');
    const onB = tickers.filter((t) => shardMap.shardFor(t) === 'shard-b');
    assert.ok(onA.length > 1 && onB.length > 0, 'the keys land on both shards, several on shard-a');
    // The first request's shard-b records are throttled; their resend is the second request.
    const { client, requests } = fakeKinesis((request, call) =>
      Promise.resolve(
        request.keys.map((key) => {
          const shardId = shardMap.shardFor(key);
          return call === 1 && shardId === 'shard-b' ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded' } : { ShardId: shardId };
        }),
      ),
    );
    const events: string[] = [];
    const producer = new KinesisProducer({
      client,
      streamName: 's',
      shardMap,
      clock: fastClock(),
      onRecordsLanded: (shardIds) => events.push(`landed ${shardIds.join(',')}`),
      onAck: (acked) => events.push(`acked ${acked.length}`),
    });
    for (const ticker of tickers) await producer.put(entry(ticker, ticker));
    await producer.flush();
    assert.equal(requests.length, 2);
    assert.deepEqual(events, [`landed shard-a`, `acked ${onA.length}`, `landed shard-b`, `acked ${onB.length}`]);
  });

  it('stops waiting in flush() when its signal aborts, and reports what is unacknowledged', async () => {
    const { client } = fakeKinesis(() => new Promise(() => undefined));
    const producer = new KinesisProducer({ client, streamName: 's', clock: fastClock() });
    await producer.put(entry('K', 'a'));
    const controller = new AbortController();
    const flushed = producer.flush(controller.signal);
    controller.abort();
    await flushed;
    assert.equal(producer.stats.unacked, 1);
  });

  it('rejects pending and later calls once aborted', async () => {
    const { client } = fakeKinesis(() => new Promise(() => undefined));
    const producer = new KinesisProducer({ client, streamName: 's', clock: fastClock(), maxBufferedRecords: 1 });
    const blocked = producer.put(entry('K', 'a'));
    producer.abort(new ProducerError('stream went away'));
    await assert.rejects(blocked, /stream went away/);
    await assert.rejects(producer.flush(), /stream went away/);
    await assert.rejects(producer.put(entry('K', 'b')), /stream went away/);
  });

  it('rejects a record larger than the Kinesis per-record limit', async () => {
    const { client } = fakeKinesis(allOk);
    const producer = new KinesisProducer({ client, streamName: 's', clock: fastClock() });
    await assert.rejects(producer.put(entry('K', 'x'.repeat(1024 * 1024 + 1))), /exceeds the Kinesis limit/);
  });
});
