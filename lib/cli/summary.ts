/** The end-of-run report: a human summary, then one JSON line (always the last line of stdout). */
import path from 'node:path';
import { isS3Uri } from '../output/s3-keys.ts';
import type { RunSummary } from './historical-run.ts';

export function formatSummary(summary: RunSummary, cwd = process.cwd()): string {
  const rel = (p: string): string => path.relative(cwd, p) || '.';
  const out = isS3Uri(summary.outputDir) ? summary.outputDir : rel(summary.outputDir);
  const lines = [
    `tick-replay: ${summary.files.map(rel).join(', ')} -> ${out}/${summary.interrupted ? ' (interrupted)' : ''}`,
    `  quotes read       ${summary.quotesRead} (rejected ${summary.rejected}, crossed ${summary.crossed})`,
    `  sent to Kinesis   ${summary.sent}${summary.acknowledged === summary.sent ? '' : ` (only ${summary.acknowledged} acknowledged)`}`,
    `  mid_prices.log    ${summary.midLines} lines`,
    `  errors.log        ${summary.errorLines} lines`,
    `  dead_letters.log  ${summary.deadLetters} lines`,
    `  time              ${summary.seconds.toFixed(1)} s (${summary.quotesPerSec} quotes/s)`,
  ];
  return lines.join('\n');
}

export function summaryJson(summary: RunSummary): string {
  return JSON.stringify(summary);
}
