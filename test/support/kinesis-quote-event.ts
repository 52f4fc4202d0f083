/** A Kinesis event for the mid-price handler, one record per quote (or raw string), as Lambda delivers it. */
import type { KinesisStreamEvent } from 'aws-lambda';
import { toKinesisStreamEvent } from '../../lib/consumer/kinesis-event.ts';
import type { Quote } from '../../lib/quotes/quote.ts';
import { encodeQuote } from '../../lib/records/quote-record.ts';

/**
 * Each item overrides a historical AAPL quote (seq = its position, latency 5 ms); a string is
 * sent as the record's raw data. Sequence numbers start at 1000.
 */
export function kinesisQuoteEvent(quotes: Array<Partial<Quote> | string>): KinesisStreamEvent {
  const records = quotes.map((q, i) => ({
    SequenceNumber: String(1000 + i),
    PartitionKey: 'AAPL',
    Data:
      typeof q === 'string'
        ? Buffer.from(q)
        : encodeQuote({
            ticker: 'AAPL',
            timestamp: '2025-01-01T00:00:00.120Z',
            arrival: '2025-01-01T00:00:00.125Z',
            bid: '1.1',
            ask: '1.3',
            latencyMs: 5,
            mode: 'historical',
            source: 'hist:t',
            seq: i + 1,
            ...q,
          }),
  }));
  return toKinesisStreamEvent(records, {
    streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/s',
    shardId: 'shardId-000000000000',
    region: 'us-east-1',
    functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:midPrice',
  });
}
