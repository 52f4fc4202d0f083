/**
 * A shard's checkpoint, written only when it must be (`trailingCheckpoints`, file output): the
 * checkpoints of the batches the handler finished are owed, and one write covers them all (the
 * last record's sequence number). At speed 1 a batch is a few records every ~20 ms per shard, and
 * a write per batch cost as many DynamoDB calls as GetRecords (~0.7 ms CPU here and as much in the
 * emulator, each).
 *
 * The takeover bound stays `maxRecords` (the batch size) records per shard: records the handler
 * finished that are not checkpointed (owed, or in a write not landed) plus the batch being invoked
 * never exceed it (`beforeBatch` writes and waits first when they would), so a worker that dies
 * leaves at most that many records written and not checkpointed, all inside the first batch the
 * next owner reads after the checkpoint (which is what it logs as the bound). The write starts
 * once half the bound is owed, so the other half is left for the batches invoked while it is in
 * flight: at a paced rate no invocation waits for a write. Full batches (a backlog) are
 * checkpointed before the next one is invoked, as Lambda does; with a bound of 0 every batch is.
 * The caller also `flush`es what is owed when the next page is already in hand (a backlog: the
 * write overlaps the next invocation, as holding it back would only make a later batch wait for
 * it), when the shard goes quiet, and before it stops. One write is under way at a time, so
 * checkpoints land in order.
 */
type Outcome = { failed: false } | { failed: true; error: unknown };

/** Writes the checkpoint after the last finished record; `records` is how many it covers. */
export type CheckpointWrite = (records: number) => Promise<void>;

export class TrailingCheckpoint {
  private inFlight: { done: Promise<Outcome>; records: number } | undefined;
  private owed: { records: number; write: CheckpointWrite } | undefined;
  private readonly startAt: number;

  constructor(private readonly maxRecords: number) {
    this.startAt = Math.ceil(maxRecords / 2);
  }

  /** Whether finished records wait for a checkpoint write to be started. */
  owes(): boolean {
    return this.owed !== undefined;
  }

  /**
   * A batch of `records` succeeded: its checkpoint (`write`, covering what was owed before it) is
   * owed; the write starts once half the bound is owed. A failure of the write before is thrown here.
   */
  async finished(records: number, write: CheckpointWrite): Promise<void> {
    this.owed = { records: (this.owed?.records ?? 0) + records, write };
    if (this.owed.records >= this.startAt) await this.flush();
  }

  /** Before a batch of `records` is invoked: writes (and waits for) what it would otherwise take past the bound. */
  async beforeBatch(records: number): Promise<void> {
    if ((this.inFlight?.records ?? 0) + (this.owed?.records ?? 0) + records <= this.maxRecords) return;
    await this.settle();
    if ((this.owed?.records ?? 0) + records <= this.maxRecords) return;
    await this.flush();
    await this.settle();
  }

  /** Starts the write of what is owed once the write under way has landed (its failure is thrown here). */
  async flush(): Promise<void> {
    await this.settle();
    const owed = this.owed;
    if (owed === undefined) return;
    this.owed = undefined;
    this.inFlight = {
      records: owed.records,
      done: owed.write(owed.records).then(
        (): Outcome => ({ failed: false }),
        (error: unknown): Outcome => ({ failed: true, error }),
      ),
    };
  }

  /** Waits for the write under way, if any; rethrows its failure. */
  async settle(): Promise<void> {
    const writing = this.inFlight;
    if (writing === undefined) return;
    const outcome = await writing.done;
    if (this.inFlight === writing) this.inFlight = undefined;
    if (outcome.failed) throw outcome.error;
  }

  /** Writes everything owed and waits for it (before a resume, a shard's end, a handover). */
  async writeAll(): Promise<void> {
    await this.flush();
    await this.settle();
  }

  /** Waits for the write under way without throwing (on the way out: no request outlives a stop). */
  async drain(): Promise<void> {
    await this.inFlight?.done;
  }
}
