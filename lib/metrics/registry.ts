/**
 * A small in-process metrics registry: named counters (only go up), gauges (set to the latest
 * value) and histograms (observations counted into fixed buckets), each optionally split by
 * labels. Pure: no timers, no I/O; the dashboard samples it, lib/metrics/prometheus.ts writes it
 * in the Prometheus text format. Names follow Prometheus' rules (checked here, so a bad name
 * fails where it is written, not in a scrape); series are keyed `name{label="value",…}`, labels
 * sorted.
 */
export type Labels = Readonly<Record<string, string>>;

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface HistogramSnapshot {
  /** Cumulative counts per upper bound as Prometheus writes it (`"0.005"`), `"+Inf"` last (= `count`). */
  buckets: Array<[le: string, count: number]>;
  sum: number;
  count: number;
}

export interface MetricsSnapshot {
  counters: Record<string, number>;
  gauges: Record<string, number>;
  histograms: Record<string, HistogramSnapshot>;
}

/** One time series as the exposition writes it. */
export interface Series<V> {
  labels: Labels;
  value: V;
}

/** Every series of one metric name, with its type and help text. */
export type MetricFamily =
  | { name: string; type: 'counter' | 'gauge'; help: string | undefined; series: Array<Series<number>> }
  | { name: string; type: 'histogram'; help: string | undefined; series: Array<Series<HistogramSnapshot>> };

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function seriesKey(name: string, labels?: Labels): string {
  if (labels === undefined) return name;
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return name;
  return `${name}{${keys.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;
}

function checkNames(name: string, labels: Labels | undefined): void {
  if (!METRIC_NAME.test(name)) throw new RangeError(`metric name "${name}" is not a Prometheus name`);
  for (const label of Object.keys(labels ?? {})) {
    // `le` is the histogram's own bucket label; `__` names are reserved by Prometheus.
    if (!LABEL_NAME.test(label) || label.startsWith('__') || label === 'le') throw new RangeError(`label "${label}" of ${name} is not allowed`);
  }
}

interface Stored<V> {
  name: string;
  labels: Labels;
  value: V;
}

interface HistogramState {
  /** Upper bounds, ascending, without +Inf. */
  bounds: readonly number[];
  /** Per bucket (not cumulative), one more than `bounds` for +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

export class MetricsRegistry {
  private readonly counters = new Map<string, Stored<number>>();
  private readonly gauges = new Map<string, Stored<number>>();
  private readonly histograms = new Map<string, Stored<HistogramState>>();
  private readonly bounds = new Map<string, readonly number[]>();
  private readonly helps = new Map<string, string>();
  private readonly types = new Map<string, MetricType>();

  /** Says what a metric means (the exposition's `# HELP`). */
  describe(name: string, help: string): void {
    checkNames(name, undefined);
    this.helps.set(name, help);
  }

  /**
   * Declares a histogram and its bucket upper bounds (ascending, finite; `+Inf` is implied). The
   * `initial` label sets' series exist at once, so a scrape sees them (all zero) before any
   * observation, as Prometheus' instrumentation guidelines ask.
   */
  defineHistogram(name: string, help: string, bounds: readonly number[], initial: readonly Labels[] = [{}]): void {
    this.describe(name, help);
    if (bounds.length === 0 || bounds.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= (bounds[i - 1] as number)))) {
      throw new RangeError(`histogram ${name} needs ascending finite bucket bounds, got ${bounds.join(', ')}`);
    }
    this.bounds.set(name, [...bounds]);
    for (const labels of initial) this.histogramState(name, labels);
  }

  /** Adds `by` (≥ 0) to a counter. */
  inc(name: string, labels?: Labels, by = 1): void {
    if (!(by >= 0) || !Number.isFinite(by)) throw new RangeError(`counter ${name} can only grow, got ${by}`);
    const series = this.stored(this.counters, 'counter', name, labels);
    series.value += by;
  }

  /**
   * Raises a counter to `total` when a component keeps its own running total; a smaller total
   * (the component restarted) is ignored, so the counter never goes back.
   */
  observeTotal(name: string, total: number, labels?: Labels): void {
    const series = this.stored(this.counters, 'counter', name, labels);
    if (total > series.value) series.value = total;
  }

  set(name: string, value: number, labels?: Labels): void {
    this.stored(this.gauges, 'gauge', name, labels).value = value;
  }

  /** Counts one observation (e.g. seconds) into a histogram declared with `defineHistogram`. */
  observe(name: string, value: number, labels?: Labels): void {
    if (Number.isNaN(value)) return;
    const state = this.histogramState(name, labels ?? {});
    let bucket = state.bounds.findIndex((le) => value <= le);
    if (bucket === -1) bucket = state.bounds.length;
    state.counts[bucket] = (state.counts[bucket] as number) + 1;
    state.sum += value;
    state.count++;
  }

  /** Removes every series of a gauge (e.g. the shards no longer held). */
  clearGauge(name: string): void {
    for (const [key, series] of [...this.gauges]) if (series.name === name) this.gauges.delete(key);
  }

  counter(name: string, labels?: Labels): number {
    return this.counters.get(seriesKey(name, labels))?.value ?? 0;
  }

  gauge(name: string, labels?: Labels): number | undefined {
    return this.gauges.get(seriesKey(name, labels))?.value;
  }

  histogram(name: string, labels?: Labels): HistogramSnapshot | undefined {
    const state = this.histograms.get(seriesKey(name, labels))?.value;
    return state === undefined ? undefined : cumulative(state);
  }

  snapshot(): MetricsSnapshot {
    const values = (map: Map<string, Stored<number>>): Record<string, number> => Object.fromEntries([...map].map(([key, s]) => [key, s.value]));
    return {
      counters: values(this.counters),
      gauges: values(this.gauges),
      histograms: Object.fromEntries([...this.histograms].map(([key, s]) => [key, cumulative(s.value)])),
    };
  }

  /** Every metric with its series, by name, for the exposition. */
  families(): MetricFamily[] {
    const byName = new Map<string, MetricFamily>();
    const family = (name: string, type: MetricType): MetricFamily => {
      let found = byName.get(name);
      if (found === undefined) {
        const help = this.helps.get(name);
        found = type === 'histogram' ? { name, type, help, series: [] } : { name, type, help, series: [] };
        byName.set(name, found);
      }
      return found;
    };
    for (const [map, type] of [[this.counters, 'counter'], [this.gauges, 'gauge']] as const) {
      for (const s of map.values()) (family(s.name, type).series as Array<Series<number>>).push({ labels: s.labels, value: s.value });
    }
    for (const s of this.histograms.values()) {
      (family(s.name, 'histogram').series as Array<Series<HistogramSnapshot>>).push({ labels: s.labels, value: cumulative(s.value) });
    }
    return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private stored(map: Map<string, Stored<number>>, type: MetricType, name: string, labels: Labels | undefined): Stored<number> {
    const key = seriesKey(name, labels);
    let series = map.get(key);
    if (series === undefined) {
      this.claim(name, type, labels);
      map.set(key, (series = { name, labels: { ...labels }, value: 0 }));
    }
    return series;
  }

  private histogramState(name: string, labels: Labels): HistogramState {
    const key = seriesKey(name, labels);
    let series = this.histograms.get(key);
    if (series === undefined) {
      const bounds = this.bounds.get(name);
      if (bounds === undefined) throw new RangeError(`histogram ${name} was not defined (defineHistogram)`);
      this.claim(name, 'histogram', labels);
      series = { name, labels: { ...labels }, value: { bounds, counts: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0 } };
      this.histograms.set(key, series);
    }
    return series.value;
  }

  /** One name, one type (the exposition cannot write a name as both); counters end in _total. */
  private claim(name: string, type: MetricType, labels: Labels | undefined): void {
    checkNames(name, labels);
    if (type === 'counter' && !name.endsWith('_total')) throw new RangeError(`counter ${name} must end in _total (Prometheus' naming)`);
    const known = this.types.get(name);
    if (known !== undefined && known !== type) throw new RangeError(`metric ${name} is a ${known}, not a ${type}`);
    this.types.set(name, type);
  }
}

/** A sample value or bucket bound as the text format writes it: Go's float syntax, `+Inf`, `NaN`. */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function cumulative(state: HistogramState): HistogramSnapshot {
  let running = 0;
  const buckets = state.counts.map((n, i): [string, number] => [formatNumber(i < state.bounds.length ? (state.bounds[i] as number) : Infinity), (running += n)]);
  return { buckets, sum: state.sum, count: state.count };
}
