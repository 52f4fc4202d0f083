/**
 * Market-data files the way tardis.dev and Databento export them, generated from a seed, with
 * the truth they were made from (integers: µs, ns, price units) so that tests can compute the
 * expected output lines on their own, with BigInt arithmetic written here, never with the code
 * under test.
 */
import { mulberry32 } from '../../data/generate.ts';

/** One generated row: what a correct replay must make of it. */
export interface TruthRow {
  file: number;
  /** File line of the row (header = 1). */
  line: number;
  /** Why the row must be rejected, or undefined when it is a quote. */
  bad?: string;
  /** Arrival and timestamp in ns since the epoch. */
  arrivalNs: bigint;
  timestampNs: bigint;
  /** Fraction digits the input has (6 tardis, 9 Databento). */
  digits: 6 | 9;
  /** Prices as integers at `scale` decimal places. */
  bidUnits: bigint;
  askUnits: bigint;
  scale: number;
}

export const T0_US = 1_735_826_400_000_000n; // 2025-01-02T14:00:00Z

/** BigInt to a decimal string at `scale` places, trailing zeros dropped (`15000`, 4 → `1.5`). */
export function decimalOf(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const int = digits.slice(0, digits.length - scale);
  const frac = digits.slice(digits.length - scale).replace(/0+$/, '');
  return (negative ? '-' : '') + (frac === '' ? int : `${int}.${frac}`);
}

/** `2025-01-02 14:00:00.123456` from ns, with `digits` fraction digits. */
export function logTimeOf(ns: bigint, digits: 6 | 9): string {
  const seconds = ns / 1_000_000_000n;
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0').slice(0, digits);
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19).replace('T', ' ')}.${fraction}`;
}

/**
 * The line a correct replay writes for `row`: an error line when its latency is strictly above
 * `thresholdMs`, else the exact mid, (bid + ask) / 2, one more decimal place than the prices.
 */
export function expectedLine(row: TruthRow, thresholdMs: bigint): { kind: 'mid' | 'error'; text: string } {
  const latencyNs = row.arrivalNs - row.timestampNs;
  const time = logTimeOf(row.timestampNs, row.digits);
  if (latencyNs > thresholdMs * 1_000_000n) {
    return { kind: 'error', text: `No mid price at ${time} as latency ${decimalOf(latencyNs, 6)}ms is bigger than ${thresholdMs}ms` };
  }
  return { kind: 'mid', text: `${time}, ${decimalOf((row.bidUnits + row.askUnits) * 5n, row.scale + 1)}` };
}

/** Valid rows in replay order: arrival, then the order the files were given, then line. */
export function inReplayOrder(rows: readonly TruthRow[]): TruthRow[] {
  return rows
    .filter((r) => r.bad === undefined)
    .sort((a, b) => (a.arrivalNs < b.arrivalNs ? -1 : a.arrivalNs > b.arrivalNs ? 1 : a.file - b.file || a.line - b.line));
}

export interface GeneratedFile {
  text: string;
  rows: TruthRow[];
}

/**
 * A tardis.dev `quotes` export: two exchanges, two symbols, µs times sorted by local_timestamp,
 * latencies of 0.5-40 ms (so some exceed a 20 ms threshold), and every `emptyEvery`-th row with
 * one side empty.
 */
export function tardisQuotes(options: { rows: number; seed: number; file: number; emptyEvery?: number }): GeneratedFile {
  const random = mulberry32(options.seed);
  const emptyEvery = options.emptyEvery ?? 17;
  const lines = ['exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount'];
  const rows: TruthRow[] = [];
  let localUs = T0_US;
  for (let i = 0; i < options.rows; i++) {
    localUs += BigInt(Math.floor(random() * 3_000));
    const latencyUs = BigInt(500 + Math.floor(random() * 39_500));
    const exchange = random() < 0.5 ? 'binance-futures' : 'okex-swap';
    const symbol = random() < 0.5 ? 'BTCUSDT' : 'ETHUSDT';
    const bidCents = BigInt(9_400_000 + Math.floor(random() * 10_000));
    const askCents = bidCents + BigInt(1 + Math.floor(random() * 9));
    const empty = (i + 1) % emptyEvery === 0 ? (random() < 0.5 ? 'bid' : 'ask') : undefined;
    const bidText = empty === 'bid' ? '' : decimalOf(bidCents, 2);
    const askText = empty === 'ask' ? '' : decimalOf(askCents, 2);
    const timestampUs = localUs - latencyUs;
    lines.push(`${exchange},${symbol},${timestampUs},${localUs},${random() < 0.5 ? '0.5' : '12.25'},${askText},${bidText},3.1`);
    rows.push({
      file: options.file,
      line: i + 2,
      bad: empty === undefined ? undefined : `${empty}_price is empty`,
      arrivalNs: localUs * 1000n,
      timestampNs: timestampUs * 1000n,
      digits: 6,
      bidUnits: bidCents,
      askUnits: askCents,
      scale: 2,
    });
  }
  return { text: lines.join('\n') + '\n', rows };
}

export const UNDEF_PRICE = 9_223_372_036_854_775_807n;

/**
 * A Databento MBP-1 export as the API writes it by default: ns integer times sorted by ts_recv,
 * fixed-point prices (1 unit = 1e-9, some with digits below the tick), every `undefEvery`-th row
 * with one side UNDEF_PRICE; `pretty` writes ISO times and decimal prices (UNDEF empty) instead.
 */
export function databentoMbp1(options: { rows: number; seed: number; file: number; undefEvery?: number; pretty?: boolean; startNs?: bigint }): GeneratedFile {
  const random = mulberry32(options.seed);
  const undefEvery = options.undefEvery ?? 13;
  const lines = [
    'ts_recv,ts_event,rtype,publisher_id,instrument_id,action,side,depth,price,size,flags,ts_in_delta,sequence,bid_px_00,ask_px_00,bid_sz_00,ask_sz_00,bid_ct_00,ask_ct_00,symbol',
  ];
  const rows: TruthRow[] = [];
  let recvNs = options.startNs ?? T0_US * 1000n;
  const iso = (ns: bigint): string => `${new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
  // pretty_px prints all nine decimals, as dbn does (`5000.250000000`).
  const px = (units: bigint): string => (options.pretty === true ? `${units / 1_000_000_000n}.${(units % 1_000_000_000n).toString().padStart(9, '0')}` : units.toString());
  for (let i = 0; i < options.rows; i++) {
    recvNs += BigInt(Math.floor(random() * 2_500_000));
    const latencyNs = BigInt(1_000 + Math.floor(random() * 35_000_000));
    const eventNs = recvNs - latencyNs;
    const symbol = random() < 0.5 ? 'ESH5' : 'NQH5';
    const bidUnits = 5_000_000_000_000n + BigInt(Math.floor(random() * 400)) * 250_000_000n + BigInt(Math.floor(random() * 3));
    const askUnits = bidUnits + BigInt(1 + Math.floor(random() * 4)) * 250_000_000n;
    const undef = (i + 1) % undefEvery === 0 ? (random() < 0.5 ? 'bid' : 'ask') : undefined;
    const bidText = undef === 'bid' ? (options.pretty === true ? '' : UNDEF_PRICE.toString()) : px(bidUnits);
    const askText = undef === 'ask' ? (options.pretty === true ? '' : UNDEF_PRICE.toString()) : px(askUnits);
    const times = options.pretty === true ? [iso(recvNs), iso(eventNs)] : [recvNs.toString(), eventNs.toString()];
    lines.push(`${times[0]},${times[1]},1,1,${symbol === 'ESH5' ? 5482 : 5483},A,B,0,${bidText},3,130,17000,${1170 + i},${bidText},${askText},3,5,1,2,${symbol}`);
    rows.push({
      file: options.file,
      line: i + 2,
      bad: undef === undefined ? undefined : `${undef}_px_00 is UNDEF_PRICE`,
      arrivalNs: recvNs,
      timestampNs: eventNs,
      digits: 9,
      bidUnits,
      askUnits,
      scale: 9,
    });
  }
  return { text: lines.join('\n') + '\n', rows };
}

/**
 * A zstd stream of raw (stored) blocks: a valid frame any decoder must read, written without a
 * compressor (the tests' own; fixtures made by the zstd CLI cover real compression).
 */
export function zstdStored(data: Buffer): Buffer {
  const BLOCK = 128 * 1024;
  // Magic, then a header without content size: Window_Descriptor 0x38 = 2^17 bytes (one block).
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38])];
  for (let offset = 0; offset === 0 || offset < data.length; offset += BLOCK) {
    const block = data.subarray(offset, offset + BLOCK);
    const last = offset + BLOCK >= data.length ? 1 : 0;
    const header = (block.length << 3) | last; // Block_Type 0 (raw) in bits 1-2
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff]), block);
  }
  return Buffer.concat(parts);
}
