/** The live formats by name (`--live-format`); adding a venue is one mapper file and one line here. */
import { ConfigError } from '../../errors.ts';
import { binance } from './binance.ts';
import { coinbase } from './coinbase.ts';
import { jsonFeed } from './json.ts';
import { kraken } from './kraken.ts';
import { LIVE_FORMATS, type LiveFormat, type VenueMapper } from './venue.ts';

const MAPPERS: Readonly<Record<LiveFormat, VenueMapper>> = { json: jsonFeed, binance, coinbase, kraken };

export function isLiveFormat(name: string): name is LiveFormat {
  return (LIVE_FORMATS as readonly string[]).includes(name);
}

export function venueMapper(format: string): VenueMapper {
  if (!isLiveFormat(format)) throw new ConfigError(`--live-format must be one of ${LIVE_FORMATS.join(', ')}, got "${format}"`, { name: '--live-format' });
  return MAPPERS[format];
}

/**
 * The messages to send after each connect: `subscribe` is either JSON messages (`{…}` or a JSON
 * array of messages), sent as given, or a comma-separated symbol list that the venue's mapper
 * turns into its own subscribe messages. Symbols may also follow the URL as a fragment
 * (`wss://ws.kraken.com/v2#BTC/USD`), which is never sent to the server.
 */
export function subscribeMessages(mapper: VenueMapper, subscribe: string | undefined, url: string): string[] {
  const fragment = url.includes('#') ? url.slice(url.indexOf('#') + 1) : '';
  const given = subscribe?.trim() ?? '';
  if (given.startsWith('{') || given.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(given);
    } catch (error) {
      throw new ConfigError(`--live-subscribe is not valid JSON: ${(error as Error).message}`, { name: '--live-subscribe' });
    }
    return (Array.isArray(parsed) ? parsed : [parsed]).map((m) => JSON.stringify(m));
  }
  const symbols = [given, decodeURIComponent(fragment)]
    .join(',')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return mapper.subscribeMessages(symbols);
}
