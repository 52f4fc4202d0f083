/**
 * Pacing accuracy at --speed 1: the first `count` quotes of a file, in arrival order, through the
 * project's Pacer on the system clock; lateness = how far past its scheduled wall time each quote
 * was released (what Pacer.wait reports).
 */
import { Pacer } from '../lib/replay/pacer.ts';
import { systemClock } from '../lib/time/clock.ts';
import { HistoricalSource, scanCsv } from '../lib/replay/historical-source.ts';
import { percentile, round } from './stats.ts';

export interface PacingResult {
  quotes: number;
  seconds: number;
  p50: number;
  p99: number;
  max: number;
}

export async function measurePacing(csv: string, count = 2_000): Promise<PacingResult> {
  const source = new HistoricalSource(await scanCsv(csv));
  const pacer = new Pacer(1, systemClock);
  const lateness: number[] = [];
  const started = performance.now();
  for await (const quote of source) {
    lateness.push(await pacer.wait(quote.arrivalUs));
    if (lateness.length >= count) break;
  }
  await source.close();
  // The first quote anchors the clock (lateness 0 by definition): leave it out.
  const measured = lateness.slice(1);
  return {
    quotes: lateness.length,
    seconds: round((performance.now() - started) / 1000, 2),
    p50: round(percentile(measured, 50), 2),
    p99: round(percentile(measured, 99), 2),
    max: round(Math.max(...measured), 2),
  };
}
