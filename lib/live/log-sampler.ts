/**
 * Which occurrences of a repeated event get a log line. A feed that turns to garbage can send
 * thousands of bad messages a second; logging each would bury everything else (and cost more
 * than the feed). The first few are logged in full, then one in `every`, each with the running
 * count so the total is never hidden.
 */
export interface LogSampling {
  /** Occurrences 1..first are all logged. */
  first: number;
  /** After that, occurrences that are a multiple of `every` are logged. */
  every: number;
}

export const DEFAULT_LOG_SAMPLING: LogSampling = { first: 10, every: 1_000 };

/** `count` is 1-based: the number of occurrences so far, this one included. */
export function isSampled(count: number, sampling: LogSampling = DEFAULT_LOG_SAMPLING): boolean {
  return count <= sampling.first || count % sampling.every === 0;
}

/** Set on the last line logged in full, so a reader knows why the lines thin out after it. */
export function samplingNote(count: number, sampling: LogSampling = DEFAULT_LOG_SAMPLING): string | undefined {
  return count === sampling.first ? `further occurrences are logged one in ${sampling.every}, with counts` : undefined;
}
