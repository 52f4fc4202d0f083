/**
 * Deterministic sample-data generator for `historical_sample.csv` and `live_sample.csv`.
 *
 *   npx tsx data/generate.ts        (or `npm run data:generate`)
 *
 * The output is byte-for-byte reproducible: a seeded PRNG (mulberry32) drives everything, only
 * IEEE-exact arithmetic (+, -, *, /, floor) is applied to its draws (no Math.log/exp, whose
 * last bit may differ between engines), prices are integer cents, and timestamps are integer
 * milliseconds formatted in UTC. Lines end with LF and the file ends with a newline.
 * `test/unit/data/sample-data.test.ts` compares the committed files with fresh output.
 *
 * Shape of a row (the `index` column is 0-based, in file order):
 *   index,timestamp,ticker,ask_amount,ask_price,bid_price,bid_amount[,latency]
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface TickerSpec {
  symbol: string;
  /** Starting bid in integer cents. */
  startBidCents: number;
  /** Relative probability that a row belongs to this ticker. */
  weight: number;
}

export interface DatasetSpec {
  seed: number;
  rows: number;
  /** Epoch milliseconds (UTC) of the first row. */
  startMs: number;
  /** The last row lies at startMs + spanMs - 1. */
  spanMs: number;
  tickers: readonly TickerSpec[];
  /** Add a `latency` column (integer ms). */
  latency: boolean;
}

const TICKERS: readonly TickerSpec[] = [
  { symbol: 'AAPL', startBidCents: 24_312, weight: 0.3 },
  { symbol: 'MSFT', startBidCents: 42_158, weight: 0.25 },
  { symbol: 'GOOG', startBidCents: 19_095, weight: 0.2 },
  { symbol: 'AMZN', startBidCents: 22_041, weight: 0.25 },
];

/** ≈6,000 rows over 120 s of 2025-01-02 from 14:30:00 UTC, with latency. */
export const HISTORICAL_SPEC: DatasetSpec = {
  seed: 20250102,
  rows: 6000,
  startMs: Date.UTC(2025, 0, 2, 14, 30, 0),
  spanMs: 120_000,
  tickers: TICKERS,
  latency: true,
};

/** ≈3,000 rows over 60 s, right after the historical window, without latency. */
export const LIVE_SPEC: DatasetSpec = {
  seed: 987654321,
  rows: 3000,
  startMs: Date.UTC(2025, 0, 2, 14, 32, 0),
  spanMs: 60_000,
  tickers: TICKERS,
  latency: false,
};

export const HISTORICAL_HEADER = 'index,timestamp,ticker,ask_amount,ask_price,bid_price,bid_amount,latency';
export const LIVE_HEADER = 'index,timestamp,ticker,ask_amount,ask_price,bid_price,bid_amount';

/** mulberry32: a tiny, fast 32-bit seeded PRNG. Returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Generates the whole CSV (header, rows, trailing newline) for `spec`. Pure and deterministic. */
export function generateCsv(spec: DatasetSpec): string {
  const rand = mulberry32(spec.seed);
  const offsets = arrivalOffsetsMs(spec, rand);
  const bids = spec.tickers.map((t) => t.startBidCents);
  const totalWeight = spec.tickers.reduce((sum, t) => sum + t.weight, 0);

  const lines: string[] = [spec.latency ? HISTORICAL_HEADER : LIVE_HEADER];
  for (let i = 0; i < spec.rows; i++) {
    const k = pickTicker(spec.tickers, totalWeight, rand());
    const ticker = spec.tickers[k]!;
    const bid = Math.max(100, bids[k]! + priceStep(rand()));
    bids[k] = bid;
    const ask = bid + spreadCents(rand());
    const fields = [
      String(i),
      formatTimestamp(spec.startMs + offsets[i]!),
      ticker.symbol,
      String(amount(rand(), rand())),
      formatCents(ask),
      formatCents(bid),
      String(amount(rand(), rand())),
    ];
    if (spec.latency) fields.push(String(latencyMs(rand(), rand(), rand())));
    lines.push(fields.join(','));
  }
  return lines.join('\n') + '\n';
}

/**
 * Row offsets (integer ms from startMs, non-decreasing, first 0, last spanMs - 1). Gaps come from
 * a small regime model so arrivals are irregular: normal flow, bursts of sub-millisecond gaps
 * (which round to equal timestamps) and occasional pauses of a few hundred ms.
 */
function arrivalOffsetsMs(spec: DatasetSpec, rand: () => number): number[] {
  const positions = new Array<number>(spec.rows);
  let position = 0;
  let burstLeft = 0;
  for (let i = 0; i < spec.rows; i++) {
    if (i > 0) {
      let gap: number;
      const r = rand();
      if (burstLeft > 0) {
        burstLeft--;
        gap = 1.6 * rand() * rand(); // mean 0.4 ms
      } else if (r < 0.02) {
        burstLeft = 10 + Math.floor(rand() * 40);
        gap = 4 * rand();
      } else if (r < 0.025) {
        gap = 250 + 1000 * rand() * rand(); // a pause
      } else {
        gap = 100 * rand() * rand(); // mean 25 ms, skewed to short gaps
      }
      position += gap;
    }
    positions[i] = position;
  }
  const scale = position > 0 ? (spec.spanMs - 1) / position : 0;
  return positions.map((p) => Math.floor(p * scale));
}

function pickTicker(tickers: readonly TickerSpec[], totalWeight: number, u: number): number {
  let acc = 0;
  const target = u * totalWeight;
  for (let k = 0; k < tickers.length; k++) {
    acc += tickers[k]!.weight;
    if (target < acc) return k;
  }
  return tickers.length - 1;
}

/** Random-walk step of the bid, in cents. */
function priceStep(u: number): number {
  if (u < 0.6) return 0;
  if (u < 0.75) return 1;
  if (u < 0.9) return -1;
  if (u < 0.95) return 2;
  return -2;
}

/** Ask − bid in cents: mostly one cent, occasionally zero (a locked market). */
function spreadCents(u: number): number {
  if (u < 0.005) return 0;
  if (u < 0.7) return 1;
  if (u < 0.9) return 2;
  return 3 + Math.floor((u - 0.9) * 30); // 3..5
}

/** Round lots from 100 to 5000, skewed to small sizes. */
function amount(u1: number, u2: number): number {
  return 100 * (1 + Math.floor(50 * u1 * u2));
}

/**
 * Latency in ms: ≈1% zero, ≈87% 1–20 (skewed low), ≈11.5% 21–120, ≈0.5% 130–150.
 * So roughly 12% of rows lie above a 20 ms threshold.
 */
function latencyMs(r: number, u1: number, u2: number): number {
  if (r < 0.01) return 0;
  if (r < 0.88) return 1 + Math.floor(20 * u1 * u2);
  if (r < 0.995) return 21 + Math.floor(100 * u1 * u2);
  return 130 + Math.floor(21 * u1);
}

function formatCents(cents: number): string {
  const whole = Math.floor(cents / 100);
  const frac = cents % 100;
  return `${whole}.${frac < 10 ? '0' : ''}${frac}`;
}

/** `YYYY-MM-DD HH:MM:SS.fff` in UTC. */
function formatTimestamp(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 23).replace('T', ' ');
}

function isMainModule(): boolean {
  const entry = process.argv[1];
  return entry !== undefined && import.meta.url === pathToFileURL(resolve(entry)).href;
}

if (isMainModule()) {
  const dir = fileURLToPath(new URL('.', import.meta.url));
  for (const [name, spec] of [
    ['historical_sample.csv', HISTORICAL_SPEC],
    ['live_sample.csv', LIVE_SPEC],
  ] as const) {
    const file = resolve(dir, name);
    writeFileSync(file, generateCsv(spec));
    console.log(`wrote ${file} (${spec.rows} rows)`);
  }
}
