/**
 * The plausibility bound on timestamp disorder (`--max-disorder`, default 60 s), applied row by
 * row in file order before anything is buffered.
 *
 * - A row whose timestamp lies more than the bound behind the latest accepted timestamp is
 *   rejected: it cannot widen the reorder window (one row dated 1700 used to make it centuries
 *   wide, buffering the whole file).
 * - A row more than the bound *ahead* (a jump) is held until the next row: if that row is also
 *   ahead of the old window, time really moved on (a gap in the data) and the held row is
 *   accepted; if it is back in the old window, the held row was an outlier (a row dated 2250)
 *   and is rejected. The first row of a file is held the same way, so an outlier there is caught
 *   too. A held row at the end of the file has no next row: it is accepted when at most
 *   MAX_UNCONFIRMED_JUMP_US ahead, rejected beyond.
 *
 * Decisions depend only on the rows before (and one after), so the scan pass and the replay pass
 * make the same ones, and a resume restores them by starting from the latest accepted timestamp
 * before the resume row (`offer` returns it for each row).
 */
import { formatIsoTimestamp } from '../quotes/timestamp.ts';

export const DEFAULT_MAX_DISORDER_US = 60_000_000;
/** A last row this far ahead of the rest is kept although nothing confirms it; beyond, rejected. */
export const MAX_UNCONFIRMED_JUMP_US = 86_400_000_000;

export interface GateRow {
  timestampUs: number;
}

export type GateDecision<T> = (row: T, rejected: string | undefined) => void;

/** `90 s`, `12.5 min`, `3.2 h`, `4.1 days`, `325 years`: a duration for a message. */
export function describeDuration(us: number): string {
  const s = us / 1e6;
  const round = (x: number): string => String(Math.round(x * 10) / 10);
  if (s < 120) return `${round(s)} s`;
  if (s < 7_200) return `${round(s / 60)} min`;
  if (s < 172_800) return `${round(s / 3_600)} h`;
  if (s < 63_072_000) return `${round(s / 86_400)} days`;
  return `${round(s / 31_557_600)} years`;
}

export class DisorderGate<T extends GateRow> {
  private maxUs: number;
  private held: T | undefined;

  /** `startMaxUs`: the latest accepted timestamp before the first row offered (a resume). */
  constructor(
    private readonly maxDisorderUs: number,
    private readonly decide: GateDecision<T>,
    startMaxUs = -Infinity,
  ) {
    this.maxUs = startMaxUs;
  }

  /** The latest accepted timestamp (−Infinity before any). */
  get latestUs(): number {
    return this.maxUs;
  }

  /**
   * Offers the next row in file order; decisions come through `decide`, in file order, now or at
   * the next offer. Returns the latest accepted timestamp before this row (for resume points).
   */
  offer(row: T): number {
    const ts = row.timestampUs;
    const held = this.held;
    if (held !== undefined) {
      this.held = undefined;
      if (ts >= held.timestampUs - this.maxDisorderUs) this.accept(held);
      else this.decide(held, this.outlierReason(held, ts));
    }
    const maxBefore = this.maxUs;
    if (ts > this.maxUs + this.maxDisorderUs) {
      this.held = row; // the first row, or a jump: the next row decides
    } else if (ts < this.maxUs - this.maxDisorderUs) {
      this.decide(row, this.behindReason(ts));
    } else {
      this.accept(row);
    }
    return maxBefore;
  }

  /** End of input: decides a row still held. */
  finish(): void {
    const held = this.held;
    if (held === undefined) return;
    this.held = undefined;
    if (this.maxUs === -Infinity || held.timestampUs - this.maxUs <= MAX_UNCONFIRMED_JUMP_US) this.accept(held);
    else {
      this.decide(
        held,
        `timestamp ${formatIsoTimestamp(held.timestampUs, 3)} is ${describeDuration(held.timestampUs - this.maxUs)} after the row before it and is the last row: ` +
          `an outlier (a last row more than ${describeDuration(MAX_UNCONFIRMED_JUMP_US)} ahead is not replayed unconfirmed)`,
      );
    }
  }

  private accept(row: T): void {
    if (row.timestampUs > this.maxUs) this.maxUs = row.timestampUs;
    this.decide(row, undefined);
  }

  private behindReason(ts: number): string {
    return (
      `timestamp ${formatIsoTimestamp(ts, 3)} is ${describeDuration(this.maxUs - ts)} behind the latest before it ` +
      `(more than --max-disorder ${describeDuration(this.maxDisorderUs)})`
    );
  }

  private outlierReason(held: T, nextUs: number): string {
    const ahead = this.maxUs === -Infinity ? `the row after it` : `the rows around it`;
    return (
      `timestamp ${formatIsoTimestamp(held.timestampUs, 3)} is ${describeDuration(held.timestampUs - nextUs)} ahead of ${ahead} ` +
      `(more than --max-disorder ${describeDuration(this.maxDisorderUs)}): an outlier`
    );
  }
}
