/**
 * Raw PutRecords capacity of the embedded Kinesis on the benchmark's own data: the same number of
 * records as the pipeline variants put, each one the bytes the producer sends for a quote of the
 * run's CSV (`encodeQuote` with a run id, partition key = ticker), 500 per call, 4 calls in flight,
 * through the edge endpoint — no producer logic, no consumer.
 *
 * Why the same data and the same count: an earlier version put a fixed 190-byte record for 4 s.
 * Real records are about 300 bytes, and over 4 s the emulator is still warming up (the same
 * emulator put 13–15 k records/s over 4 s, 18 k over 12 s), so the floor swung ±20 % between runs
 * and did not describe the work the pipeline asks of the emulator. Records are cycled from the
 * first `SAMPLE` quotes of the CSV so that the client's own work stays negligible.
 *
 * Then, on the same stream, the raw GetRecords capacity: every record just put read back, the
 * 4 shards in parallel, `getLimit` records per call (the pipeline's batch size). Without
 * aggregation each quote costs the one emulator process a put *and* a get, so
 * records / (put seconds + get seconds) is the most the unaggregated pipeline could reach on this
 * emulator: reported next to the PutRecords floor, which the benchmark's target is defined on.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  PutRecordsCommand,
  type PutRecordsRequestEntry,
} from '@aws-sdk/client-kinesis';
import { createAwsClients } from '../lib/aws/clients.ts';
import { encodeQuote } from '../lib/records/quote-record.ts';
import { HistoricalSource, scanCsv } from '../lib/replay/historical-source.ts';

export interface PutRecordsFloor {
  records: number;
  calls: number;
  seconds: number;
  recordsPerSec: number;
  /** Mean bytes of one record's data (what the pipeline's records weigh too). */
  recordBytes: number;
  /** Reading the same records back: GetRecords capacity, and put + get of each record. */
  get: { records: number; calls: number; seconds: number; recordsPerSec: number; limit: number };
  putThenGetRecordsPerSec: number;
}

export interface PutRecordsFloorOptions {
  /** The records to put, cycled (`sampleRecords` of the benchmark's CSV). */
  sample: readonly PutRecordsRequestEntry[];
  /** How many records to put (the pipeline variants' quote count). */
  records: number;
  /** GetRecords `Limit` when reading back (the pipeline's batch size). */
  getLimit: number;
  inFlight?: number;
  perCall?: number;
}

/** Distinct records cycled through; enough for realistic sizes and keys, small enough to hold. */
const SAMPLE = 10_000;

/**
 * The first quotes of `csv` (up to `SAMPLE`, no more than the `records` to be put) as the producer
 * sends them. Built once per benchmark and shared by every floor measurement: it scans the whole
 * file first (fingerprint and disorder bound).
 */
export async function sampleRecords(csv: string, records: number): Promise<PutRecordsRequestEntry[]> {
  const count = Math.min(SAMPLE, records);
  const run = randomUUID();
  const out: PutRecordsRequestEntry[] = [];
  for await (const quote of new HistoricalSource(await scanCsv(csv))) {
    out.push({ PartitionKey: quote.ticker, Data: encodeQuote(quote, { run }) });
    if (out.length >= count) break;
  }
  if (out.length === 0) throw new Error(`${csv}: no quotes to put`);
  return out;
}

export async function measurePutRecordsFloor(endpointUrl: string, options: PutRecordsFloorOptions): Promise<PutRecordsFloor> {
  const { sample, records: total, getLimit, inFlight = 4, perCall = 500 } = options;
  const recordBytes = Math.round(sample.reduce((n, r) => n + (r.Data?.byteLength ?? 0), 0) / sample.length);
  const clients = createAwsClients({ endpointUrl, region: 'us-east-1' });
  const streamName = 'bench-putrecords-floor';
  try {
    await clients.kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: 4 }));
    for (;;) {
      const { StreamDescriptionSummary: s } = await clients.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
      if (s?.StreamStatus === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    let calls = 0;
    let put = 0;
    let next = 0;
    const started = performance.now();
    const worker = async (): Promise<void> => {
      while (next < total) {
        const n = Math.min(perCall, total - next);
        const batch = Array.from({ length: n }, (_, i) => sample[(next + i) % sample.length] as PutRecordsRequestEntry);
        next += n;
        const out = await clients.kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: batch }));
        calls++;
        // A throttled entry is not capacity: it is counted as not put (kinesalite does not throttle).
        put += n - (out.FailedRecordCount ?? 0);
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
      recordBytes,
      get: { records: got, calls: getCalls, seconds: getSeconds, recordsPerSec: Math.round(got / getSeconds), limit: getLimit },
      putThenGetRecordsPerSec: Math.round(Math.min(put, got) / (seconds + getSeconds)),
    };
  } finally {
    clients.destroy();
  }
}

/**
 * Several measurements of the floor as one: the mean of each rate. The bench measures it before
 * and after the pipeline variants, so that load which comes or goes during the run (this machine
 * is shared) weighs on the floor as it does on the variants, and one unlucky sample does not
 * decide the ratio alone.
 */
export function meanFloor(samples: readonly PutRecordsFloor[]): PutRecordsFloor & { samples: number[] } {
  const first = samples[0];
  if (first === undefined) throw new Error('meanFloor: no samples');
  const mean = (pick: (f: PutRecordsFloor) => number): number => Math.round(samples.reduce((n, f) => n + pick(f), 0) / samples.length);
  return {
    ...first,
    recordsPerSec: mean((f) => f.recordsPerSec),
    get: { ...first.get, recordsPerSec: mean((f) => f.get.recordsPerSec) },
    putThenGetRecordsPerSec: mean((f) => f.putThenGetRecordsPerSec),
    samples: samples.map((f) => f.recordsPerSec),
  };
}
