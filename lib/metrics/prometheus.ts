/**
 * The Prometheus text exposition format, version 0.0.4, for the registry's metrics: per metric a
 * `# HELP` and a `# TYPE` line, then its samples; a histogram as cumulative `_bucket{le="…"}`
 * samples ending with `le="+Inf"`, then `_sum` and `_count`. Pure.
 *
 * Written here rather than with prom-client: the registry is small and pure (no global default
 * registry, no collect callbacks, counters that follow a component's own running total), and the
 * format is a few escaping rules; prom-client would mean a second registry kept in step with this
 * one, or rewriting the dashboard's snapshot around prom-client's async getters.
 */
import { formatNumber, type Labels, type MetricFamily, type MetricsRegistry } from './registry.ts';

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** HELP text escapes backslash and newline. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Label values escape backslash, double quote and newline. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelSet(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.keys(labels)
    .sort()
    .map((key) => `${key}="${escapeLabelValue(labels[key] as string)}"`);
  if (extra !== undefined) pairs.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

function familyLines(family: MetricFamily): string[] {
  const lines: string[] = [];
  if (family.help !== undefined) lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
  lines.push(`# TYPE ${family.name} ${family.type}`);
  if (family.type !== 'histogram') {
    for (const s of family.series) lines.push(`${family.name}${labelSet(s.labels)} ${formatNumber(s.value)}`);
    return lines;
  }
  for (const s of family.series) {
    for (const [le, count] of s.value.buckets) lines.push(`${family.name}_bucket${labelSet(s.labels, ['le', le])} ${formatNumber(count)}`);
    lines.push(`${family.name}_sum${labelSet(s.labels)} ${formatNumber(s.value.sum)}`);
    lines.push(`${family.name}_count${labelSet(s.labels)} ${formatNumber(s.value.count)}`);
  }
  return lines;
}

/** The registry's metrics as one exposition document (ends with a newline). */
export function formatExposition(registry: Pick<MetricsRegistry, 'families'>): string {
  const lines = registry.families().flatMap(familyLines);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
