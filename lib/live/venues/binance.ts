/**
 * Binance `bookTicker` streams: USDⓈ-M futures (`wss://fstream.binance.com/ws/btcusdt@bookTicker`)
 * and spot (`wss://stream.binance.com:9443/ws/btcusdt@bookTicker`), raw or combined
 * (`/stream?streams=…`, each message wrapped as `{"stream":…,"data":{…}}`).
 *
 *     {"e":"bookTicker","u":400900217,"E":1568014460893,"T":1568014460891,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}
 *
 * Ticker `s`, bid `b` (size `B`), ask `a` (size `A`); timestamp `T` (transaction time), else `E`
 * (event time), else the receive time (spot bookTicker has neither). `u` is the order book update
 * id: it only goes up, but jumps whenever the book changed below the top, so it is checked for
 * going backwards (a replayed or reordered message), not for gaps. The stream is chosen by the
 * URL; with `--live-subscribe SYMBOLS` a SUBSCRIBE message is sent instead (URL ending in `/ws`).
 */
import { JsonNumber, isObject, parseJsonText, type JsonObject } from './json-text.ts';
import { clientRequest, epochMsOf, quoteFromObject, receiveTime, venueTime, type VenueMapper, type VenueMessage } from './venue.ts';

const NAMES = { ticker: 's', bid: 'b', ask: 'a', bidAmount: 'B', askAmount: 'A' };

function timestampOf(message: JsonObject, receivedAtMs: number): ReturnType<typeof venueTime> {
  for (const key of ['T', 'E']) {
    const value = message[key];
    if (value instanceof JsonNumber) return venueTime(value.text, key);
  }
  return receiveTime(receivedAtMs);
}

export const binance: VenueMapper = {
  format: 'binance',

  feed: {
    // The stream is in the URL path; a SUBSCRIBE is answered but not needed.
    needsSubscribe: false,
    answerSubscribe: (text) => {
      const request = clientRequest(text);
      return request?.method === 'SUBSCRIBE' ? JSON.stringify({ result: null, id: request.id ?? null }) : undefined;
    },
    encode: (fields, sequence) => {
      const ms = epochMsOf(fields.timestamp);
      // Update ids jump (the book changes below the top too): every third id here.
      const u = sequence() * 3;
      return `{"e":"bookTicker","u":${u},"E":${ms + 2},"T":${ms},"s":${JSON.stringify(fields.ticker)},"b":"${fields.bid}","B":"${fields.bidAmount ?? '0'}","a":"${fields.ask}","A":"${fields.askAmount ?? '0'}"}`;
    },
  },

  subscribeMessages(symbols) {
    if (symbols.length === 0) return [];
    return [JSON.stringify({ method: 'SUBSCRIBE', params: symbols.map((s) => `${s.toLowerCase()}@bookTicker`), id: 1 })];
  },

  map(text, receivedAtMs): VenueMessage {
    const parsed = parseJsonText(text);
    if (!isObject(parsed)) return { kind: 'rejected', reason: 'expected a JSON object' };
    const message = isObject(parsed.data) && typeof parsed.stream === 'string' ? parsed.data : parsed;
    // `{"result":null,"id":1}` answers a SUBSCRIBE; other event types are not quotes.
    if ('result' in message && 'id' in message) return { kind: 'ignored' };
    if (message.e !== undefined && message.e !== 'bookTicker') return { kind: 'ignored' };
    const time = timestampOf(message, receivedAtMs);
    if (typeof time === 'string') return { kind: 'rejected', reason: time };
    const quote = quoteFromObject(message, NAMES, time);
    if (typeof quote === 'string') return { kind: 'rejected', reason: quote };
    const u = message.u instanceof JsonNumber ? Number(message.u.text) : Number.NaN;
    const sequence = Number.isSafeInteger(u) ? { stream: quote.fields.ticker, value: u, kind: 'increasing' as const } : undefined;
    return { kind: 'quotes', quotes: [quote], sequence };
  },
};
