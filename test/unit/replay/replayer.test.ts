/** The replay loop's pacing around holds (the send window, a start gate). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pacer } from '../../../lib/replay/pacer.ts';
import type { PacedQuote, ReplaySource } from '../../../lib/replay/replay-source.ts';
import { replay } from '../../../lib/replay/replayer.ts';
import { FakeClock } from '../../support/fake-clock.ts';

const T0 = Date.UTC(2025, 0, 2, 14, 30) * 1000; // µs

function sourceOf(arrivalsMs: number[]): ReplaySource {
  const quotes: PacedQuote[] = arrivalsMs.map((ms, i) => ({
    mode: 'historical',
    source: 'hist:test',
    seq: i + 1,
    ticker: 'AAPL',
    timestamp: '2025-01-02T14:30:00.000Z',
    arrival: '2025-01-02T14:30:00.000Z',
    bid: '1.00',
    ask: '1.02',
    arrivalUs: T0 + ms * 1000,
  }));
  return {
    mode: 'historical',
    sourceId: 'hist:test',
    stats: { read: 0, rejected: 0, crossed: 0, emitted: 0 },
    acknowledge: () => undefined,
    position: () => undefined,
    close: () => Promise.resolve(),
    async *[Symbol.asyncIterator]() {
      for (const quote of quotes) yield await Promise.resolve(quote);
    },
  };
}

describe('replay', () => {
  it('paces from the end of a hold: quotes scheduled during it do not go out in a burst', async () => {
    const clock = new FakeClock(1_000);
    const sentAt: number[] = [];
    let first = true;
    await replay(sourceOf([0, 10, 20, 30]), {
      producer: { put: () => Promise.resolve(), flush: () => Promise.resolve() },
      pacer: new Pacer(1, clock),
      // The first quote is held 5 s (as `up` holds it until its mode API is ready).
      beforeSend: () => {
        if (!first) return undefined;
        first = false;
        clock.advance(5_000);
        return Promise.resolve();
      },
      onSent: () => sentAt.push(clock.now()),
    });
    assert.deepEqual(sentAt, [6_000, 6_010, 6_020, 6_030]);
  });
});
