/**
 * Writes the sample events for `serverless invoke local` (see docs/deployment.md "Invoking the handlers locally"):
 *
 *   npx tsx functions/events/generate.ts        (or `npm run events:generate`)
 *
 * The Kinesis batch is built with the record encoder the replayer uses (lib/records/quote-record.ts), so
 * its base64 data is exactly what the handler receives from the stream; the API Gateway events are
 * REST (v1) proxy events as API Gateway and serverless-offline send them. Output is deterministic
 * (no clock, no randomness); `test/unit/functions/sample-events.test.ts` checks the committed files.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { APIGatewayProxyEvent, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { Quote } from '../../lib/quotes/quote.ts';
import { encodeQuote } from '../../lib/records/quote-record.ts';
import { proxyIdentity } from '../../lib/http/proxy-identity.ts';

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const STREAM_ARN = `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/tick-replay-quotes`;
const SHARD = 'shardId-000000000000';
/** Arrival time of the batch on the stream (seconds), fixed so the file never changes. */
const ARRIVAL_EPOCH_S = 1735828260;

const HISTORICAL_SOURCE = 'hist:sample-event';
const LIVE_SOURCE = 'live:ws://127.0.0.1:8765#sample-event';

/** The quotes of the sample batch, in stream order. */
export const SAMPLE_QUOTES: readonly Quote[] = [
  { mode: 'historical', source: HISTORICAL_SOURCE, seq: 1, ticker: 'AAPL', timestamp: '2025-01-02T14:30:00.039Z', arrival: '2025-01-02T14:30:00.044Z', bid: '243.12', ask: '243.13', bidAmount: '1000', askAmount: '4100', latencyMs: 5 },
  { mode: 'historical', source: HISTORICAL_SOURCE, seq: 2, ticker: 'GOOG', timestamp: '2025-01-02T14:30:00.120Z', arrival: '2025-01-02T14:30:00.132Z', bid: '0.1', ask: '0.2', latencyMs: 12 },
  // Over the 20 ms threshold: an errors.log line, not a mid.
  { mode: 'historical', source: HISTORICAL_SOURCE, seq: 3, ticker: 'MSFT', timestamp: '2025-01-02T14:30:00.201Z', arrival: '2025-01-02T14:30:00.236Z', bid: '421.50', ask: '421.53', latencyMs: 35 },
  // Live quotes have no latency: always a mid.
  { mode: 'live', source: LIVE_SOURCE, seq: 1, ticker: 'AMZN', timestamp: '2025-01-02T14:32:00.000Z', arrival: '2025-01-02T14:32:00.003Z', bid: '220.40', ask: '220.41', bidAmount: '900', askAmount: '2500' },
  { mode: 'live', source: LIVE_SOURCE, seq: 2, ticker: 'AAPL', timestamp: '2025-01-02T14:32:00.250Z', arrival: '2025-01-02T14:32:00.252Z', bid: '243.12', ask: '243.14' },
];

/** Not a quote at all (a truncated JSON document): dead-lettered by the handler, never retried. */
export const MALFORMED_DATA = Buffer.from('{"v":1,"mode":"historical","ticker":"AAPL","bid":"243.1', 'utf8');

function kinesisRecord(data: Uint8Array, partitionKey: string, index: number): KinesisStreamRecord {
  // Real sequence numbers are 56-digit decimals that increase along the shard.
  const sequenceNumber = `49658000000000000000000000000000000000000000000000${String(index + 1).padStart(6, '0')}`;
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey,
      sequenceNumber,
      data: Buffer.from(data).toString('base64'),
      approximateArrivalTimestamp: ARRIVAL_EPOCH_S + index / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${SHARD}:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: `arn:aws:iam::${ACCOUNT}:role/tick-replay-dev-${REGION}-lambdaRole`,
    awsRegion: REGION,
    eventSourceARN: STREAM_ARN,
  };
}

export function kinesisBatchEvent(): KinesisStreamEvent {
  const items: Array<{ data: Uint8Array; partitionKey: string }> = SAMPLE_QUOTES.map((quote) => ({ data: encodeQuote(quote), partitionKey: quote.ticker }));
  // The malformed record sits between the historical and the live quotes: the records after it
  // are still processed.
  items.splice(3, 0, { data: MALFORMED_DATA, partitionKey: 'AAPL' });
  return { Records: items.map((item, index) => kinesisRecord(item.data, item.partitionKey, index)) };
}

function restEvent(method: 'GET' | 'POST', body: string | null): APIGatewayProxyEvent {
  const headers: Record<string, string> = { Host: '127.0.0.1:3000', 'User-Agent': 'curl/8.5.0', Accept: '*/*' };
  if (body !== null) headers['Content-Type'] = 'application/json';
  return {
    resource: '/mode',
    path: '/mode',
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {
      accountId: ACCOUNT,
      apiId: 'sampleapi1',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: method,
      identity: proxyIdentity('127.0.0.1', 'curl/8.5.0'),
      path: '/dev/mode',
      stage: 'dev',
      requestId: `sample-${method.toLowerCase()}-mode`,
      requestTimeEpoch: ARRIVAL_EPOCH_S * 1000,
      resourceId: 'sampleres1',
      resourcePath: '/mode',
    },
    body,
    isBase64Encoded: false,
  };
}

/** File name (under functions/events/) → JSON text. */
export function sampleEvents(): Record<string, string> {
  const files: Record<string, unknown> = {
    'kinesis-batch.json': kinesisBatchEvent(),
    'mode-post-live.json': restEvent('POST', JSON.stringify({ mode: 'live' })),
    'mode-post-historical.json': restEvent('POST', JSON.stringify({ mode: 'historical' })),
    'mode-get.json': restEvent('GET', null),
  };
  return Object.fromEntries(Object.entries(files).map(([name, event]) => [name, JSON.stringify(event, null, 2) + '\n']));
}

function isMainModule(): boolean {
  const entry = process.argv[1];
  return entry !== undefined && import.meta.url === pathToFileURL(resolve(entry)).href;
}

if (isMainModule()) {
  const dir = fileURLToPath(new URL('.', import.meta.url));
  for (const [name, text] of Object.entries(sampleEvents())) {
    writeFileSync(resolve(dir, name), text);
    console.log(`wrote ${resolve(dir, name)}`);
  }
}
