/**
 * Progress for long replays: a bar (done/total, rate, ETA) on a terminal, a structured log line
 * every few seconds otherwise.
 */
import cliProgress from 'cli-progress';
import type { Logger } from '../logging/logger.ts';

export interface ProgressReporter {
  start(total: number): void;
  update(done: number): void;
  stop(): void;
}

export function createProgressReporter(options: { tty: boolean; logger: Logger; intervalMs?: number }): ProgressReporter {
  if (options.tty) {
    const bar = new cliProgress.SingleBar(
      {
        format: ' {bar} {percentage}% | {value}/{total} quotes | {speed} quotes/s | ETA {eta_formatted}',
        hideCursor: true,
        etaBuffer: 200,
        fps: 5,
        stream: process.stderr,
      },
      cliProgress.Presets.shades_classic,
    );
    let startedAt = 0;
    return {
      start: (total) => {
        startedAt = performance.now();
        bar.start(total, 0, { speed: 0 });
      },
      update: (done) => bar.update(done, { speed: Math.round(done / Math.max((performance.now() - startedAt) / 1000, 1e-3)) }),
      stop: () => bar.stop(),
    };
  }
  const intervalMs = options.intervalMs ?? 5_000;
  let total = 0;
  let startedAt = 0;
  let lastLog = 0;
  return {
    start: (t) => {
      total = t;
      startedAt = lastLog = performance.now();
    },
    update: (done) => {
      const now = performance.now();
      if (now - lastLog < intervalMs) return;
      lastLog = now;
      const rate = done / ((now - startedAt) / 1000);
      options.logger.info('progress', {
        done,
        total,
        quotesPerSec: Math.round(rate),
        etaSeconds: rate > 0 ? Math.round((total - done) / rate) : undefined,
      });
    },
    stop: () => undefined,
  };
}
