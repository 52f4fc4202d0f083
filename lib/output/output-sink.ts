/**
 * Where the mid-price handler's lines go: the port between the handler and its storage (the
 * output directory here, log-files.ts; an object store can be another). The handler reports a
 * batch as done — and the checkpoint that covers it advances — as soon as `append` resolves, so
 * every sink keeps this contract:
 *
 * - **durable on success**: `append` resolves only once the batch would survive a crash of the
 *   machine, not just of the process (files fdatasync'ed, an object store's acknowledged write);
 * - **all or nothing**: a batch is stored whole or not at all, also when the writer dies half-way
 *   (what a dead writer left is removed before anything else is appended);
 * - **failures are retryable**: it throws OutputError, and the same batch is retried later.
 *
 * The file sink makes a batch all or nothing with a journal; the S3 sink (s3-sink.ts) with keys a
 * retry reproduces: each batch's lines of each kind go to one object whose key is the batch's
 * shard and first record (s3-keys.ts), so a retry overwrites whatever a failed attempt stored and
 * the batch is whole once the retry succeeded.
 */
export interface BatchLines {
  midLines: readonly string[];
  errorLines: readonly string[];
  deadLetterLines: readonly string[];
}

/** Which batch the lines came from (the Kinesis event says): what the S3 sink's keys are made of. */
export interface BatchIdentity {
  shardId: string;
  /** Kinesis sequence number of the batch's first record. */
  firstSequence: string;
  /** Kinesis sequence number of the batch's last record. */
  lastSequence: string;
}

export interface AppendResult {
  /** What was rolled back because an earlier writer died (or failed) half-way through its batch. */
  recovered: string[];
}

export interface OutputSink {
  /** Where the lines go, for messages (`output directory /tmp/out`). */
  readonly description: string;
  append(batch: BatchLines, identity: BatchIdentity): Promise<AppendResult>;
}

/** The identity of a Lambda Kinesis batch: the shard from the first record's `eventID` (`shardId-…:<sequence>`). */
export function batchIdentityOf(records: ReadonlyArray<{ eventID: string; kinesis: { sequenceNumber: string } }>): BatchIdentity | undefined {
  const first = records[0];
  const last = records[records.length - 1];
  if (first === undefined || last === undefined) return undefined;
  const colon = first.eventID.lastIndexOf(':');
  return { shardId: colon > 0 ? first.eventID.slice(0, colon) : first.eventID, firstSequence: first.kinesis.sequenceNumber, lastSequence: last.kinesis.sequenceNumber };
}
