/** Real time for polling, but every sleep capped at 20 ms so retried work comes back quickly. */
import type { Clock } from '../../lib/replay/clock.ts';

export const quickRetries: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.min(ms, 20));
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};
