/**
 * Per-second rates of counters over a sliding window: feed it (time, total) samples, ask for the
 * rate. Pure; the caller supplies the time (ms on any monotonic scale), so tests need no sleeping.
 */
export class RateWindow {
  private readonly samples: Array<{ at: number; total: number }> = [];

  /** `windowMs`: how far back the rate looks (default 5 s): smooth, yet quick to follow a change. */
  constructor(private readonly windowMs = 5_000) {}

  record(at: number, total: number): void {
    const last = this.samples[this.samples.length - 1];
    // A total that went back (a restarted component) starts the window afresh.
    if (last !== undefined && (total < last.total || at < last.at)) this.samples.length = 0;
    this.samples.push({ at, total });
    // Keep one sample at or before the window's start, so the rate covers the whole window.
    while (this.samples.length > 2 && (this.samples[1] as { at: number }).at <= at - this.windowMs) this.samples.shift();
  }

  /** Units per second over the window; 0 until two samples exist. */
  rate(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (first === undefined || last === undefined || last.at <= first.at) return 0;
    return ((last.total - first.total) * 1000) / (last.at - first.at);
  }
}

/** Seconds left at `ratePerSec` for `remaining` units; undefined when nothing moves. */
export function etaSeconds(remaining: number, ratePerSec: number): number | undefined {
  if (remaining <= 0) return 0;
  if (!(ratePerSec > 0)) return undefined;
  return Math.ceil(remaining / ratePerSec);
}
