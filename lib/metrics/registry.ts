/**
 * A small in-process metrics registry: named counters (only go up) and gauges (set to the latest
 * value), each optionally split by labels. Pure: no timers, no I/O; the dashboard samples it.
 * Series are keyed Prometheus-style, `name{label="value",…}`, labels sorted.
 */
export type Labels = Readonly<Record<string, string>>;

export interface MetricsSnapshot {
  counters: Record<string, number>;
  gauges: Record<string, number>;
}

export function seriesKey(name: string, labels?: Labels): string {
  if (labels === undefined) return name;
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return name;
  return `${name}{${keys.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;
}

export class MetricsRegistry {
  private readonly counters = new Map<string, number>();
  private readonly gauges = new Map<string, number>();

  /** Adds `by` (≥ 0) to a counter. */
  inc(name: string, labels?: Labels, by = 1): void {
    if (!(by >= 0) || !Number.isFinite(by)) throw new RangeError(`counter ${name} can only grow, got ${by}`);
    const key = seriesKey(name, labels);
    this.counters.set(key, (this.counters.get(key) ?? 0) + by);
  }

  /**
   * Raises a counter to `total` when a component keeps its own running total; a smaller total
   * (the component restarted) is ignored, so the counter never goes back.
   */
  observeTotal(name: string, total: number, labels?: Labels): void {
    const key = seriesKey(name, labels);
    if (total > (this.counters.get(key) ?? 0)) this.counters.set(key, total);
    else if (!this.counters.has(key)) this.counters.set(key, Math.max(0, total));
  }

  set(name: string, value: number, labels?: Labels): void {
    this.gauges.set(seriesKey(name, labels), value);
  }

  /** Removes every series of a gauge (e.g. the shards no longer held). */
  clearGauge(name: string): void {
    for (const key of [...this.gauges.keys()]) if (key === name || key.startsWith(`${name}{`)) this.gauges.delete(key);
  }

  counter(name: string, labels?: Labels): number {
    return this.counters.get(seriesKey(name, labels)) ?? 0;
  }

  gauge(name: string, labels?: Labels): number | undefined {
    return this.gauges.get(seriesKey(name, labels));
  }

  snapshot(): MetricsSnapshot {
    return { counters: Object.fromEntries(this.counters), gauges: Object.fromEntries(this.gauges) };
  }
}
