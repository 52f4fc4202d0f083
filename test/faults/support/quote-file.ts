/**
 * Unseen input files for the fault tests, whose every output line is known in advance: row i has
 * its own millisecond (so its line, mid or latency error, names the row), ticker T<i mod tickers>
 * and a latency of (i mod 30) ms, so that about a third of the rows become errors.log lines and
 * arrival order (timestamp + latency) differs from file order.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { ERRORS_FILE, MID_PRICES_FILE } from '../../../lib/output/log-files.ts';

const BASE = Date.UTC(2025, 2, 3, 9, 0, 0);
const THRESHOLD_MS = 20;

function stamp(i: number): string {
  return new Date(BASE + i).toISOString().replace('T', ' ').replace('Z', '');
}

export interface QuoteFile {
  rows: number;
  tickers: number;
  /** Each row's expected line in mid_prices.log or errors.log (threshold 20 ms). */
  line(i: number): { file: 'mid' | 'error'; text: string };
  /** The row an output line is about (by its timestamp). */
  rowOf(line: string): number;
  /** Each row's effective arrival (ms after the first row's timestamp); ties keep file order. */
  arrival(i: number): number;
}

export async function writeQuoteFile(path: string, rows: number, tickers = 8): Promise<QuoteFile> {
  const out = createWriteStream(path);
  out.write('timestamp,ticker,bid,ask,latency\n');
  for (let i = 0; i < rows; i++) {
    const bid = 100 + (i % 997);
    if (!out.write(`${stamp(i)},T${i % tickers},${bid},${bid + 2},${i % 30}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
  return {
    rows,
    tickers,
    line: (i) =>
      i % 30 > THRESHOLD_MS
        ? { file: 'error', text: `No mid price at ${stamp(i)} as latency ${i % 30}ms is bigger than ${THRESHOLD_MS}ms` }
        : { file: 'mid', text: `${stamp(i)}, ${100 + (i % 997) + 1}` },
    rowOf: (line) => {
      const m = /(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})/.exec(line);
      if (m === null) throw new Error(`not an output line: ${line}`);
      return Date.parse(`${(m[1] as string).replace(' ', 'T')}Z`) - BASE;
    },
    arrival: (i) => i + (i % 30),
  };
}

export interface DeliveryCheck {
  missing: number[];
  duplicates: number;
  /** Lines that are not whole lines of this file's rows. */
  foreign: string[];
  /** Per file and ticker, places where a row came out before one that arrived earlier. */
  outOfOrder: string[];
}

/** Checks the two output files against the rows: each row once, per-ticker arrival order. */
export function checkDelivery(file: QuoteFile, midText: string, errorText: string): DeliveryCheck {
  const seen = new Map<number, number>();
  const foreign: string[] = [];
  const outOfOrder: string[] = [];
  for (const [kind, text] of [['mid', midText], ['error', errorText]] as const) {
    if (text !== '' && !text.endsWith('\n')) foreign.push(`${kind}: the file ends in a torn line`);
    const last = new Map<number, number>();
    for (const line of text.split('\n').filter((l) => l !== '')) {
      let row: number;
      try {
        row = file.rowOf(line);
      } catch {
        foreign.push(line);
        continue;
      }
      const expected = file.line(row);
      if (row < 0 || row >= file.rows || expected.file !== kind || expected.text !== line) {
        foreign.push(line);
        continue;
      }
      const count = (seen.get(row) ?? 0) + 1;
      seen.set(row, count);
      if (count > 1) continue;
      const ticker = row % file.tickers;
      const previous = last.get(ticker);
      const rank = (r: number): number => file.arrival(r) * file.rows + r;
      if (previous !== undefined && rank(row) < rank(previous)) outOfOrder.push(`${kind} T${ticker}: row ${row} after row ${previous}`);
      last.set(ticker, row);
    }
  }
  const missing: number[] = [];
  let duplicates = 0;
  for (let i = 0; i < file.rows; i++) {
    const n = seen.get(i) ?? 0;
    if (n === 0) missing.push(i);
    duplicates += Math.max(0, n - 1);
  }
  return { missing, duplicates, foreign, outOfOrder };
}

/** Lines in an output directory's mid_prices.log and errors.log together (0 for a missing file). */
export async function outputLineCount(dir: string): Promise<number> {
  const count = async (file: string): Promise<number> => (await readFile(`${dir}/${file}`, 'utf8').catch(() => '')).split('\n').length - 1;
  return (await count(MID_PRICES_FILE)) + (await count(ERRORS_FILE));
}
