/**
 * The handler's Powertools logger (lib/logging/powertools-sink.ts): its lines reach our sink and
 * never the process's stdout or stderr, and errors keep the same story as in the CLI's logger.
 * This is also the guard on the exact Powertools pin: `printLog` is a protected method; a release
 * that stops calling it would print to stdout and fail here.
 */
import assert from 'node:assert/strict';
import { mkdir, rm } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { ResourceNotFoundException } from '@aws-sdk/client-kinesis';
import { createMidPriceHandler } from '../../../functions/mid-price.ts';
import { createLocalContext } from '../../../lib/consumer/lambda-context.ts';
import { AwsCallError } from '../../../lib/errors.ts';
import { createPowertoolsLogger } from '../../../lib/logging/powertools-sink.ts';
import { prepareOutputDir } from '../../../lib/output/log-files.ts';
import { kinesisQuoteEvent } from '../../support/kinesis-quote-event.ts';
import { jsonLinesPrinted } from '../../support/stdio-lines.ts';
import { useTempDir } from '../../support/temp-dir.ts';

type Json = Record<string, unknown>;

process.env.POWERTOOLS_METRICS_DISABLED = 'true';

describe("the handler's Powertools logger", () => {
  const tmp = useTempDir();

  it('writes an AWS error wrapped in a project error to our sink as one JSON line with Powertools keys, the context, the cause chain and the request id', async () => {
    const lines: string[] = [];
    const logger = createPowertoolsLogger('mid-price', 'INFO', (line) => lines.push(line));
    const cause = new ResourceNotFoundException({ message: 'Stream x not found.', $metadata: { httpStatusCode: 400, requestId: 'req-42' } });
    const { lines: printed } = await jsonLinesPrinted(() => {
      logger.error('cannot read the stream', { error: new AwsCallError('GetShardIterator on x failed', { stream: 'x' }, { cause }) });
      logger.createChild({ persistentKeys: { shard: 'shardId-000000000000' } }).warn('from a child');
      logger.debug('below the level');
    });
    assert.deepEqual(printed, [], 'no log line on stdout or stderr');
    assert.equal(lines.length, 2);
    const line = JSON.parse(lines[0] as string) as Json;
    assert.deepEqual([line.level, line.message, line.service], ['ERROR', 'cannot read the stream', 'mid-price']);
    assert.match(line.timestamp as string, /^\d{4}-\d\d-\d\dT/);
    const error = line.error as Json;
    assert.equal(error.name, 'AwsCallError');
    assert.deepEqual(error.context, { stream: 'x' });
    assert.match(error.stack as string, /^AwsCallError: GetShardIterator on x failed\n/);
    const awsCause = error.cause as Json;
    assert.equal(awsCause.name, 'ResourceNotFoundException');
    assert.equal(awsCause.$fault, 'client');
    assert.deepEqual(awsCause.$metadata, { httpStatusCode: 400, requestId: 'req-42' });
    const child = JSON.parse(lines[1] as string) as Json;
    assert.deepEqual([child.message, child.shard], ['from a child', 'shardId-000000000000'], "a child logger writes to the parent's sink");
  });

  it("keeps the Lambda context keys and a failed write's error chain when the real handler cannot write its output", async () => {
    const dir = tmp.join('out');
    await prepareOutputDir(dir, { truncate: true });
    // A directory where mid_prices.log should be: every append fails (EISDIR), even as root.
    await rm(tmp.join('out', 'mid_prices.log'));
    await mkdir(tmp.join('out', 'mid_prices.log'));
    const lines: string[] = [];
    const handler = createMidPriceHandler({ outputDir: dir, latencyThresholdMs: 20, logger: createPowertoolsLogger('mid-price', 'INFO', (line) => lines.push(line)) });
    const { result, lines: printed } = await jsonLinesPrinted(() => handler(kinesisQuoteEvent([{}]), createLocalContext('midPrice', 'us-east-1')));
    assert.deepEqual(result, { batchItemFailures: [{ itemIdentifier: '1000' }] });
    assert.deepEqual(printed, [], 'no log line on stdout or stderr');
    const errors = lines.map((l) => JSON.parse(l) as Json).filter((l) => l.level === 'ERROR');
    assert.equal(errors.length, 1);
    const line = errors[0] as Json;
    assert.equal(line.function_name, 'midPrice', 'injectLambdaContext added the Lambda context');
    assert.equal(typeof line.cold_start, 'boolean');
    assert.equal(line.records, 1);
    const error = line.error as Json;
    assert.equal(error.name, 'OutputError');
    assert.equal(error.message, `cannot append to ${dir}: is a directory`);
    assert.deepEqual(error.context, { dir }, "the project error's context");
    assert.equal((error.cause as Json).code, 'EISDIR', 'the file-system error under it, with its code');
  });

  it('follows the level it is given (the resolved LOG_LEVEL / POWERTOOLS_LOG_LEVEL)', async () => {
    const lines: string[] = [];
    const logger = createPowertoolsLogger('mid-price', 'DEBUG', (line) => lines.push(line));
    const { lines: printed } = await jsonLinesPrinted(() => logger.debug('batch processed', { records: 3 }));
    assert.deepEqual(printed, []);
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as Json).message), ['batch processed']);
  });
  it('reports Powertools Metrics diagnostics through the same sink: two invocations of one handler at once print nothing plain, and the empty publish of the second is DEBUG', async () => {
    // Locally one handler serves every shard at once: the first invocation's logMetrics flushes
    // the metrics both added, so the second finds none (Powertools warns on the console by default).
    const lines: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const handler = createMidPriceHandler({
      outputDir: tmp.join('unused'),
      latencyThresholdMs: 20,
      logger: createPowertoolsLogger('mid-price', 'DEBUG', (line) => lines.push(line)),
      sink: { description: 'a gated sink', append: () => gate.then(() => ({ recovered: [] })) },
    });
    const { lines: printed } = await jsonLinesPrinted(async () => {
      const both = Promise.all([0, 1].map(() => handler(kinesisQuoteEvent([{}]), createLocalContext('midPrice', 'us-east-1'))));
      release();
      assert.deepEqual(await both, [{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    });
    assert.deepEqual(printed, [], 'no line on stdout or stderr');
    const parsed = lines.map((line) => JSON.parse(line) as Json);
    const empty = parsed.filter((line) => String(line.message).startsWith('No application metrics to publish'));
    assert.deepEqual(empty.map((line) => line.level), ['DEBUG']);
    assert.equal(parsed.filter((line) => line.level === 'WARN').length, 0);
  });
});
