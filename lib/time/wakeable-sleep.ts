/**
 * A sleep that someone else can cut short. A loop that polls on a period (the replayer's read of
 * the mode control item) sleeps here, and whoever knows the awaited thing has just happened (the
 * mode API in the same process, after writing the item) calls `wake()`, so the loop looks now
 * instead of up to one period later. A wake that comes while the loop is not asleep (its read in
 * flight may have started before the write) is kept for the next sleep, which then returns at once:
 * a wake is never lost, and it never stands for the state itself (the loop still reads it).
 */
import type { Clock } from './clock.ts';

export class WakeableSleep {
  private sleeping: AbortController | undefined;
  private pending = false;

  constructor(private readonly clock: Clock) {}

  /** Resolves after `ms`, when `signal` aborts, or on `wake()` (also one that came before this call). */
  async sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (this.pending || signal.aborted) {
      this.pending = false;
      return;
    }
    const wake = new AbortController();
    const onAbort = (): void => wake.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    this.sleeping = wake;
    try {
      await this.clock.sleep(ms, wake.signal);
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (this.sleeping === wake) this.sleeping = undefined;
    }
  }

  /**
   * Drops a wake kept for the next sleep: the loop is about to look (a read sent now sees what the
   * wake announced), so the sleep after that look need not be cut short. A wake that comes after
   * this call is kept again.
   */
  clear(): void {
    this.pending = false;
  }

  wake(): void {
    if (this.sleeping === undefined) {
      this.pending = true;
      return;
    }
    this.sleeping.abort();
    this.sleeping = undefined;
  }
}
