/**
 * A shard's checkpoint write, trailing its invocations: the checkpoint of a batch the handler
 * finished is written while the next batch is invoked, instead of in front of it (a DynamoDB
 * round trip less on the way of every record at speed 1, where a batch is a few records).
 *
 * The takeover bound stays one batch: a batch may overlap the write under way only when the two
 * together are at most `maxRecords` (the batch size) records, so a worker that dies leaves at most
 * that many records written and not checkpointed, all of them inside the first batch the next
 * owner reads after the checkpoint (which is what it logs as the bound). Full batches (a backlog)
 * never overlap: they are checkpointed before the next one is invoked, as Lambda does. One write
 * is under way at a time, so checkpoints land in order.
 */
type Outcome = { failed: false } | { failed: true; error: unknown };

export class TrailingCheckpoint {
  private inFlight: { done: Promise<Outcome>; records: number } | undefined;

  constructor(private readonly maxRecords: number) {}

  /** Whether a batch of `records` may be invoked before the write under way has landed. */
  mayOverlap(records: number): boolean {
    return this.inFlight === undefined || this.inFlight.records + records <= this.maxRecords;
  }

  /** Waits for the write under way, if any; rethrows its failure. */
  async settle(): Promise<void> {
    const writing = this.inFlight;
    if (writing === undefined) return;
    const outcome = await writing.done;
    if (this.inFlight === writing) this.inFlight = undefined;
    if (outcome.failed) throw outcome.error;
  }

  /** Starts the checkpoint of a batch of `records` once the write before it has landed (its failure is thrown here). */
  async start(records: number, write: () => Promise<void>): Promise<void> {
    await this.settle();
    this.inFlight = {
      records,
      done: write().then(
        (): Outcome => ({ failed: false }),
        (error: unknown): Outcome => ({ failed: true, error }),
      ),
    };
  }

  /** Waits for the write under way without throwing (on the way out: no request outlives a stop). */
  async drain(): Promise<void> {
    await this.inFlight?.done;
  }
}
