/**
 * The Lambda entry points log at the level resolved from the environment: POWERTOOLS_LOG_LEVEL
 * over LOG_LEVEL, as Powertools itself orders them. On Lambda the logger prints to stdout
 * (CloudWatch), so that is where this test reads it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { handler } from '../../../functions/mid-price.ts';
import { createLocalContext } from '../../../lib/consumer/lambda-context.ts';
import { kinesisQuoteEvent } from '../../support/kinesis-quote-event.ts';
import { jsonLinesPrinted } from '../../support/stdio-lines.ts';
import { useTempDir } from '../../support/temp-dir.ts';

describe('the mid-price Lambda entry point', () => {
  const tmp = useTempDir();

  it('logs DEBUG lines with POWERTOOLS_LOG_LEVEL=debug even though LOG_LEVEL=ERROR', async () => {
    Object.assign(process.env, { POWERTOOLS_LOG_LEVEL: 'debug', LOG_LEVEL: 'ERROR', OUTPUT_DIR: tmp.join('out'), POWERTOOLS_METRICS_DISABLED: 'true' });
    const { result, lines: printed } = await jsonLinesPrinted(() => handler(kinesisQuoteEvent([{}, {}]), createLocalContext('midPrice', 'us-east-1')), [process.stdout]);
    assert.deepEqual(result, { batchItemFailures: [] });
    const lines = printed.map((l) => JSON.parse(l) as { level: string; message: string; records?: number });
    const debug = lines.find((l) => l.message === 'batch processed');
    assert.equal(debug?.level, 'DEBUG', `a DEBUG line on stdout, got ${printed.join('\n').slice(0, 500)}`);
    assert.equal(debug.records, 2);
  });
});
