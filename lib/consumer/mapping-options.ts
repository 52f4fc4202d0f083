/**
 * The local event source mapping's options and its public types (event-source-mapping.ts).
 */
import type { KinesisClient, _Record as KinesisRecord } from '@aws-sdk/client-kinesis';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import type { Logger } from '../logging/logger.ts';
import type { BackoffPolicy } from '../time/backoff.ts';
import type { Clock } from '../time/clock.ts';
import type { LeaseTable } from './lease-table.ts';

export type BatchInvoker = (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse | void | undefined>;

/**
 * Where a shard without a checkpoint starts: Lambda's TRIM_HORIZON or LATEST, or FLOOR (a one-shot
 * run: wait until the lease has a floor, the first sequence number the run put on the shard).
 */
export type StartingPosition = 'TRIM_HORIZON' | 'LATEST' | 'FLOOR';

export interface EventSourceMappingOptions {
  kinesis: Pick<KinesisClient, 'send'>;
  /** The consumer application's leases (and checkpoints). */
  leases: LeaseTable;
  /** This worker's identity in the leases (unique per process). */
  workerId: string;
  /** A lease whose counter has not moved for this long is taken over (default 5 s). */
  leaseDurationMs?: number;
  /** How often the shards are listed again to find those a reshard opened (default 10 s). */
  shardSyncMs?: number;
  streamName: string;
  streamArn: string;
  region: string;
  functionArn?: string;
  invoke: BatchInvoker;
  batchSize: number;
  /**
   * Lambda event filtering (FilterCriteria): records that do not match never reach the handler
   * and count as processed, so the checkpoint moves past them.
   */
  filter?: (record: KinesisRecord) => boolean;
  startingPosition: StartingPosition;
  /**
   * The longest pause after an empty GetRecords (default 200 ms; Lambda polls an idle shard about
   * once a second). A shard that returned records is polled again at once; one that comes up
   * empty waits IDLE_FIRST_MS for the first IDLE_SHORT_POLLS empty polls in a row, then twice as
   * long after each further one, up to this (also
   * while the handler works on the page before): a record put on an idle shard is read at most
   * this long after it landed, and one put while records flow within about a GetRecords round trip.
   * A producer in the same process cuts the pause short (`recordsPut`); this bound is for every
   * other writer.
   */
  idlePollMs?: number;
  /**
   * A producer in this process announces every record it puts (`recordsPut`: `up`, `run` and the
   * demo with their in-process consumer). A shard at the tip of the stream then waits for that
   * wake, idlePollMs at the most, instead of polling after 10, 20, 40 … ms: an empty GetRecords
   * costs about 0.7 ms of CPU in this process and as much in the emulator, and at a paced rate
   * most polls come back empty. Records other writers put are read within idlePollMs. Default false.
   */
  wokenOnPut?: boolean;
  /**
   * Write a small batch's checkpoint while the next batch is invoked (TrailingCheckpoint; default
   * false: each invocation waits for the checkpoint before it, as Lambda's). The takeover bound
   * stays `batchSize` records, but those may then span two batches: only for a sink whose
   * duplicates are lines within that bound (files), not one that replaces a retried batch's output
   * by its first record (S3 objects), where the second batch's output would be left beside it.
   */
  trailingCheckpoints?: boolean;
  /**
   * With trailingCheckpoints: a shard with no batch for this long writes the checkpoint it owes
   * (default 200 ms, as idlePollMs): a quiet stream's checkpoints are current within it, while a
   * paced shard (a put every ~10 ms linger, 50–150 ms gaps at a mode switch) keeps its writes
   * batched. `checkpointPromptly` ends the wait for a drain.
   */
  checkpointIdleMs?: number;
  backoff?: BackoffPolicy;
  random?: () => number;
  clock?: Clock;
  logger?: Logger;
}

export interface MappingStats {
  invocations: number;
  /** Records the handler processed successfully, counted as each invocation returns (its checkpoint may follow later). */
  records: number;
  failedInvocations: number;
  retriedRecords: number;
}
