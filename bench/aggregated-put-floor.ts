/**
 * The aggregated PutRecords floor: the run's own records packed into KPL aggregated records as
 * the producer packs them when its buffer is full (one partition key per aggregate, up to
 * DEFAULT_AGGREGATED_RECORDS quotes or DEFAULT_AGGREGATED_BYTES each, requests of up to 500
 * records and 5 MiB), put 4 calls at a time into a fresh 4-shard stream, and nothing else: no
 * producer logic, no consumer. Quotes/s = the quotes those aggregates carry / seconds.
 */
import type { PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { DEFAULT_AGGREGATED_BYTES, DEFAULT_AGGREGATED_RECORDS, MAX_BYTES_PER_REQUEST } from '../lib/aws/producer.ts';
import { createAwsClients } from '../lib/aws/clients.ts';
import { aggregatedSizeBound, encodeAggregated, type UserRecord } from '../lib/records/kpl-format.ts';
import { createFloorStream, putCycled } from './putrecords-floor.ts';

export interface AggregatedPutFloor {
  quotes: number;
  records: number;
  seconds: number;
  quotesPerSec: number;
  /** Mean quotes per aggregated record. */
  quotesPerRecord: number;
}

interface Group {
  key: string;
  entries: UserRecord[];
  bytes: number;
}

/** `sample` (quote records, in send order) packed per partition key, each aggregate as full as the producer fills one. */
export function aggregateSample(sample: readonly PutRecordsRequestEntry[]): Array<{ entry: PutRecordsRequestEntry; quotes: number }> {
  const closed: Group[] = [];
  const open = new Map<string, Group>();
  for (const record of sample) {
    const key = record.PartitionKey ?? '';
    const data = record.Data ?? new Uint8Array();
    const size = data.byteLength + Buffer.byteLength(key, 'utf8');
    let group = open.get(key);
    if (group !== undefined && (group.entries.length >= DEFAULT_AGGREGATED_RECORDS || aggregatedSizeBound(group.entries.length + 1, group.bytes + size) > DEFAULT_AGGREGATED_BYTES)) {
      closed.push(group);
      group = undefined;
    }
    if (group === undefined) {
      group = { key, entries: [], bytes: 0 };
      open.set(key, group);
    }
    group.entries.push({ partitionKey: key, data });
    group.bytes += size;
  }
  closed.push(...open.values());
  return closed.map((g) => ({ entry: { PartitionKey: g.key, Data: encodeAggregated(g.entries) }, quotes: g.entries.length }));
}

/** Puts aggregates carrying at least `quotes` quotes (cycled from `aggregates`). */
export async function measureAggregatedPutFloor(
  endpointUrl: string,
  aggregates: ReadonlyArray<{ entry: PutRecordsRequestEntry; quotes: number }>,
  quotes: number,
): Promise<AggregatedPutFloor> {
  const perRecord = aggregates.reduce((n, a) => n + a.quotes, 0) / aggregates.length;
  const records = Math.ceil(quotes / perRecord);
  const clients = createAwsClients({ endpointUrl, region: 'us-east-1' });
  const streamName = 'bench-aggregated-put-floor';
  try {
    await createFloorStream(clients.kinesis, streamName);
    const sample = aggregates.map((a) => a.entry);
    const { put, seconds } = await putCycled(clients.kinesis, streamName, sample, records, { maxCallBytes: MAX_BYTES_PER_REQUEST });
    let carried = 0;
    for (let i = 0; i < put; i++) carried += (aggregates[i % aggregates.length] as { quotes: number }).quotes;
    return { quotes: carried, records: put, seconds, quotesPerSec: Math.round(carried / seconds), quotesPerRecord: Math.round(perRecord * 10) / 10 };
  } finally {
    clients.destroy();
  }
}
