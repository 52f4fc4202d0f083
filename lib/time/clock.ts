/**
 * Time as a dependency: pacing, backoff and polling take a Clock so tests drive time
 * deterministically instead of sleeping.
 */
export interface Clock {
  /** Milliseconds on a monotonic scale (only differences matter). */
  now(): number;
  /** Resolves after `ms` milliseconds, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * Optional precise variant: resolves as soon as `now() >= deadline` (on this clock's scale), or
   * at once when `signal` aborts. Clocks without it are driven through `sleep(deadline - now())`.
   */
  sleepUntil?(deadline: number, signal?: AbortSignal): Promise<void>;
}

/**
 * setTimeout fires about a millisecond late and can be several ms late on a loaded machine, so
 * `sleepUntil` sleeps on a timer until this many ms before the deadline and then finishes on the
 * event loop (setImmediate turns), which keeps I/O flowing while it waits.
 */
const SPIN_MS = 2;

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted || ms <= 0) {
        resolve();
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
  sleepUntil: (deadline, signal) =>
    new Promise<void>((resolve) => {
      const remaining = deadline - performance.now();
      if (signal?.aborted || remaining <= 0) {
        resolve();
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      let immediate: NodeJS.Immediate | undefined;
      const onAbort = (): void => {
        clearTimeout(timer);
        if (immediate !== undefined) clearImmediate(immediate);
        resolve();
      };
      const step = (): void => {
        immediate = undefined;
        if (performance.now() >= deadline) {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        } else {
          immediate = setImmediate(step);
        }
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (remaining > SPIN_MS) timer = setTimeout(step, remaining - SPIN_MS);
      else step();
    }),
};
