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
import type { RowFormat } from './row-format.ts';
import { checkedPrice, priceCell, reject, tickerCell, timedRow, type RowResult, type SideReader, type TimedColumns } from './row.ts';

/** Databento's sentinel for "no price": i64::MAX. */
export const UNDEF_PRICE = '9223372036854775807';
/** Databento fixed-point prices: 1 unit = 1e-9. */
export const FIXED_PRICE_SCALE = 9;

const INTEGER = /^[+-]?\d+$/;

export function isDatabentoHeader(names: readonly string[]): boolean {
  return names.includes('ts_recv') && names.includes('ts_event');
}

/** A price cell (trimmed): fixed-point integer or decimal; UNDEF and empty are "no price". */
const price: SideReader = (cell, name, which) => {
  if (cell.length === 0) return `${name} is empty (no ${which}: UNDEF_PRICE)`;
  if (!INTEGER.test(cell)) return priceCell(cell, name);
  if (cell === UNDEF_PRICE) return `${name} is UNDEF_PRICE (no ${which})`;
  const text = fixedPointToDecimalString(cell, FIXED_PRICE_SCALE) ?? '';
  return checkedPrice({ units: BigInt(cell), scale: FIXED_PRICE_SCALE }, text, cell, name);
};

export function databentoFormat(names: readonly string[], file: string): RowFormat {
  const h = new HeaderIndex(names, file, 'Databento');
  const columns: TimedColumns = {
    event: h.required('ts_event'),
    received: h.required('ts_recv'),
    eventName: 'ts_event',
    receivedName: 'ts_recv',
    bid: h.required('bid_px_00', ' (MBP-1, BBO and TBBO exports have it)'),
    ask: h.required('ask_px_00', ' (MBP-1, BBO and TBBO exports have it)'),
    bidName: 'bid_px_00',
    askName: 'ask_px_00',
    amounts: { bid: h.optional('bid_sz_00'), ask: h.optional('ask_sz_00'), bidName: 'bid_sz_00', askName: 'ask_sz_00' },
  };
  const symbolName = h.has('symbol') ? 'symbol' : 'instrument_id';
  const symbol = h.required(symbolName, ' (nor "symbol")');
  const width = h.width;

  const parse = (record: string[], line: number): RowResult => {
    if (record.length !== width) return { ok: false, line, reason: `expected ${width} fields, got ${record.length}` };
    const ticker = tickerCell(record[symbol] ?? '', symbolName);
    if (typeof ticker === 'string') return reject(line, symbolName, ticker);

    return timedRow(record, line, ticker.ticker, columns, price);
  };
  return { name: 'databento', parse };
}
