/**
 * Coinbase Advanced Trade websocket (`wss://advanced-trade-ws.coinbase.com`), `ticker` channel:
 *
 *     {"channel":"ticker","client_id":"","timestamp":"2023-02-09T20:30:37.167359596Z","sequence_num":0,
 *      "events":[{"type":"snapshot","tickers":[{"type":"ticker","product_id":"BTC-USD","price":"21932.98",
 *      "best_bid":"21931.98","best_bid_quantity":"8000.21","best_ask":"21933.98","best_ask_quantity":"8038.07770938"}]}]}
 *
 * Ticker `product_id`, bid `best_bid`, ask `best_ask` (sizes `best_*_quantity`), timestamp the
 * message's `timestamp` (ns precision). Nothing is sent before a subscribe message: with
 * `--live-subscribe BTC-USD,ETH-USD` (or `#BTC-USD,ETH-USD` after the URL) the source subscribes
 * to `ticker` and to `heartbeats` (which keeps a quiet connection open), again after every
 * reconnect. `sequence_num` numbers every message of a connection, heartbeats included: a jump is
 * that many messages missed.
 */
import { JsonNumber, isObject, parseJsonText } from './json-text.ts';
import { clientRequest, quoteFromObject, venueTime, type VenueMapper, type VenueMessage, type VenueQuote } from './venue.ts';

const NAMES = { ticker: 'product_id', bid: 'best_bid', ask: 'best_ask', bidAmount: 'best_bid_quantity', askAmount: 'best_ask_quantity' };

export const coinbase: VenueMapper = {
  format: 'coinbase',

  feed: {
    needsSubscribe: true,
    answerSubscribe: (text, sequence) => {
      const request = clientRequest(text);
      if (request?.type !== 'subscribe' || typeof request.channel !== 'string') return undefined;
      const subscriptions = { [request.channel]: request.product_ids ?? [] };
      return JSON.stringify({ channel: 'subscriptions', client_id: '', timestamp: new Date().toISOString(), sequence_num: sequence(), events: [{ subscriptions }] });
    },
    encode: (fields, sequence) => {
      const ticker = { type: 'ticker', product_id: fields.ticker, price: fields.ask, best_bid: fields.bid, best_bid_quantity: fields.bidAmount ?? '0', best_ask: fields.ask, best_ask_quantity: fields.askAmount ?? '0' };
      return JSON.stringify({ channel: 'ticker', client_id: '', timestamp: fields.timestamp, sequence_num: sequence(), events: [{ type: 'update', tickers: [ticker] }] });
    },
  },

  subscribeMessages(symbols) {
    if (symbols.length === 0) return [];
    return ['ticker', 'heartbeats'].map((channel) => JSON.stringify({ type: 'subscribe', product_ids: symbols, channel }));
  },

  map(text): VenueMessage {
    const message = parseJsonText(text);
    if (!isObject(message)) return { kind: 'rejected', reason: 'expected a JSON object' };
    if (message.type === 'error') return { kind: 'rejected', reason: `the venue reported an error: ${typeof message.message === 'string' ? message.message : ''}`.slice(0, 200) };
    const n = message.sequence_num instanceof JsonNumber ? Number(message.sequence_num.text) : Number.NaN;
    const sequence = Number.isSafeInteger(n) ? { stream: 'connection', value: n, kind: 'consecutive' as const } : undefined;
    if (message.channel !== 'ticker') return { kind: 'ignored', sequence };
    if (typeof message.timestamp !== 'string') return { kind: 'rejected', reason: 'field "timestamp" is missing' };
    const time = venueTime(message.timestamp, 'timestamp');
    if (typeof time === 'string') return { kind: 'rejected', reason: time };
    const quotes: VenueQuote[] = [];
    const events = Array.isArray(message.events) ? message.events : [];
    for (const event of events) {
      const tickers = isObject(event) && Array.isArray(event.tickers) ? event.tickers : [];
      for (const ticker of tickers) {
        if (!isObject(ticker)) return { kind: 'rejected', reason: 'a ticker entry is not an object' };
        const quote = quoteFromObject(ticker, NAMES, time);
        if (typeof quote === 'string') return { kind: 'rejected', reason: quote };
        quotes.push(quote);
      }
    }
    return quotes.length === 0 ? { kind: 'ignored', sequence } : { kind: 'quotes', quotes, sequence };
  },
};
