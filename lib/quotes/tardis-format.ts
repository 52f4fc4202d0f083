/**
 * tardis.dev `quotes` and `book_ticker` CSV exports:
 *
 *     exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount
 *     binance-futures,BTCUSDT,1735689600012345,1735689600032346,3.5,94123.5,94123.4,1.25
 *
 * Times are µs since the epoch: `timestamp` the exchange's, `local_timestamp` when tardis received
 * the message. Ticker = `exchange:symbol` (the partition key: two venues' BTCUSDT stay apart),
 * timestamp = `timestamp`, arrival = `local_timestamp`, latency = their difference in ms, exact
 * (`20.001`). An empty side (no bid or no ask in the book) is rejected with that reason.
 */
import { HeaderIndex } from './header-index.ts';
import type { RowFormat } from './row-format.ts';
import { priceCell, reject, tickerCell, timedRow, type RowResult, type SideReader, type TimedColumns } from './row.ts';

/** The columns that tell a tardis export from other CSVs. */
export function isTardisHeader(names: readonly string[]): boolean {
  return names.includes('exchange') && names.includes('local_timestamp');
}

const side: SideReader = (cell, name, which) => {
  if (cell.length === 0) return `${name} is empty (no ${which} in the book)`;
  return priceCell(cell, name);
};

export function tardisFormat(names: readonly string[], file: string): RowFormat {
  const h = new HeaderIndex(names, file, 'tardis.dev quotes');
  const exchange = h.required('exchange');
  const symbol = h.required('symbol');
  const columns: TimedColumns = {
    event: h.required('timestamp'),
    received: h.required('local_timestamp'),
    eventName: 'timestamp',
    receivedName: 'local_timestamp',
    bid: h.required('bid_price'),
    ask: h.required('ask_price'),
    bidName: 'bid_price',
    askName: 'ask_price',
    amounts: { bid: h.optional('bid_amount'), ask: h.optional('ask_amount'), bidName: 'bid_amount', askName: 'ask_amount' },
  };
  const width = h.width;

  const parse = (record: string[], line: number): RowResult => {
    if (record.length !== width) return { ok: false, line, reason: `expected ${width} fields, got ${record.length}` };
    const venue = (record[exchange] ?? '').trim();
    if (venue.length === 0) return reject(line, 'exchange', 'exchange is empty');
    const instrument = (record[symbol] ?? '').trim();
    if (instrument.length === 0) return reject(line, 'symbol', 'symbol is empty');
    const ticker = tickerCell(`${venue}:${instrument}`, 'ticker (exchange:symbol)');
    if (typeof ticker === 'string') return reject(line, 'symbol', ticker);

    return timedRow(record, line, ticker.ticker, columns, side);
  };
  return { name: 'tardis', parse };
}
