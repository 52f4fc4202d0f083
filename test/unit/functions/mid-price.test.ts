import assert from 'node:assert/strict';
import { appendFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { createMidPriceHandler, METRICS_NAMESPACE } from '../../../functions/mid-price.ts';
import type { BatchResult, BatchTiming } from '../../../lib/midprice/process-batch.ts';
import { createLocalContext } from '../../../lib/consumer/lambda-context.ts';
import { prepareOutputDir } from '../../../lib/output/log-files.ts';
import { kinesisQuoteEvent } from '../../support/kinesis-quote-event.ts';
import { jsonLinesPrinted } from '../../support/stdio-lines.ts';
import { useTempDir } from '../../support/temp-dir.ts';

const quiet = new Logger({ serviceName: 'mid-price-test', logLevel: 'SILENT' });
// No EMF lines on the test runner's stdout, except in the test that checks them.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';


describe('mid-price handler', () => {
  const tmp = useTempDir();

  it('appends mids, latency errors and dead letters, and reports no failure', async () => {
    const dir = tmp.join('out');
    await prepareOutputDir(dir, { truncate: true });
    const handler = createMidPriceHandler({ outputDir: dir, latencyThresholdMs: 20, logger: quiet });
    const result = await handler(
      kinesisQuoteEvent([{}, { latencyMs: 25, timestamp: '2025-01-01T00:00:01.000Z' }, '{"v":1}', { mode: 'live', latencyMs: 99 }]),
      createLocalContext('midPrice', 'us-east-1'),
    );
    assert.deepEqual(result, { batchItemFailures: [] });
    assert.equal(await readFile(tmp.join('out', 'mid_prices.log'), 'utf8'), '2025-01-01 00:00:00.120, 1.2\n2025-01-01 00:00:00.120, 1.2\n');
    assert.equal(
      await readFile(tmp.join('out', 'errors.log'), 'utf8'),
      'No mid price at 2025-01-01 00:00:01.000 as latency 25ms is bigger than 20ms\n',
    );
    const dead = JSON.parse(await readFile(tmp.join('out', 'dead_letters.log'), 'utf8')) as { sequenceNumber: string; reason: string };
    assert.equal(dead.sequenceNumber, '1002');
    assert.match(dead.reason, /field "mode"/);
  });

  it('emits its counts as Powertools EMF metrics after the invocation and tells onBatch the mids', async () => {
    const dir = tmp.join('metrics');
    await prepareOutputDir(dir, { truncate: true });
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'mid-price' });
    const batches: BatchResult[] = [];
    const handler = createMidPriceHandler({ outputDir: dir, latencyThresholdMs: 20, logger: quiet, metrics, onBatch: (b) => batches.push(b) });
    let printed: string[];
    try {
      ({ lines: printed } = await jsonLinesPrinted(
        () => handler(kinesisQuoteEvent([{}, { latencyMs: 25 }, '{"v":1}', { bid: '2', ask: '3' }]), createLocalContext('midPrice', 'us-east-1')),
        [process.stdout],
      ));
    } finally {
      process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    }
    const emf = printed.map((line) => JSON.parse(line) as Record<string, unknown>).find((o) => '_aws' in o);
    assert.ok(emf !== undefined, `an EMF line on stdout, got ${printed.join('')}`);
    assert.deepEqual(
      { quotes: emf.quotes, midLines: emf.midLines, latencyErrors: emf.latencyErrors, deadLetters: emf.deadLetters, service: emf.service },
      { quotes: 4, midLines: 2, latencyErrors: 1, deadLetters: 1, service: 'mid-price' },
    );
    const aws = emf._aws as { CloudWatchMetrics: Array<{ Namespace: string }> };
    assert.equal(aws.CloudWatchMetrics[0]?.Namespace, 'TickReplay');
    assert.deepEqual(batches.map((b) => b.mids), [[
      { ticker: 'AAPL', micros: Date.UTC(2025, 0, 1, 0, 0, 0, 120) * 1000, mid: '1.2' },
      { ticker: 'AAPL', micros: Date.UTC(2025, 0, 1, 0, 0, 0, 120) * 1000, mid: '2.5' },
    ]]);
  });

  it("times each written batch and each live quote's delivery (arrival off the socket to line written) for onBatch", async () => {
    const dir = tmp.join('timing');
    await prepareOutputDir(dir, { truncate: true });
    const timings: BatchTiming[] = [];
    const ticks = [1_000, 1_040];
    const handler = createMidPriceHandler({
      outputDir: dir,
      latencyThresholdMs: 20,
      logger: quiet,
      onBatch: (_, timing) => timings.push(timing),
      now: () => Date.UTC(2030, 0, 1, 0, 0, 0, 250),
      monotonic: () => ticks.shift() ?? Number.NaN,
    });
    await handler(
      kinesisQuoteEvent([
        { mode: 'live', arrival: '2030-01-01T00:00:00.000Z', latencyMs: undefined },
        {},
        { mode: 'live', arrival: '2030-01-01T00:00:00.200Z', latencyMs: undefined },
      ]),
      createLocalContext('midPrice', 'us-east-1'),
    );
    assert.deepEqual(timings, [{ handledSeconds: 0.04, deliverySeconds: [0.25, 0.05] }], 'the historical quote has no wall-clock arrival to time');
  });

  it('rolls back the files it already appended when a later one fails, so the retry duplicates nothing', async () => {
    const dir = tmp.join('half');
    await prepareOutputDir(dir, { truncate: true });
    await appendFile(tmp.join('half', 'mid_prices.log'), 'earlier line\n');
    // errors.log replaced by a directory: the mid lines append, the error lines cannot.
    await rm(tmp.join('half', 'errors.log'));
    await mkdir(tmp.join('half', 'errors.log'));
    const handler = createMidPriceHandler({ outputDir: dir, latencyThresholdMs: 20, logger: quiet });
    const result = await handler(kinesisQuoteEvent([{}, { latencyMs: 25 }]), createLocalContext('midPrice', 'us-east-1'));
    assert.deepEqual(result, { batchItemFailures: [{ itemIdentifier: '1000' }] });
    assert.equal(await readFile(tmp.join('half', 'mid_prices.log'), 'utf8'), 'earlier line\n');

    // Once the directory is usable again, the retried batch is written exactly once.
    await rm(tmp.join('half', 'errors.log'), { recursive: true });
    const retried = await handler(kinesisQuoteEvent([{}, { latencyMs: 25 }]), createLocalContext('midPrice', 'us-east-1'));
    assert.deepEqual(retried, { batchItemFailures: [] });
    assert.equal(await readFile(tmp.join('half', 'mid_prices.log'), 'utf8'), 'earlier line\n2025-01-01 00:00:00.120, 1.2\n');
    assert.equal(
      await readFile(tmp.join('half', 'errors.log'), 'utf8'),
      'No mid price at 2025-01-01 00:00:00.120 as latency 25ms is bigger than 20ms\n',
    );
  });

  it('reports the whole batch as failed when the output cannot be written, so it is retried', async () => {
    const blocked = tmp.join('blocked');
    await writeFile(blocked, 'a file where the output directory should be');
    const handler = createMidPriceHandler({ outputDir: blocked, latencyThresholdMs: 20, logger: quiet });
    const result = await handler(kinesisQuoteEvent([{}, {}]), createLocalContext('midPrice', 'us-east-1'));
    assert.deepEqual(result, { batchItemFailures: [{ itemIdentifier: '1000' }] });
    await rm(blocked);
  });
});
