/**
 * Kraken WebSocket v2 (`wss://ws.kraken.com/v2`), `ticker` channel:
 *
 *     {"channel":"ticker","type":"update","data":[{"symbol":"BTC/USD","bid":94123.4,"bid_qty":0.5,
 *      "ask":94123.5,"ask_qty":1.25,"last":94123.5,"volume":1520.2,"vwap":94000.1,"low":93000.0,
 *      "high":95000.0,"change":120.5,"change_pct":0.13,"timestamp":"2025-01-02T14:30:00.123456Z"}]}
 *
 * Prices and sizes are JSON numbers: their decimal text is kept exactly as sent (json-text.ts),
 * never read into a float. Ticker `symbol`, bid `bid`, ask `ask` (sizes `*_qty`), timestamp the
 * entry's `timestamp` where it has one, else the receive time. Subscribed with
 * `--live-subscribe BTC/USD,ETH/USD` (or `#BTC/USD,ETH/USD` after the URL), on best bid/offer
 * changes (`event_trigger: bbo`), again after every reconnect. v2 has no sequence numbers on
 * this channel.
 */
import { isObject, parseJsonText } from './json-text.ts';
import { clientRequest, quoteFromObject, receiveTime, venueTime, type VenueMapper, type VenueMessage, type VenueQuote } from './venue.ts';

const NAMES = { ticker: 'symbol', bid: 'bid', ask: 'ask', bidAmount: 'bid_qty', askAmount: 'ask_qty' };

export const kraken: VenueMapper = {
  format: 'kraken',

  feed: {
    needsSubscribe: true,
    answerSubscribe: (text) => {
      const request = clientRequest(text);
      const params = request?.params as Record<string, unknown> | undefined;
      if (request?.method !== 'subscribe' || params?.channel !== 'ticker') return undefined;
      const now = new Date().toISOString();
      return JSON.stringify({ method: 'subscribe', result: { channel: 'ticker', symbol: params.symbol, snapshot: true, event_trigger: 'bbo' }, success: true, time_in: now, time_out: now });
    },
    // Prices and sizes as JSON numbers, written from their decimal text as Kraken sends them.
    encode: (fields) =>
      `{"channel":"ticker","type":"update","data":[{"symbol":${JSON.stringify(fields.ticker)},"bid":${fields.bid},"bid_qty":${fields.bidAmount ?? '0'},` +
      `"ask":${fields.ask},"ask_qty":${fields.askAmount ?? '0'},"timestamp":${JSON.stringify(fields.timestamp)}}]}`,
  },

  subscribeMessages(symbols) {
    if (symbols.length === 0) return [];
    return [JSON.stringify({ method: 'subscribe', params: { channel: 'ticker', symbol: symbols, event_trigger: 'bbo', snapshot: true } })];
  },

  map(text, receivedAtMs): VenueMessage {
    const message = parseJsonText(text);
    if (!isObject(message)) return { kind: 'rejected', reason: 'expected a JSON object' };
    if (message.method !== undefined) {
      // Answers to our requests: a refused subscription is worth a log line, the rest is not.
      if (message.success === false) return { kind: 'rejected', reason: `the venue refused a request: ${typeof message.error === 'string' ? message.error : ''}`.slice(0, 200) };
      return { kind: 'ignored' };
    }
    if (message.channel !== 'ticker') return { kind: 'ignored' };
    const data = Array.isArray(message.data) ? message.data : [];
    const quotes: VenueQuote[] = [];
    for (const entry of data) {
      if (!isObject(entry)) return { kind: 'rejected', reason: 'a data entry is not an object' };
      const time = typeof entry.timestamp === 'string' ? venueTime(entry.timestamp, 'timestamp') : receiveTime(receivedAtMs);
      if (typeof time === 'string') return { kind: 'rejected', reason: time };
      const quote = quoteFromObject(entry, NAMES, time);
      if (typeof quote === 'string') return { kind: 'rejected', reason: quote };
      quotes.push(quote);
    }
    return quotes.length === 0 ? { kind: 'ignored' } : { kind: 'quotes', quotes };
  },
};
