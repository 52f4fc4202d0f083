/** Our own live format (live-message.ts) as a venue: one quote per message, no subscription. */
import { encodeLiveMessage, parseLiveMessage } from '../live-message.ts';
import type { VenueMapper, VenueMessage } from './venue.ts';

export const jsonFeed: VenueMapper = {
  format: 'json',
  feed: { needsSubscribe: false, answerSubscribe: () => undefined, encode: (fields) => encodeLiveMessage(fields) },
  subscribeMessages: () => [],
  map(text): VenueMessage {
    const result = parseLiveMessage(text);
    if (!result.ok) return { kind: 'rejected', reason: result.reason };
    const { fields, crossed, implausible } = result;
    return { kind: 'quotes', quotes: [implausible === true ? { fields, crossed, implausible } : { fields, crossed }] };
  },
};
