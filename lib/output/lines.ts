/**
 * The output line formats (README "Output"). Pure: the handler decides which line a quote
 * gets, these only spell it.
 */
import { formatLogTimestamp, type ParsedTimestamp } from '../quotes/timestamp.ts';

export function midPriceLine(time: ParsedTimestamp, mid: string): string {
  return `${formatLogTimestamp(time.micros, time.precision)}, ${mid}`;
}

export function latencyErrorLine(time: ParsedTimestamp, latencyMs: number, thresholdMs: number): string {
  return `No mid price at ${formatLogTimestamp(time.micros, time.precision)} as latency ${latencyMs}ms is bigger than ${thresholdMs}ms`;
}
