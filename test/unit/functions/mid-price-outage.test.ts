/**
 * How the mid-price handler reports an output that cannot be written (a full disk): one ERROR when
 * writes start to fail, one INFO once they have worked for 2 s with no failure — also when a nearly
 * full disk lets some batches through in between, and when the last batches all land while a
 * recovery check is pending.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { createMidPriceHandler } from '../../../functions/mid-price.ts';
import { createLocalContext } from '../../../lib/consumer/lambda-context.ts';
import { OutputError } from '../../../lib/errors.ts';
import type { OutputSink } from '../../../lib/output/output-sink.ts';
import { kinesisQuoteEvent } from '../../support/kinesis-quote-event.ts';
import { waitFor } from '../../support/capture-logs.ts';

describe('the handler on an output that fails for a while', () => {
  it('logs one error for the outage and one recovery, though small batches got through in between', async () => {
    const lines: Array<{ level: string; message: string; failedAttempts?: number }> = [];
    const logger = new Logger({ serviceName: 'mid-price-test', logLevel: 'DEBUG' });
    // Powertools prints through its console: capture the JSON lines.
    (logger as unknown as { console: { info: (line: string) => void; error: (line: string) => void; warn: (line: string) => void; debug: (line: string) => void } }).console = {
      info: (line) => lines.push(JSON.parse(line) as (typeof lines)[number]),
      error: (line) => lines.push(JSON.parse(line) as (typeof lines)[number]),
      warn: (line) => lines.push(JSON.parse(line) as (typeof lines)[number]),
      debug: (line) => lines.push(JSON.parse(line) as (typeof lines)[number]),
    };
    const outcomes = ['fail', 'fail', 'ok', 'fail', 'ok', 'ok'];
    const sink: OutputSink = {
      description: 'a test sink',
      append: () => (outcomes.shift() === 'fail' ? Promise.reject(new OutputError('no space left on device')) : Promise.resolve({ recovered: [] })),
    };
    const handler = createMidPriceHandler({ outputDir: '/nowhere', sink, latencyThresholdMs: 20, logger, metrics: new Metrics({ namespace: 'Test', serviceName: 'test' }) });
    const context = createLocalContext('midPrice', 'us-east-1');
    const failures: number[] = [];
    for (let i = 0; i < 6; i++) failures.push((await handler(kinesisQuoteEvent([{}]), context)).batchItemFailures.length);
    assert.deepEqual(failures, [1, 1, 0, 1, 0, 0]);
    const recovery = (): Array<(typeof lines)[number]> => lines.filter((l) => l.message === 'output writable again; the batches that failed are written');
    // The last batches landed while the check started by the first success was pending.
    await waitFor('the recovery line', () => recovery().length === 1, 6_000);
    assert.equal(lines.filter((l) => l.level === 'ERROR').length, 1, 'one error for the whole outage');
    assert.equal(recovery()[0]?.failedAttempts, 3);
  });
});
