/** Real time for polling, but every sleep capped at 20 ms so retried work comes back quickly. */
import { systemClock, type Clock } from '../../lib/time/clock.ts';

export const quickRetries: Clock = {
  now: () => systemClock.now(),
  sleep: (ms, signal) => systemClock.sleep(Math.min(ms, 20), signal),
};
