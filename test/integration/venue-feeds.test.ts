/**
 * Live venue formats over real websockets: the feed simulator speaking a venue's protocol
 * (`feed --format`, recorded frames from test/fixtures/venues/) and the live source with the
 * matching `--live-format`: the subscription is sent after connecting and again after every
 * reconnect, quotes come out exact, sequence gaps are counted.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { startFeedServer } from '../../lib/live/feed-server.ts';
import { LiveSource } from '../../lib/live/live-source.ts';
import { silentLogger } from '../../lib/logging/logger.ts';
import { take } from '../support/take.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/venues/${name}`, import.meta.url));


describe('venue feeds', () => {
  it('coinbase: subscribes after connecting, gets the recorded ticker frames, counts the sequence gap', async () => {
    const feed = await startFeedServer({ frames: fixture('coinbase-advanced-trade-ticker.jsonl'), format: 'coinbase', port: 0, speed: 'max', loop: false, logger: silentLogger, waitForClients: 1 });
    const source = new LiveSource({ url: `${feed.url}#BTC-USD,ETH-USD`, format: 'coinbase', logger: silentLogger });
    try {
      const quotes = await take(source, 3);
      assert.deepEqual(
        quotes.map((q) => `${q.ticker} ${q.timestamp} ${q.bid} ${q.ask}`),
        ['BTC-USD 2025-01-02T14:00:00.123456789Z 94123.4 94123.5', 'ETH-USD 2025-01-02T14:00:00.123456789Z 3401.11 3401.12', 'BTC-USD 2025-01-02T14:00:01.500000001Z 0.1 0.2'],
      );
      assert.equal(source.liveStats.sequenceGaps, 1);
      assert.equal(source.liveStats.missedMessages, 2);
    } finally {
      await source.close();
      await feed.close();
    }
  });

  it('kraken: re-sends its subscription after every reconnect', async () => {
    const subscriptions: string[] = [];
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const port = (server.address() as { port: number }).port;
    let connections = 0;
    server.on('connection', (socket: WebSocket) => {
      const n = ++connections;
      socket.on('message', (data) => {
        subscriptions.push(`${n}:${(data as Buffer).toString('utf8')}`);
        socket.send(`{"channel":"ticker","type":"update","data":[{"symbol":"BTC/USD","bid":9412${n}.4,"bid_qty":1,"ask":9412${n}.5,"ask_qty":1,"timestamp":"2025-01-02T14:00:0${n}.000000Z"}]}`);
        // The first connection dies after its first quote: the source must reconnect and subscribe again.
        if (n === 1) setTimeout(() => socket.terminate(), 20);
      });
    });
    const source = new LiveSource({ url: `ws://127.0.0.1:${port}/v2`, format: 'kraken', subscribe: 'BTC/USD', logger: silentLogger, backoff: { baseMs: 10, capMs: 50 } });
    try {
      const quotes = await take(source, 2);
      assert.deepEqual(quotes.map((q) => `${q.bid}/${q.ask}`), ['94121.4/94121.5', '94122.4/94122.5']);
      const expected = '{"method":"subscribe","params":{"channel":"ticker","symbol":["BTC/USD"],"event_trigger":"bbo","snapshot":true}}';
      assert.deepEqual(subscriptions, [`1:${expected}`, `2:${expected}`]);
    } finally {
      await source.close();
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('binance: the feed simulator speaks bookTicker from a CSV, and the source stamps quotes with T', async () => {
    const feed = await startFeedServer({ file: 'data/live_sample.csv', format: 'binance', port: 0, speed: 'max', loop: false, logger: silentLogger, waitForClients: 1 });
    const source = new LiveSource({ url: `${feed.url}/ws/aapl@bookTicker`, format: 'binance', logger: silentLogger });
    try {
      const quotes = await take(source, 50);
      assert.equal(quotes.length, 50);
      // The simulator's T is the CSV row's timestamp (ms): the first rows of data/live_sample.csv.
      assert.equal(quotes[0]?.timestamp.slice(0, 19), '2025-01-02T14:32:00');
      assert.equal(source.stats.rejected, 0);
      assert.equal(source.liveStats.sequenceRegressions, 0);
    } finally {
      await source.close();
      await feed.close();
    }
  });
});
