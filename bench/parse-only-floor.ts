/**
 * The parse-only reference: csv-parse (`columns: true`, the library's own fastest way to named
 * fields) turning the file into quote-shaped objects, and nothing else — no validation, no
 * ordering, no encoding, no output. The floor the no-queue pipeline is compared with
 * (`ratios.noQueueVsParseOnly`): the work any CSV-reading replayer must do at least.
 *
 *   node --import tsx bench/parse-only-floor.ts <csv>   → one JSON line
 */
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse';

export interface ParseOnlyResult {
  quotes: number;
  seconds: number;
  quotesPerSec: number;
}

/** What a quote object holds when nothing is checked: the fields, as the CSV spells them. */
interface RawQuote {
  ticker: string | undefined;
  timestamp: string | undefined;
  bid: string | undefined;
  ask: string | undefined;
  bidAmount: string | undefined;
  askAmount: string | undefined;
  latency: string | undefined;
}

export async function measureParseOnly(csv: string): Promise<ParseOnlyResult> {
  const started = performance.now();
  const parser = createReadStream(csv, { highWaterMark: 1 << 16 }).pipe(parse({ columns: true, bom: true }));
  let quotes = 0;
  // Kept (the last one) so that building the object cannot be optimised away.
  let last: RawQuote | undefined;
  parser.on('readable', () => {
    let row: Record<string, string> | null;
    while ((row = parser.read() as Record<string, string> | null) !== null) {
      last = {
        ticker: row.ticker,
        timestamp: row.timestamp,
        bid: row.bid_price,
        ask: row.ask_price,
        bidAmount: row.bid_amount,
        askAmount: row.ask_amount,
        latency: row.latency,
      };
      quotes++;
    }
  });
  await once(parser, 'end');
  if (last === undefined) throw new Error(`${csv}: no rows`);
  const seconds = (performance.now() - started) / 1000;
  return { quotes, seconds, quotesPerSec: Math.round(quotes / seconds) };
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [csv] = process.argv.slice(2);
  if (csv === undefined) throw new Error('usage: parse-only-floor.ts <csv>');
  process.stdout.write(JSON.stringify(await measureParseOnly(csv)) + '\n');
}
