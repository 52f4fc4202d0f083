/**
 * Builds the `KinesisStreamEvent` Lambda would deliver for a batch of GetRecords results, so the
 * handler cannot tell the local event source mapping from the real one.
 */
import type { _Record as KinesisRecord } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';

export interface EventContext {
  streamArn: string;
  shardId: string;
  region: string;
  functionArn: string;
}

export function toKinesisStreamRecord(record: KinesisRecord, ctx: EventContext): KinesisStreamRecord {
  const sequenceNumber = record.SequenceNumber ?? '';
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: record.PartitionKey ?? '',
      sequenceNumber,
      data: Buffer.from(record.Data ?? new Uint8Array()).toString('base64'),
      approximateArrivalTimestamp: (record.ApproximateArrivalTimestamp?.getTime() ?? Date.now()) / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${ctx.shardId}:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: ctx.functionArn,
    awsRegion: ctx.region,
    eventSourceARN: ctx.streamArn,
  };
}

export function toKinesisStreamEvent(records: readonly KinesisRecord[], ctx: EventContext): KinesisStreamEvent {
  return { Records: records.map((r) => toKinesisStreamRecord(r, ctx)) };
}
