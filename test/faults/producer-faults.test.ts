/**
 * The producer under Kinesis faults, through the fault proxy in front of the real emulators:
 * per-record throttling (only the failed entries are resent, jittered, within the in-flight
 * limit) and an endpoint that is unreachable for 10 s (the source is paused, not buffered, and
 * nothing is lost).
 */
import { SPLIT_BATCH_BYTES } from '../../lib/quotes/csv-reader.ts';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { mulberry32 } from '../../data/generate.ts';
import { KinesisProducer } from '../../lib/aws/producer.ts';
import { loadShardMap } from '../../lib/aws/shard-map.ts';
import { HistoricalSource, scanCsv } from '../../lib/replay/historical-source.ts';
import { replay, type QuoteEntry } from '../../lib/replay/replayer.ts';
import { captureLogs } from '../support/capture-logs.ts';
import { waitUntil } from '../support/processes.ts';
import type { Fault } from './support/fault-proxy.ts';
import { countBy, deliveryReport, quoteKey, readStream, startFaultStack, type FaultStack } from './support/stack.ts';

const PUT_RECORDS = 'Kinesis_20131202.PutRecords';

interface SentRecord {
  Data: string;
  PartitionKey: string;
}

/** The `(source, seq)` keys carried by one proxied PutRecords body. */
function keysOf(body: unknown): string[] {
  return ((body as { Records: SentRecord[] }).Records ?? []).map((r) => quoteKey(Buffer.from(r.Data, 'base64')));
}

describe('producer under Kinesis faults', () => {
  let env: FaultStack;

  before(async () => {
    env = await startFaultStack();
  });

  after(async () => {
    await env.stop();
  });

  it('delivers every record exactly once when 30% of the entries are throttled, resending only those', async () => {
    const stream = 'throttled';
    await env.createStream(stream, 4);
    const decide = mulberry32(30);
    const throttled = new Set<string>();
    // Which entries of each proxied PutRecords failed, in arrival order at the proxy.
    const verdicts: Array<{ keys: string[]; failed: boolean[] }> = [];
    env.proxy.setRule(({ target, body }) => {
      if (target !== PUT_RECORDS) return { kind: 'pass' };
      const keys = keysOf(body);
      const failed = keys.map(() => decide() < 0.3);
      verdicts.push({ keys, failed });
      keys.forEach((k, i) => failed[i] === true && throttled.add(k));
      return { kind: 'throttle', fail: (i) => failed[i] === true };
    });
    const { logger, lines } = captureLogs();
    const maxInFlight = 3;
    const backoff = { baseMs: 10, capMs: 200 };
    const producer = new KinesisProducer({
      client: env.faulty.kinesis,
      streamName: stream,
      shardMap: await loadShardMap(env.direct.kinesis, stream),
      maxInFlight,
      maxBatchRecords: 100,
      backoff,
      random: mulberry32(7),
      logger,
    });
    const count = 3_000;
    const expected: string[] = [];
    for (let seq = 1; seq <= count; seq++) {
      expected.push(`producer-test#${seq}`);
      await producer.put({ partitionKey: `T${seq % 16}`, data: Buffer.from(JSON.stringify({ source: 'producer-test', seq })) });
    }
    await producer.flush();
    env.proxy.setRule(() => ({ kind: 'pass' }));

    // What the stream really holds: every record exactly once (throttled entries never reached it).
    const stored = await readStream(env.direct, stream);
    const report = deliveryReport(expected, countBy(stored, (r) => quoteKey(r.data)));
    assert.deepEqual(report, { lost: [], duplicates: 0, unexpected: [] });
    assert.ok(throttled.size > count * 0.25, `about 30% throttled at least once (${throttled.size} of ${count})`);

    // Request bodies: a key is sent again only after a verdict failed it, and never after it succeeded.
    const outstanding = new Set<string>();
    const delivered = new Set<string>();
    let resent = 0;
    for (const { keys, failed } of verdicts) {
      keys.forEach((key, i) => {
        assert.ok(!delivered.has(key), `${key} was resent after it had been stored`);
        if (outstanding.delete(key)) resent++;
        if (failed[i] === true) outstanding.add(key);
        else delivered.add(key);
      });
    }
    const failedEntries = verdicts.reduce((n, v) => n + v.failed.filter(Boolean).length, 0);
    assert.equal(outstanding.size, 0, 'every throttled entry was eventually resent and stored');
    assert.equal(resent, failedEntries, 'one resend per throttled entry, no more');
    assert.equal(producer.stats.retriedEntries, failedEntries);
    assert.equal(delivered.size, count);

    // Jittered delays: spread over [0, cap), not a fixed schedule.
    const delays = lines.filter((l) => l.message === 'PutRecords entries rejected, resending only those').map((l) => l.delayMs as number);
    assert.ok(delays.length > 10, `retries were backed off (${delays.length})`);
    assert.ok(delays.every((d) => d >= 0 && d < backoff.capMs), 'delays stay under the cap');
    // A fixed exponential schedule (10, 20, 40, 80, 160, 200) would give at most 6 distinct values.
    assert.ok(new Set(delays).size > 12, `delays are jittered (${new Set(delays).size} distinct of ${delays.length})`);

    // Bounded concurrency, seen by the producer and by the endpoint.
    assert.ok(producer.stats.maxInFlightRequests <= maxInFlight);
    assert.ok(env.proxy.maxConcurrent(PUT_RECORDS) <= maxInFlight, `endpoint saw ${env.proxy.maxConcurrent(PUT_RECORDS)} concurrent PutRecords`);
  });

  it('retries whole calls through 5xx, cut connections, black holes and delays, storing each record once', async () => {
    const stream = 'transient';
    await env.createStream(stream, 2);
    // The failures come before forwarding, so nothing of a failed call is stored: exactly once.
    const script: Fault[] = [
      { kind: 'status', status: 500, errorType: 'InternalFailure' },
      { kind: 'cut' },
      { kind: 'status', status: 503, errorType: 'ServiceUnavailable' },
      { kind: 'blackhole' },
      { kind: 'delay', ms: 300 },
      { kind: 'status', status: 400, errorType: 'ProvisionedThroughputExceededException' },
    ];
    let calls = 0;
    const firstRequest = env.proxy.requests.length;
    env.proxy.setRule(({ target }) => (target === PUT_RECORDS && calls < script.length * 3 ? (script[calls++ % script.length] as Fault) : { kind: 'pass' }));
    const transientLogs = captureLogs();
    // The project's own clients (lib/aws/clients.ts) with a 2 s request timeout instead of 30 s.
    const quick = env.clientsWithTimeout(2_000);
    const producer = new KinesisProducer({
      client: quick.kinesis,
      streamName: stream,
      shardMap: await loadShardMap(env.direct.kinesis, stream),
      maxBatchRecords: 50,
      backoff: { baseMs: 10, capMs: 100 },
      random: mulberry32(11),
      logger: transientLogs.logger,
    });
    const expected: string[] = [];
    try {
      for (let seq = 1; seq <= 1_000; seq++) {
        expected.push(`transient#${seq}`);
        await producer.put({ partitionKey: `T${seq % 8}`, data: Buffer.from(JSON.stringify({ source: 'transient', seq })) });
      }
      await producer.flush();
    } finally {
      env.proxy.setRule(() => ({ kind: 'pass' }));
      quick.destroy();
    }
    const stored = await readStream(env.direct, stream);
    assert.deepEqual(deliveryReport(expected, countBy(stored, (r) => quoteKey(r.data))), { lost: [], duplicates: 0, unexpected: [] });
    // Every injected failure but the delays cost one retry of a whole call.
    const failures = (script.length - 1) * 3;
    assert.equal(producer.stats.retriedRequests, failures);
    const injected = env.proxy.requests.slice(firstRequest).filter((r) => r.target === PUT_RECORDS && r.fault !== 'pass' && r.fault !== 'delay');
    assert.equal(injected.length, failures);
    // Each kind of failure was met and retried (the log names the error the producer saw).
    const seen = new Set(transientLogs.lines.filter((l) => l.message === 'PutRecords failed, retrying').map((l) => (l.error as { name?: string }).name));
    assert.deepEqual([...seen].sort(), ['InternalFailure', 'ProvisionedThroughputExceededException', 'ServiceUnavailable', 'TimeoutError']);
  });

  it('pauses the source while Kinesis is unreachable for 10 s, then resumes with nothing lost', async () => {
    const stream = 'unreachable';
    await env.createStream(stream, 2);
    const rows = 6_000;
    const csv = ['timestamp,ticker,bid,ask'];
    for (let i = 0; i < rows; i++) csv.push(`${new Date(Date.UTC(2025, 0, 1) + i).toISOString()},T${i % 8},1.${i % 100},2`);
    const file = env.tmp.join('unreachable.csv');
    await writeFile(file, csv.join('\n') + '\n');
    const source = new HistoricalSource(await scanCsv(file));
    const maxBuffered = 200;
    const producer = new KinesisProducer<QuoteEntry>({
      client: env.faulty.kinesis,
      streamName: stream,
      shardMap: await loadShardMap(env.direct.kinesis, stream),
      maxInFlight: 2,
      maxBatchRecords: 50,
      maxBufferedRecords: maxBuffered,
      backoff: { baseMs: 50, capMs: 1_000 },
      onAck: (acked) => acked.forEach((a) => source.acknowledge(a.entry.source, a.entry.seq)),
    });
    const emitted: string[] = [];
    const running = replay(source, { producer, onSent: (q) => emitted.push(`${q.source}#${q.seq}`) });

    await waitUntil('1,000 quotes acknowledged before the outage', () => producer.stats.acked >= 1_000, 30_000);
    await env.proxy.refuse();
    let checked = false;
    try {
      const outageStart = Date.now();
      // Whatever was in flight fails now; after that nothing can be acknowledged, so reading stops.
      await delay(1_000);
      const readWhenStalled = source.stats.read;
      let maxAhead = 0;
      while (Date.now() - outageStart < 10_000) {
        maxAhead = Math.max(maxAhead, source.stats.read - producer.stats.acked);
        await delay(100);
      }
      assert.equal(source.stats.read, readWhenStalled, 'the source was not read while Kinesis was unreachable');
      assert.ok(readWhenStalled < rows, 'the outage hit mid-file');
      // +2: the quote being put and the one row the arrival-order buffer holds; and the rest of the
      // batch of rows read with the last one handed out (the reader parses per SPLIT_BATCH_BYTES).
      const shortestLine = csv.slice(1).reduce((min, line) => Math.min(min, line.length + 1), Infinity);
      const readBatch = Math.ceil(SPLIT_BATCH_BYTES / shortestLine);
      assert.ok(maxAhead <= maxBuffered + 2 + readBatch, `reading ran ${maxAhead} rows ahead of acknowledgements (bound ${maxBuffered} + one read batch of ${readBatch})`);
      assert.ok(producer.stats.retriedRequests > 0, 'the producer kept retrying');
      checked = true;
    } finally {
      await env.proxy.accept();
      // An assertion failed: stop the replay, whose producer would otherwise retry against the
      // stack the suite stops next, for ever, and keep this file's process from exiting.
      if (!checked) {
        producer.abort(new Error('the test failed'));
        await running.catch(() => undefined);
      }
    }
    const result = await running;
    await producer.flush();
    assert.equal(result.sent, rows);

    const stored = await readStream(env.direct, stream);
    const report = deliveryReport(emitted, countBy(stored, (r) => quoteKey(r.data)));
    assert.deepEqual(report.lost, []);
    assert.deepEqual(report.unexpected, []);
    assert.equal(new Set(emitted).size, rows);
    // A request cut mid-flight may have been stored before its answer was lost: at most what was in flight.
    assert.ok(report.duplicates <= 2 * 50, `duplicates ${report.duplicates} within the in-flight bound`);
  });
});
