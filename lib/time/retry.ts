/**
 * Retrying, written once: the engine's checkpoint calls, the event source mapping's shard loop
 * and the producer's PutRecords all count attempts, draw a capped, jittered delay (backoff.ts),
 * report the retry and wait here. What is retried stays each caller's decision (a predicate);
 * time and randomness are injected, so tests drive the waits without sleeping.
 */
import { backoffDelayMs, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.ts';
import { systemClock, type Clock } from './clock.ts';

export interface BackoffOptions {
  policy?: BackoffPolicy;
  clock?: Clock;
  /** Returns a value in [0, 1). */
  random?: () => number;
}

/** One retry as reported before its wait (for logs and counters). */
export interface RetryNotice {
  /** 1 for the first retry since the last success. */
  attempt: number;
  delayMs: number;
}

/**
 * The backoff state of one retrying activity. An activity may retry at several places (the
 * producer resends a failed request and then rejected entries; the mapping retries three calls
 * and the handler for one shard): they share the count, which grows the delay until a success
 * resets it.
 */
export class Backoff {
  private readonly options: Required<BackoffOptions>;
  private retries = 0;

  constructor(options: BackoffOptions = {}) {
    this.options = {
      policy: options.policy ?? DEFAULT_BACKOFF,
      clock: options.clock ?? systemClock,
      random: options.random ?? Math.random,
    };
  }

  /** Retries since the last reset. */
  get attempts(): number {
    return this.retries;
  }

  /** A success: the next retry waits the shortest delay again. */
  reset(): void {
    this.retries = 0;
  }

  /**
   * Waits before the next retry: draws this attempt's delay, tells `notice` (log it, count it),
   * then sleeps; resolves early when `signal` aborts.
   */
  async pause(signal?: AbortSignal, notice?: (retry: RetryNotice) => void): Promise<void> {
    const delayMs = backoffDelayMs(this.retries++, this.options.policy, this.options.random);
    notice?.({ attempt: this.retries, delayMs });
    await this.options.clock.sleep(delayMs, signal);
  }
}

/**
 * How a stop (the signal aborting) ends a retry loop. Either way a failure the predicate rejects
 * is thrown, and a retryable one never outlives the stop: whoever stopped the loop has moved on
 * (a mode switch, a shutdown), and an error thrown at it would end a caller that is still running.
 * - `abandon`: nothing is called after the stop. A wait the stop cut short, or a retryable failure
 *   that finds the signal aborted, resolves undefined.
 * - `settle`: a call whose success is still worth having after the stop (a checkpoint write that
 *   spares the next owner a batch) runs once more after a wait the stop cut short; the first
 *   failure after the stop resolves undefined.
 */
export type StopPolicy = 'abandon' | 'settle';

export interface RetryOptions {
  backoff: Backoff;
  /** Whether a failure is worth another try; the others are rethrown at once. */
  retryable: (error: unknown) => boolean;
  signal?: AbortSignal;
  /** Default `abandon`. */
  onStop?: StopPolicy;
  /** Called before each wait with the failure (log it, count it). */
  onRetry?: (error: unknown, retry: RetryNotice) => void;
}

/**
 * Calls `call` until it resolves, waiting `backoff` between retryable failures. Resolves
 * undefined when a stop ends the loop (see StopPolicy).
 */
export async function retry<T>(call: () => Promise<T>, options: RetryOptions): Promise<T | undefined> {
  const { backoff, retryable, signal, onRetry } = options;
  const onStop = options.onStop ?? 'abandon';
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!retryable(error)) throw error;
      if (signal?.aborted) return undefined;
      await backoff.pause(signal, onRetry === undefined ? undefined : (notice) => onRetry(error, notice));
      if (signal?.aborted && onStop === 'abandon') return undefined;
    }
  }
}
