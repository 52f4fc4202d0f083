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
 */
export interface BatchLines {
  midLines: readonly string[];
  errorLines: readonly string[];
  deadLetterLines: readonly string[];
}

export interface AppendResult {
  /** What was rolled back because an earlier writer died (or failed) half-way through its batch. */
  recovered: string[];
}

export interface OutputSink {
  /** Where the lines go, for messages (`output directory /tmp/out`). */
  readonly description: string;
  append(batch: BatchLines): Promise<AppendResult>;
}
