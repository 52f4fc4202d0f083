/**
 * Deterministic synthetic quotes for the benchmark, streamed to a CSV file (never one big string).
 *
 * Same header and shape as `data/historical_sample.csv`; a seeded mulberry32 drives everything,
 * so a given (rows, seed) always gives the same bytes. Timestamps are sorted, ≈ 500 quotes per
 * second of market time (gaps 0–4 ms), latencies 0–150 ms, prices with 2 decimals.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { HISTORICAL_HEADER, mulberry32 } from '../data/generate.ts';

const TICKERS = [
  { symbol: 'AAPL', startBidCents: 24_312 },
  { symbol: 'MSFT', startBidCents: 42_158 },
  { symbol: 'GOOG', startBidCents: 19_095 },
  { symbol: 'AMZN', startBidCents: 22_041 },
] as const;

/** The default first timestamp (the live feed of the real-time phase starts elsewhere, to tell its lines apart). */
export const START_MS = Date.UTC(2025, 0, 2, 14, 30, 0);
const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}

const cents = (c: number): string => `${Math.floor(c / 100)}.${pad(c % 100)}`;

/** Writes `rows` quotes (plus header) to `file`; returns the file size in bytes. */
export async function writeSyntheticCsv(file: string, rows: number, seed = 42, startMs = START_MS): Promise<number> {
  const rand = mulberry32(seed);
  const bids: number[] = TICKERS.map((t) => t.startBidCents);
  const out = createWriteStream(file);
  let chunk = HISTORICAL_HEADER + '\n';
  let ms = startMs;
  for (let i = 0; i < rows; i++) {
    ms += Math.floor(rand() * 5); // 0–4 ms: equal timestamps happen, as in real feeds
    const k = Math.floor(rand() * TICKERS.length);
    const bid = Math.max(100, (bids[k] as number) + Math.floor(rand() * 7) - 3);
    bids[k] = bid;
    const ask = bid + 1 + Math.floor(rand() * 5);
    const latency = Math.floor(rand() * 151); // 0–150 ms
    const size = (): number => 100 * (1 + Math.floor(rand() * 20));
    chunk += `${i},${formatTimestamp(ms)},${TICKERS[k]?.symbol},${size()},${cents(ask)},${cents(bid)},${size()},${latency}\n`;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  return out.bytesWritten;
}
