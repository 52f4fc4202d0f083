/**
 * Raw PutRecords capacity of the embedded Kinesis: 500 small records per call, 4 calls in flight,
 * for a fixed time, through the edge endpoint — no producer logic, no consumer.
 *
 * Then, on the same stream, the raw GetRecords capacity: every record just put read back, the
 * 4 shards in parallel, `getLimit` records per call (the pipeline's batch size). Without
 * aggregation each quote costs the one emulator process a put *and* a get, so
 * records / (put seconds + get seconds) is the most the unaggregated pipeline could reach on this
 * emulator: reported next to the PutRecords floor, which the benchmark's target is defined on.
 */
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { createAwsClients } from '../lib/aws/clients.ts';

export interface PutRecordsFloor {
  records: number;
  calls: number;
  seconds: number;
  recordsPerSec: number;
  /** Reading the same records back: GetRecords capacity, and put + get of each record. */
  get: { records: number; calls: number; seconds: number; recordsPerSec: number; limit: number };
  putThenGetRecordsPerSec: number;
}

export async function measurePutRecordsFloor(endpointUrl: string, getLimit: number, durationMs = 4_000, inFlight = 4, perCall = 500): Promise<PutRecordsFloor> {
  const clients = createAwsClients({ endpointUrl, region: 'us-east-1' });
  const streamName = 'bench-putrecords-floor';
  try {
    await clients.kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: 4 }));
    for (;;) {
      const { StreamDescriptionSummary: s } = await clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
      if (s?.StreamStatus === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const tickers = ['AAPL', 'MSFT', 'GOOG', 'AMZN'];
    // ≈ the size of a real quote record.
    const data = Buffer.from(JSON.stringify({ v: 1, ticker: 'AAPL', timestamp: '2025-01-02T14:30:00.000Z', bid: '243.12', ask: '243.14', latencyMs: 12, pad: 'x'.repeat(150) }));
    const records = Array.from({ length: perCall }, (_, i) => ({ PartitionKey: tickers[i % 4], Data: data }));
    let calls = 0;
    let put = 0;
    const started = performance.now();
    const deadline = started + durationMs;
    const worker = async (): Promise<void> => {
      while (performance.now() < deadline) {
        const out = await clients.kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: records }));
        calls++;
        put += perCall - (out.FailedRecordCount ?? 0);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const seconds = (performance.now() - started) / 1000;

    const shards = (await clients.kinesis.send(new ListShardsCommand({ StreamName: streamName }))).Shards ?? [];
    let got = 0;
    let getCalls = 0;
    const getStarted = performance.now();
    await Promise.all(
      shards.map(async (shard) => {
        let iterator = (
          await clients.kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))
        ).ShardIterator;
        while (iterator !== undefined) {
          const out = await clients.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: getLimit }));
          getCalls++;
          const n = out.Records?.length ?? 0;
          got += n;
          // An empty page at the tip: everything put has been read.
          iterator = n === 0 ? undefined : out.NextShardIterator;
        }
      }),
    );
    const getSeconds = (performance.now() - getStarted) / 1000;
    return {
      records: put,
      calls,
      seconds,
      recordsPerSec: Math.round(put / seconds),
      get: { records: got, calls: getCalls, seconds: getSeconds, recordsPerSec: Math.round(got / getSeconds), limit: getLimit },
      putThenGetRecordsPerSec: Math.round(Math.min(put, got) / (seconds + getSeconds)),
    };
  } finally {
    clients.destroy();
  }
}
