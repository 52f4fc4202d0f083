/**
 * Deterministic pseudo-random numbers for differential tests: the same values every run, so a
 * failure is reproducible and never flaky (a linear congruential generator, Numerical Recipes').
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** One of `items`, chosen by `random`. */
export function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}
