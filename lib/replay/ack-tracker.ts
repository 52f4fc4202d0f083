/**
 * Which historical quotes Kinesis has acknowledged, in a form that survives a restart.
 *
 * Quotes are emitted in (arrival, seq) order but acknowledged out of order (several shards in
 * flight). The durable position is therefore:
 *   - `ackedThrough`: every quote whose key (arrival, seq) is <= this key is acknowledged;
 *   - `ackedBeyond`: the few acknowledged quotes after it (at most what was in flight);
 *   - `resumeAt`: the earliest row of the file (by position) not known to be acknowledged — where
 *     a resumed replay starts reading, instead of the top of the file.
 * A resumed replay drops rows with a key <= ackedThrough and the seqs in ackedBeyond, and emits
 * everything else again in the same order: nothing acknowledged is sent twice, nothing is lost.
 */
export interface QuoteKey {
  arrivalUs: number;
  /** Nanoseconds of the arrival within its µs (ns inputs); absent means 0. */
  arrivalNanos?: number;
  seq: number;
}

/** Where a row starts in the file: enough to resume reading there. */
export interface RowPosition {
  seq: number;
  offset: number;
  line: number;
  /** The latest timestamp the plausibility gate had accepted before this row (µs); absent: none. */
  maxBeforeUs?: number;
}

export interface HistoricalPosition {
  ackedThrough?: QuoteKey;
  ackedBeyond: number[];
  /** Absent when nothing remains to be read (with `completed`) or nothing was read yet. */
  resumeAt?: RowPosition;
  /** Quotes acknowledged so far, all sessions included (progress). */
  done: number;
  /**
   * Quotes emitted but not acknowledged when this position was taken: a resume sends them again,
   * so after a crash at most this many can reach the stream twice.
   */
  unacknowledged?: number;
  /** Every valid row of the file was acknowledged. */
  completed: boolean;
}

export const START_POSITION: HistoricalPosition = { ackedBeyond: [], done: 0, completed: false };

export function compareKeys(a: QuoteKey, b: QuoteKey): number {
  return a.arrivalUs - b.arrivalUs || (a.arrivalNanos ?? 0) - (b.arrivalNanos ?? 0) || a.seq - b.seq;
}

interface Entry extends RowPosition {
  arrivalUs: number;
  arrivalNanos: number;
  acked: boolean;
}

/** A row position without the entry's other fields (what a checkpoint stores). */
function rowPosition(entry: Entry): RowPosition {
  const at: RowPosition = { seq: entry.seq, offset: entry.offset, line: entry.line };
  if (entry.maxBeforeUs !== undefined) at.maxBeforeUs = entry.maxBeforeUs;
  return at;
}

export class AckTracker {
  /** Emitted, not yet folded into `ackedThrough`, in emission order (head at `head`). */
  private entries: Entry[] = [];
  private head = 0;
  private readonly bySeq = new Map<number, Entry>();
  /** The key folded before this tracker's first entry (the start position's). */
  private readonly startAckedThrough: QuoteKey | undefined;
  /** The last entry folded into `ackedThrough`; its key is made only when a position is asked for (not per quote). */
  private lastFolded: Entry | undefined;
  private done: number;

  constructor(start: HistoricalPosition = START_POSITION) {
    this.startAckedThrough = start.ackedThrough;
    this.done = start.done;
  }

  /** A quote handed to the producer (or, with `acked`, one skipped because it was acknowledged before). */
  emitted(key: QuoteKey, row: RowPosition, acked = false): void {
    const entry: Entry = { seq: row.seq, offset: row.offset, line: row.line, maxBeforeUs: row.maxBeforeUs, arrivalUs: key.arrivalUs, arrivalNanos: key.arrivalNanos ?? 0, acked };
    this.entries.push(entry);
    if (!acked) this.bySeq.set(row.seq, entry);
    this.advance();
  }

  acknowledged(seq: number): void {
    const entry = this.bySeq.get(seq);
    // Unknown: a duplicate acknowledgement, or one from before a resume; nothing to do.
    if (entry === undefined) return;
    this.bySeq.delete(seq);
    entry.acked = true;
    this.done++;
    this.advance();
  }

  /** Quotes emitted and not acknowledged yet. */
  get unacknowledged(): number {
    return this.bySeq.size;
  }

  get acknowledgedCount(): number {
    return this.done;
  }

  private advance(): void {
    while (this.head < this.entries.length && (this.entries[this.head] as Entry).acked) {
      this.lastFolded = this.entries[this.head];
      this.head++;
    }
    // Compact now and then so the array does not grow with the file.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * The durable position. `pending` is the earliest row read but not emitted yet (in the reorder
   * buffer), or, when the buffer is empty, the next row to read; undefined when the file is
   * exhausted.
   */
  /** Every quote whose key is <= this one is acknowledged. */
  private get ackedThrough(): QuoteKey | undefined {
    const entry = this.lastFolded;
    if (entry === undefined) return this.startAckedThrough;
    return entry.arrivalNanos === 0 ? { arrivalUs: entry.arrivalUs, seq: entry.seq } : { arrivalUs: entry.arrivalUs, arrivalNanos: entry.arrivalNanos, seq: entry.seq };
  }

  position(pending: RowPosition | undefined, completed: boolean): HistoricalPosition {
    let resumeAt = pending;
    const ackedBeyond: number[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i] as Entry;
      if (entry.acked) ackedBeyond.push(entry.seq);
      else if (resumeAt === undefined || entry.seq < resumeAt.seq) resumeAt = rowPosition(entry);
    }
    return {
      ackedThrough: this.ackedThrough,
      ackedBeyond,
      resumeAt,
      done: this.done,
      unacknowledged: this.bySeq.size,
      completed: completed && this.bySeq.size === 0,
    };
  }
}
