/**
 * Capped exponential backoff with full jitter (the AWS Architecture Blog's recommendation):
 * the delay is uniform in [0, min(cap, base * 2^attempt)], so many clients retrying at once
 * spread out instead of retrying in lock-step.
 */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 50, capMs: 5_000 };

/** `attempt` counts from 0 (first retry). `random` returns a value in [0, 1). */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
