/** The benchmark's printed table and chart (bench/run.ts measures; this only formats). */
import { barChartSvg } from './chart.ts';
import type { LatencyFigures } from './realtime.ts';

export interface VariantRow {
  name: string;
  e2eQuotesPerSec: number | null;
  /** Every sample of this variant (the row is the best one). */
  e2eSamples: number[];
  producerQuotesPerSec: number | null;
  consumerQuotesPerSec: number | null;
  runSummarySeconds: number | null;
  runSummaryQuotesPerSec: number | null;
  e2eLatencyMs: { p50: number; p99: number } | null;
  peakRssMb: { replayer: number; emulators: number | null; workers: number[] } | null;
  /** Average cores busy during the run (CPU seconds / e2e seconds), per process. */
  cpuCores: { replayer: number; emulators: number | null } | null;
  lines: number | null;
}

export interface FloorRow {
  label: string;
  value: number;
  samples: number[];
  rssMb?: number | null;
  emulatorRssMb?: number | null;
}

export const fmt = (v: number | null | undefined, unit = ''): string => (v === null || v === undefined ? 'n/a' : `${v.toLocaleString('en-US')}${unit}`);

const bestOf = (samples: readonly number[]): string => (samples.length > 1 ? ` (best of ${samples.map((v) => fmt(v)).join(', ')})` : '');

/** The markdown table printed on stdout (and pasted in docs/performance.md). */
export function resultTable(variants: readonly VariantRow[], floors: readonly FloorRow[]): string {
  const rows: string[][] = [
    ['variant / floor', 'e2e q/s', 'producer q/s', 'consumer q/s', 'latency p50/p99 ms', 'RSS replayer MB', 'RSS workers MB', 'RSS emulators MB', 'CPU cores repl/emu'],
    ...variants.map((v): string[] => [
      `${v.name}${bestOf(v.e2eSamples)}`,
      fmt(v.e2eQuotesPerSec),
      fmt(v.producerQuotesPerSec),
      fmt(v.consumerQuotesPerSec),
      v.e2eLatencyMs === null ? 'n/a' : `${v.e2eLatencyMs.p50} / ${v.e2eLatencyMs.p99}`,
      fmt(v.peakRssMb?.replayer),
      v.peakRssMb === null || v.peakRssMb.workers.length === 0 ? '(in replayer)' : v.peakRssMb.workers.join(' / '),
      fmt(v.peakRssMb?.emulators),
      v.cpuCores === null ? 'n/a' : `${v.cpuCores.replayer} / ${fmt(v.cpuCores.emulators)}`,
    ]),
    ...floors.map((f): string[] => [`${f.label}${bestOf(f.samples)}`, fmt(f.value), '', '', '', f.rssMb === undefined ? '' : fmt(f.rssMb), '', f.emulatorRssMb === undefined ? '' : fmt(f.emulatorRssMb), '']),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => '| ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  return [line(rows[0]!), '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|', ...rows.slice(1).map(line)].join('\n');
}

/** Latency bars drawn at most: buckets are merged into wider ones beyond that. */
const MAX_LATENCY_BARS = 16;

/** `counts` per `bucketMs` regrouped into at most MAX_LATENCY_BARS buckets of a multiple of that width. */
export function regroup(counts: readonly number[], bucketMs: number): { bucketMs: number; counts: number[] } {
  const factor = Math.max(1, Math.ceil(counts.length / MAX_LATENCY_BARS));
  const out: number[] = [];
  counts.forEach((count, i) => {
    const b = Math.floor(i / factor);
    out[b] = (out[b] ?? 0) + count;
  });
  return { bucketMs: bucketMs * factor, counts: out };
}

/** The throughput bars, then the delivery latency distribution at --speed 1 (lines per bucket). */
export function resultChart(title: string, variants: readonly VariantRow[], floors: readonly FloorRow[], latency: LatencyFigures | null): string {
  const bars = [
    ...variants.map((v) => ({ label: `pipeline, ${v.name}`, value: v.e2eQuotesPerSec, kind: 'variant' as const })),
    ...floors.map((f) => ({ label: f.label, value: f.value, kind: 'floor' as const })),
  ];
  const histogram = latency === null ? undefined : regroup(latency.histogram.counts, latency.histogram.bucketMs);
  const latencyBars =
    histogram === undefined
      ? []
      : histogram.counts.map((count, i) => ({
          label: `speed 1 delivery ${i * histogram.bucketMs}–${(i + 1) * histogram.bucketMs} ms (lines)`,
          value: count,
          kind: 'latency' as const,
        }));
  return barChartSvg(title, bars, latencyBars);
}
