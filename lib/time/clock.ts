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
 * `sleepUntil` sleeps on a timer to the deadline and, should the timer fire a hair early (timers
 * count whole milliseconds), finishes on setImmediate turns. It does not spin through the last
 * milliseconds for precision: at --speed 1 a quote falls due every couple of milliseconds, so a
 * 2 ms spin kept the replayer's process busy almost all the time (≈ 0.4 of a core at 500 quotes/s,
 * measured with the bench's pacing loop), CPU the consumer, the handler and the emulator on the same
 * machine need more than a quote needs to be released under a millisecond late.
 */
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
      const timer = setTimeout(step, remaining);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};
