/**
 * Raw PutRecords capacity of the embedded Kinesis: 500 small records per call, 4 calls in flight,
 * for a fixed time, through the edge endpoint — no producer logic, no consumer.
 */
import { CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { createAwsClients } from '../lib/aws/clients.ts';

export interface PutRecordsFloor {
  records: number;
  calls: number;
  seconds: number;
  recordsPerSec: number;
}

export async function measurePutRecordsFloor(endpointUrl: string, durationMs = 4_000, inFlight = 4, perCall = 500): Promise<PutRecordsFloor> {
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
    return { records: put, calls, seconds, recordsPerSec: Math.round(put / seconds) };
  } finally {
    clients.destroy();
  }
}
