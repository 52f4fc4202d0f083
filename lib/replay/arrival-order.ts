/**
 * Effective-arrival ordering with bounded memory.
 *
 * Rows come in file order (seq ascending). Each has a timestamp and an effective arrival
 * (timestamp + latency, latency >= 0). They must leave in (arrival, seq) order: equal arrivals
 * keep file order.
 *
 * The rule. Let D (`disorderUs`) bound how far any row's timestamp can lie below the timestamp of
 * an earlier row (D = 0 when the input is sorted by timestamp; `DisorderMeter` measures it in a
 * pre-scan). After rows up to seq s have been pushed, let M = the largest timestamp seen and
 * W = M − D (the watermark). For every row r still to come:
 *
 *     arrival(r) >= timestamp(r) >= M − D = W
 *
 * (the first inequality because latency >= 0, the second by the definition of D, since M is the
 * timestamp of a row before r). So a buffered item with arrival < W precedes every future row,
 * and one with arrival = W ties at most with future rows, which all have a higher seq, so it
 * precedes them too. Hence the smallest buffered item (by arrival, then seq) may be emitted as
 * soon as its arrival <= W, and what has been emitted never needs to be revised.
 *
 * Memory: a buffered item has arrival > W, i.e. timestamp > M − D − latency, so the buffer only
 * holds rows whose timestamps lie within (max latency + D) of the newest timestamp.
 *
 * If the bound is broken (D too small, or a negative latency) the late item is still emitted,
 * as soon as possible, and counted in `lateCount`; it is then out of order with respect to items
 * already emitted.
 */
import { MinHeap } from './min-heap.ts';

export interface Timed {
  /** The row's own timestamp (µs since the epoch). */
  timestampUs: number;
  /** Effective arrival = timestamp + latency (µs since the epoch). */
  arrivalUs: number;
  /** Nanoseconds of the arrival within its µs (ns inputs; 0 otherwise). */
  arrivalNanos?: number;
  /** Position in the input (file order), strictly increasing in push order. */
  seq: number;
}

function byArrivalThenSeq(a: Timed, b: Timed): number {
  return a.arrivalUs - b.arrivalUs || (a.arrivalNanos ?? 0) - (b.arrivalNanos ?? 0) || a.seq - b.seq;
}

export class ArrivalOrderBuffer<T extends Timed> {
  private readonly heap = new MinHeap<T>(byArrivalThenSeq);
  private readonly disorderUs: number;
  private maxTimestampUs = -Infinity;
  private watermarkUs = -Infinity;
  private late = 0;

  /** @param disorderUs bound on how far a timestamp may lie below an earlier one (0: sorted input). */
  constructor(disorderUs: number) {
    if (!(disorderUs >= 0) || !Number.isFinite(disorderUs)) {
      throw new RangeError(`disorderUs must be a finite number >= 0, got ${disorderUs}`);
    }
    this.disorderUs = disorderUs;
  }

  push(item: T): void {
    // Everything emitted so far had arrival <= the current watermark; an item below it is late.
    if (item.arrivalUs < this.watermarkUs) this.late++;
    if (item.timestampUs > this.maxTimestampUs) {
      this.maxTimestampUs = item.timestampUs;
      this.watermarkUs = item.timestampUs - this.disorderUs;
    }
    this.heap.push(item);
  }

  /** The next item that is now safe to emit, in order; undefined when none is (yet). */
  popReady(): T | undefined {
    const top = this.heap.peek();
    if (top === undefined || top.arrivalUs > this.watermarkUs) return undefined;
    return this.heap.pop();
  }

  /** The next buffered item regardless of the watermark: use at end of input to drain. */
  popAny(): T | undefined {
    return this.heap.pop();
  }

  get size(): number {
    return this.heap.size;
  }

  /** Items pushed below the watermark (the disorder bound was wrong); 0 for correct input. */
  get lateCount(): number {
    return this.late;
  }
}

/** Yields `items` in (arrival, seq) order, buffering only what the watermark rule requires. */
export async function* orderByArrival<T extends Timed>(
  items: AsyncIterable<T>,
  disorderUs: number,
): AsyncGenerator<T> {
  const buffer = new ArrivalOrderBuffer<T>(disorderUs);
  for await (const item of items) {
    buffer.push(item);
    for (let ready = buffer.popReady(); ready !== undefined; ready = buffer.popReady()) yield ready;
  }
  for (let rest = buffer.popAny(); rest !== undefined; rest = buffer.popAny()) yield rest;
}

/**
 * Measures the disorder bound for `ArrivalOrderBuffer` in a pre-scan: the largest amount by
 * which a timestamp lies below the maximum timestamp of the rows before it (0 when sorted).
 */
export class DisorderMeter {
  private maxTimestampUs = -Infinity;
  private disorder = 0;

  observe(timestampUs: number): void {
    if (timestampUs >= this.maxTimestampUs) {
      this.maxTimestampUs = timestampUs;
    } else if (this.maxTimestampUs - timestampUs > this.disorder) {
      this.disorder = this.maxTimestampUs - timestampUs;
    }
  }

  get disorderUs(): number {
    return this.disorder;
  }
}
