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
import { createAwsClients, type AwsClients } from '../lib/aws/clients.ts';
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

/** Creates a 4-shard stream for a floor measurement and waits until it is active. */
export async function createFloorStream(kinesis: AwsClients['kinesis'], streamName: string): Promise<void> {
  await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: 4 }));
  for (;;) {
    const { StreamDescriptionSummary: s } = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    if (s?.StreamStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface PutLoopResult {
  /** Records put (not throttled). */
  put: number;
  calls: number;
  seconds: number;
}

/**
 * Puts `total` records cycled from `sample`, `perCall` per PutRecords (fewer when `maxCallBytes`
 * would be passed), `inFlight` calls at once, and nothing else.
 */
export async function putCycled(
  kinesis: AwsClients['kinesis'],
  streamName: string,
  sample: readonly PutRecordsRequestEntry[],
  total: number,
  { inFlight = 4, perCall = 500, maxCallBytes = Infinity }: { inFlight?: number; perCall?: number; maxCallBytes?: number } = {},
): Promise<PutLoopResult> {
  let calls = 0;
  let put = 0;
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < total) {
      const batch: PutRecordsRequestEntry[] = [];
      let bytes = 0;
      while (next < total && batch.length < perCall) {
        const record = sample[next % sample.length] as PutRecordsRequestEntry;
        const size = (record.Data?.byteLength ?? 0) + (record.PartitionKey?.length ?? 0);
        if (batch.length > 0 && bytes + size > maxCallBytes) break;
        batch.push(record);
        bytes += size;
        next++;
      }
      const out = await kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: batch }));
      calls++;
      // A throttled entry is not capacity: it is counted as not put (kinesalite does not throttle).
      put += batch.length - (out.FailedRecordCount ?? 0);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { put, calls, seconds: (performance.now() - started) / 1000 };
}

export async function measurePutRecordsFloor(endpointUrl: string, options: PutRecordsFloorOptions): Promise<PutRecordsFloor> {
  const { sample, records: total, getLimit, inFlight = 4, perCall = 500 } = options;
  const recordBytes = Math.round(sample.reduce((n, r) => n + (r.Data?.byteLength ?? 0), 0) / sample.length);
  const clients = createAwsClients({ endpointUrl, region: 'us-east-1' });
  const streamName = 'bench-putrecords-floor';
  try {
    await createFloorStream(clients.kinesis, streamName);
    const { put, calls, seconds } = await putCycled(clients.kinesis, streamName, sample, total, { inFlight, perCall });

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
 * Several measurements of the floor as one: the best sample. The bench measures each floor at
 * least three times, interleaved with the pipeline variants, so that a ratio compares the code
 * with the floor at the machine's best rather than with whatever load one sample met (this
 * machine is shared); the samples are kept in the JSON.
 */
export function bestFloor(samples: readonly PutRecordsFloor[]): PutRecordsFloor & { samples: number[] } {
  const best = samples.reduce<PutRecordsFloor | undefined>((b, f) => (b === undefined || f.recordsPerSec > b.recordsPerSec ? f : b), undefined);
  if (best === undefined) throw new Error('bestFloor: no samples');
  const bestOf = (pick: (f: PutRecordsFloor) => number): number => Math.max(...samples.map(pick));
  return {
    ...best,
    get: { ...best.get, recordsPerSec: bestOf((f) => f.get.recordsPerSec) },
    putThenGetRecordsPerSec: bestOf((f) => f.putThenGetRecordsPerSec),
    samples: samples.map((f) => f.recordsPerSec),
  };
}
