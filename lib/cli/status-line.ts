/**
 * `up` on a terminal: one compact status line (mode, historical progress, rates, consumer lag),
 * rewritten in place every second, instead of a progress bar and scrolling logs.
 */
import type { DashboardSnapshot } from '../dashboard/stack-metrics.ts';

function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined) return '–';
  if (seconds < 60) return `${seconds}s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m}m${String(seconds % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** The line, cut to `width` columns. */
export function formatStatusLine(s: DashboardSnapshot, width = 120): string {
  const h = s.historical;
  const pct = h.total > 0 ? Math.floor((h.done * 100) / h.total) : 0;
  const parts = [
    `${s.mode ?? 'starting'} ${h.done}/${h.total} ${pct}%${h.completed ? ' done' : ` ETA ${formatDuration(h.etaSeconds)}`}`,
    `${Math.round(s.rates.historical)} hist/s ${Math.round(s.rates.live)} live/s`,
    `${Math.round(s.rates.linesWritten)} lines/s`,
    `lag ${s.consumer.maxLagMs === undefined ? '–' : `${s.consumer.maxLagMs}ms`}`,
    `feed ${s.live.connection}`,
  ];
  if (s.consumer.deadLetters > 0) parts.push(`dead letters ${s.consumer.deadLetters}`);
  const line = parts.join(' | ');
  return line.length > width ? line.slice(0, Math.max(0, width - 1)) + '…' : line;
}

export interface StatusLine {
  stop(): void;
}

/** Rewrites the line on `stream` every `intervalMs` until stopped (then ends it with a newline). */
export function startStatusLine(stream: NodeJS.WriteStream, snapshot: () => DashboardSnapshot, intervalMs = 1_000): StatusLine {
  const draw = (): void => {
    stream.write(`\r\x1b[2K${formatStatusLine(snapshot(), Math.max(20, (stream.columns || 120) - 1))}`);
  };
  draw();
  const timer = setInterval(draw, intervalMs);
  timer.unref();
  let stopped = false;
  return {
    stop: () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      draw();
      stream.write('\n');
    },
  };
}
