/**
 * Databento MBP-1, BBO and TBBO CSV exports (the `bid_px_00`/`ask_px_00` schemas), as the API
 * writes them by default and with `pretty_ts` / `pretty_px` / `map_symbols`:
 *
 *     ts_recv,ts_event,rtype,publisher_id,instrument_id,action,side,depth,price,size,flags,ts_in_delta,sequence,bid_px_00,ask_px_00,bid_sz_00,ask_sz_00,bid_ct_00,ask_ct_00,symbol
 *     1735689600000123456,1735689600000100000,1,1,5482,A,B,0,5000250000000,3,130,17000,1170,5000250000000,5000500000000,3,5,1,2,ESH5
 *
 * Times are ns since the epoch (or ISO 8601 with 9 fraction digits with `pretty_ts`). Prices are
 * int64 counts of 1e-9 (a cell without a decimal point), or decimals with `pretty_px` (a cell
 * with one); both become the same exact decimal, trailing zeros dropped (`5000.25`). UNDEF_PRICE
 * (2^63 − 1, written empty with `pretty_px`) means the side has no price: the row is rejected
 * with that reason. Ticker = `symbol`, or `instrument_id` when there is no symbol column;
 * timestamp = `ts_event`; arrival = `ts_recv`; latency = ts_recv − ts_event, exact to the ns.
 */
import { fixedPointToDecimalString } from './decimal.ts';
import { HeaderIndex } from './header-index.ts';
import type { QuoteFields } from './quote.ts';
import type { RowFormat } from './row-format.ts';
import { acceptedRow, addAmounts, checkedPrice, latencyBetween, priceCell, reject, tickerCell, timestampCell, type Price, type RowResult } from './row.ts';
import { isoOf } from './timestamp.ts';

/** Databento's sentinel for "no price": i64::MAX. */
export const UNDEF_PRICE = '9223372036854775807';
/** Databento fixed-point prices: 1 unit = 1e-9. */
export const FIXED_PRICE_SCALE = 9;

const INTEGER = /^[+-]?\d+$/;

export function isDatabentoHeader(names: readonly string[]): boolean {
  return names.includes('ts_recv') && names.includes('ts_event');
}

/** A price cell (trimmed): fixed-point integer or decimal; UNDEF and empty are "no price". */
function price(cell: string, name: string, which: 'bid' | 'ask'): Price | string {
  if (cell.length === 0) return `${name} is empty (no ${which}: UNDEF_PRICE)`;
  if (!INTEGER.test(cell)) return priceCell(cell, name);
  if (cell === UNDEF_PRICE) return `${name} is UNDEF_PRICE (no ${which})`;
  const text = fixedPointToDecimalString(cell, FIXED_PRICE_SCALE) ?? '';
  return checkedPrice({ units: BigInt(cell), scale: FIXED_PRICE_SCALE }, text, cell, name);
}

export function databentoFormat(names: readonly string[], file: string): RowFormat {
  const h = new HeaderIndex(names, file, 'Databento');
  const tsRecv = h.required('ts_recv');
  const tsEvent = h.required('ts_event');
  const bidPx = h.required('bid_px_00', ' (MBP-1, BBO and TBBO exports have it)');
  const askPx = h.required('ask_px_00', ' (MBP-1, BBO and TBBO exports have it)');
  const symbolName = h.has('symbol') ? 'symbol' : 'instrument_id';
  const symbol = h.required(symbolName, ' (nor "symbol")');
  const amounts = { bid: h.optional('bid_sz_00'), ask: h.optional('ask_sz_00'), bidName: 'bid_sz_00', askName: 'ask_sz_00' };
  const width = h.width;

  const parse = (record: string[], line: number): RowResult => {
    if (record.length !== width) return { ok: false, line, reason: `expected ${width} fields, got ${record.length}` };
    const ticker = tickerCell(record[symbol] ?? '', symbolName);
    if (typeof ticker === 'string') return reject(line, symbolName, ticker);

    const event = timestampCell(record[tsEvent] ?? '', 'ts_event');
    if (typeof event === 'string') return reject(line, 'ts_event', event);
    const received = timestampCell(record[tsRecv] ?? '', 'ts_recv');
    if (typeof received === 'string') return reject(line, 'ts_recv', received);
    const latencyMs = latencyBetween(event, received, 'ts_event', 'ts_recv');
    if (typeof latencyMs === 'string') return reject(line, 'ts_recv', latencyMs);

    const bid = price((record[bidPx] ?? '').trim(), 'bid_px_00', 'bid');
    if (typeof bid === 'string') return reject(line, 'bid_px_00', bid);
    const ask = price((record[askPx] ?? '').trim(), 'ask_px_00', 'ask');
    if (typeof ask === 'string') return reject(line, 'ask_px_00', ask);

    const fields: QuoteFields = { ticker: ticker.ticker, timestamp: isoOf(event), bid: bid.text, ask: ask.text };
    const badAmount = addAmounts(fields, record, amounts, line);
    if (badAmount !== undefined) return badAmount;
    fields.latencyMs = latencyMs;
    return acceptedRow(line, fields, event, received.micros, received.nanos ?? 0, bid, ask);
  };
  return { name: 'databento', parse };
}
