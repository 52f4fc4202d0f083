import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import { createMidPriceHandler } from '../../../functions/mid-price.ts';
import { encodeAggregated } from '../../../lib/records/kpl-format.ts';
import { createLocalContext } from '../../../lib/consumer/lambda-context.ts';
import { toKinesisStreamEvent } from '../../../lib/consumer/kinesis-event.ts';
import { processBatch, type BatchRecord } from '../../../lib/midprice/process-batch.ts';
import { prepareOutputDir } from '../../../lib/output/log-files.ts';
import type { Quote } from '../../../lib/quotes/quote.ts';
import { encodeQuote, recordHasPrefix, recordPrefixForRun, RUN_STAMPED_PREFIX } from '../../../lib/records/quote-record.ts';
import { useTempDir } from '../../support/temp-dir.ts';

function quote(seq: number, overrides: Partial<Quote> = {}): Quote {
  return {
    ticker: 'AAPL',
    timestamp: `2025-01-01T00:00:0${seq}.000Z`,
    arrival: `2025-01-01T00:00:0${seq}.005Z`,
    bid: '1',
    ask: String(1 + seq),
    latencyMs: 5,
    mode: 'historical',
    source: 'hist:t',
    seq,
    ...overrides,
  };
}

function aggregate(...data: Uint8Array[]): Buffer {
  return encodeAggregated(data.map((d) => ({ partitionKey: 'AAPL', data: d })));
}

describe('de-aggregation in processBatch and the handler', () => {
  it('expands aggregates into their quotes in order, next to plain records', () => {
    const records: BatchRecord[] = [
      { id: '1', partitionKey: 'AAPL', data: encodeQuote(quote(1)) },
      { id: '2', partitionKey: 'AAPL', data: aggregate(encodeQuote(quote(2)), encodeQuote(quote(3, { latencyMs: 50 })), encodeQuote(quote(4))) },
      { id: '3', partitionKey: 'AAPL', data: encodeQuote(quote(5)) },
    ];
    const out = processBatch(records, 20);
    assert.deepEqual(out.midLines, [
      '2025-01-01 00:00:01.000, 1.5',
      '2025-01-01 00:00:02.000, 2',
      '2025-01-01 00:00:04.000, 3',
      '2025-01-01 00:00:05.000, 3.5',
    ]);
    assert.deepEqual(out.errorLines, ['No mid price at 2025-01-01 00:00:03.000 as latency 50ms is bigger than 20ms']);
    assert.equal(out.userRecords, 5);
    assert.equal(out.deadLetters, 0);
  });

  it('dead-letters a corrupt aggregate whole, and a bad quote inside a good one alone', () => {
    const corrupt = aggregate(encodeQuote(quote(1)), encodeQuote(quote(2)));
    corrupt[8] = (corrupt[8] as number) ^ 0xff;
    const out = processBatch(
      [
        { id: '10', partitionKey: 'AAPL', data: corrupt },
        { id: '11', partitionKey: 'AAPL', data: Buffer.from([0xf3, 0x89, 0x9a, 0xc2, 0x00]) },
        { id: '12', partitionKey: 'AAPL', data: aggregate(encodeQuote(quote(3)), Buffer.from('{"v":1}'), encodeQuote(quote(4))) },
      ],
      20,
    );
    assert.deepEqual(out.midLines, ['2025-01-01 00:00:03.000, 2.5', '2025-01-01 00:00:04.000, 3']);
    const dead = out.deadLetterLines.map((l) => JSON.parse(l) as { sequenceNumber: string; subSequence?: number; reason: string; data: string });
    assert.deepEqual(
      dead.map((d) => [d.sequenceNumber, d.subSequence, d.reason.slice(0, 30)]),
      [
        ['10', undefined, 'KPL aggregated record: MD5 dig'],
        ['11', undefined, 'KPL aggregated record too shor'],
        ['12', 1, 'field "mode" must be "historic'],
      ],
    );
    assert.deepEqual(Buffer.from(dead[0]?.data ?? '', 'base64'), corrupt, 'the whole aggregate is kept');
  });

  describe('the handler', () => {
    const tmp = useTempDir();

    it('de-aggregates transparently and dead-letters corrupt aggregates without failing the batch', async () => {
      const dir = tmp.join('out');
      await prepareOutputDir(dir, { truncate: true });
      const handler = createMidPriceHandler({ outputDir: dir, latencyThresholdMs: 20, logger: new Logger({ serviceName: 't', logLevel: 'SILENT' }) });
      const corrupt = aggregate(encodeQuote(quote(9)));
      corrupt[corrupt.length - 1] = (corrupt[corrupt.length - 1] as number) ^ 1;
      const event = toKinesisStreamEvent(
        [
          { SequenceNumber: '100', PartitionKey: 'AAPL', Data: aggregate(encodeQuote(quote(1)), encodeQuote(quote(2))) },
          { SequenceNumber: '101', PartitionKey: 'AAPL', Data: corrupt },
          { SequenceNumber: '102', PartitionKey: 'AAPL', Data: encodeQuote(quote(3)) },
        ],
        {
          streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/s',
          shardId: 'shardId-000000000000',
          region: 'us-east-1',
          functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:midPrice',
        },
      );
      assert.deepEqual(await handler(event, createLocalContext('midPrice', 'us-east-1')), { batchItemFailures: [] });
      assert.equal(
        await readFile(tmp.join('out', 'mid_prices.log'), 'utf8'),
        '2025-01-01 00:00:01.000, 1.5\n2025-01-01 00:00:02.000, 2\n2025-01-01 00:00:03.000, 2.5\n',
      );
      const dead = JSON.parse(await readFile(tmp.join('out', 'dead_letters.log'), 'utf8')) as { sequenceNumber: string; reason: string };
      assert.equal(dead.sequenceNumber, '101');
      assert.match(dead.reason, /MD5/);
    });
  });

  it('run filters see through aggregates: judged by the first contained record', () => {
    const mine = recordPrefixForRun('run-a');
    const stamped = (run: string | undefined, seq: number): Uint8Array => encodeQuote(quote(seq), run === undefined ? {} : { run });
    assert.ok(recordHasPrefix(stamped('run-a', 1), mine));
    assert.ok(recordHasPrefix(aggregate(stamped('run-a', 1), stamped('run-a', 2)), mine));
    assert.ok(!recordHasPrefix(aggregate(stamped('run-b', 1)), mine));
    assert.ok(!recordHasPrefix(aggregate(stamped(undefined, 1)), mine));
    // The `up` consumer skips run-stamped records, aggregated or not, and keeps the rest.
    assert.ok(recordHasPrefix(aggregate(stamped('run-b', 1)), RUN_STAMPED_PREFIX));
    assert.ok(!recordHasPrefix(aggregate(stamped(undefined, 1)), RUN_STAMPED_PREFIX));
    // An unreadable aggregate matches no run (the `up` consumer passes it on to be dead-lettered).
    assert.ok(!recordHasPrefix(Buffer.from([0xf3, 0x89, 0x9a, 0xc2, 0x1a, 0x7f]), RUN_STAMPED_PREFIX));
    assert.ok(!recordHasPrefix(undefined, mine));
  });
});
