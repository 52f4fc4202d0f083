/**
 * LiveSource against real sockets: the feed server, and hand-made ws servers that misbehave
 * (go away, send garbage, send too much, never answer pings, outpace the consumer).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { WebSocket, WebSocketServer, type ServerOptions } from 'ws';
import { startFeedServer } from '../../lib/live/feed-server.ts';
import { LiveSourceError } from '../../lib/live/live-errors.ts';
import { LiveSource, type LiveSourceOptions } from '../../lib/live/live-source.ts';
import type { Logger } from '../../lib/logging/logger.ts';
import { systemClock, type Clock } from '../../lib/time/clock.ts';
import type { PacedQuote } from '../../lib/replay/replay-source.ts';
import { useTempDir } from '../support/temp-dir.ts';
import { captureLogs, waitFor, type LogLine } from '../support/capture-logs.ts';

/** `promise`, or a failure naming `what` after `timeoutMs`: a broken source fails, never hangs. */
async function within<T>(what: string, promise: Promise<T>, timeoutMs = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function nextQuote(iterator: AsyncIterator<PacedQuote>, what = 'a quote'): Promise<PacedQuote> {
  const result = await within(what, iterator.next());
  if (result.done === true) assert.fail(`expected ${what}, the iteration ended`);
  return result.value;
}

function quoteText(i: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ ticker: `T${i}`, timestamp: '2025-01-02 14:32:00.000', bid: '1.5', ask: '1.6', bidAmount: String(i), ...extra });
}

/** A hand-made ws server that records what its clients did. */
interface TestServer {
  wss: WebSocketServer;
  port: number;
  url: string;
  sockets: WebSocket[];
  closeCodes: number[];
  pings: number;
  close(): Promise<void>;
}

async function startServer(onConnection: (ws: WebSocket, server: TestServer) => void, options: ServerOptions = {}, port = 0): Promise<TestServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port, ...options });
  await once(wss, 'listening');
  const actualPort = (wss.address() as AddressInfo).port;
  const server: TestServer = {
    wss,
    port: actualPort,
    url: `ws://127.0.0.1:${actualPort}`,
    sockets: [],
    closeCodes: [],
    pings: 0,
    close: async () => {
      const closed = server.sockets.filter((ws) => ws.readyState !== WebSocket.CLOSED).map((ws) => once(ws, 'close'));
      for (const ws of server.sockets) ws.terminate();
      await Promise.all(closed);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
  wss.on('connection', (ws) => {
    server.sockets.push(ws);
    ws.on('error', () => undefined);
    ws.on('ping', () => server.pings++);
    ws.on('close', (code) => server.closeCodes.push(code));
    onConnection(ws, server);
  });
  return server;
}

const FAST_BACKOFF = { baseMs: 20, capMs: 100 };

function source(url: string, logger: Logger, options: Partial<LiveSourceOptions> = {}): LiveSource {
  return new LiveSource({ url, logger, sessionId: 'sess', random: () => 0.5, backoff: FAST_BACKOFF, ...options });
}

/** Counts sleeps on the real clock: a way to wait for "the heartbeat had its chances". */
class CountingClock implements Clock {
  sleeps = 0;
  now(): number {
    return systemClock.now();
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps++;
    return systemClock.sleep(ms, signal);
  }
}

void describe('LiveSource', () => {
  const tmp = useTempDir();

  void it('yields the feed quotes in order, stamped live with increasing seq', async () => {
    const csv = tmp.join('live.csv');
    await writeFile(
      csv,
      'timestamp,ticker,bid_price,ask_price,bid_amount\n' +
        '2025-01-02 14:32:00.000,AAPL,243.12,243.14,2300\n' +
        '2025-01-02 14:32:00.027123,MSFT,421.58,421.63,300\n' +
        '2025-01-02 14:32:00.039,AAPL,243.13,243.12,1600\n',
    );
    const { logger } = captureLogs();
    const feed = await startFeedServer({ file: csv, port: 0, speed: 'max', loop: false, logger, waitForClients: 1 });
    const arrivalMs = Date.UTC(2025, 0, 2, 14, 33, 0, 123) + 0.456;
    const live = source(feed.url, logger, { now: () => arrivalMs });
    try {
      assert.equal(live.mode, 'live');
      assert.equal(live.sourceId, `live:ws://127.0.0.1:${feed.port}#sess`);
      const quotes: PacedQuote[] = [];
      for await (const quote of live) {
        quotes.push(quote);
        if (quotes.length === 3) break; // leaving the loop closes the source
      }
      const common = { mode: 'live', source: live.sourceId, arrival: '2025-01-02T14:33:00.123Z', arrivalUs: Date.UTC(2025, 0, 2, 14, 33, 0, 123) * 1000 };
      assert.deepEqual(quotes, [
        { ticker: 'AAPL', timestamp: '2025-01-02T14:32:00.000Z', bid: '243.12', ask: '243.14', bidAmount: '2300', ...common, seq: 1 },
        { ticker: 'MSFT', timestamp: '2025-01-02T14:32:00.027123Z', bid: '421.58', ask: '421.63', bidAmount: '300', ...common, seq: 2 },
        { ticker: 'AAPL', timestamp: '2025-01-02T14:32:00.039Z', bid: '243.13', ask: '243.12', bidAmount: '1600', ...common, seq: 3 },
      ]);
      assert.deepEqual(live.stats, { read: 3, rejected: 0, crossed: 1, emitted: 3 });
      assert.equal(live.liveStats.connection, 'closed');
      await waitFor('the feed to see the client leave', () => feed.clients() === 0);
    } finally {
      await live.close();
      await feed.close();
    }
  });

  void it('reconnects with logged, growing backoff when the server goes away and comes back on the same port', async () => {
    const { logger, lines } = captureLogs();
    const first = await startServer((ws) => ws.send(quoteText(1)));
    const live = source(first.url, logger);
    const iterator = live[Symbol.asyncIterator]();
    try {
      assert.equal((await nextQuote(iterator)).ticker, 'T1');
      await first.close();
      const attempts = (): LogLine[] => lines.filter((l) => l.message === 'reconnecting to the live feed');
      await waitFor('three failed reconnect attempts', () => attempts().length >= 3);
      // Full jitter with random() = 0.5: half of min(cap 100, base 20 × 2^(attempt-1)).
      assert.deepEqual(
        attempts().slice(0, 3).map((l) => [l.attempt, l.delayMs]),
        [
          [1, 10],
          [2, 20],
          [3, 40],
        ],
      );
      assert.match(String(attempts()[1]?.lastError), /ECONNREFUSED/);

      const second = await startServer((ws) => ws.send(quoteText(2)), {}, first.port);
      const quote = await nextQuote(iterator, 'the quote from the restarted server');
      assert.deepEqual([quote.ticker, quote.seq], ['T2', 2]);
      assert.ok(live.liveStats.reconnects >= 3);
      assert.equal(live.liveStats.connection, 'open');

      // That connection delivered a message, so the next outage starts the backoff afresh.
      const before = attempts().length;
      await second.close();
      await waitFor('a reconnect attempt after the second outage', () => attempts().length > before);
      assert.equal(attempts()[before]?.attempt, 1);
    } finally {
      await live.close();
    }
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
  });

  void it('counts and logs garbage frames, keeps the connection and delivers the quotes after them', async () => {
    const { logger, lines } = captureLogs();
    const server = await startServer((ws) => {
      ws.send('not json');
      ws.send(JSON.stringify({ ticker: 'AAPL', timestamp: '2025-01-02 14:32:00', bid: true, ask: '1' }));
      ws.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]), { binary: true });
      ws.send(quoteText(7));
    });
    const live = source(server.url, logger);
    const iterator = live[Symbol.asyncIterator]();
    try {
      const quote = await nextQuote(iterator);
      assert.deepEqual([quote.ticker, quote.seq], ['T7', 1]);
      assert.deepEqual(live.stats, { read: 4, rejected: 3, crossed: 0, emitted: 1 });
      assert.equal(live.liveStats.reconnects, 0);
      assert.equal(server.sockets.length, 1);
      assert.equal(server.sockets[0]?.readyState, WebSocket.OPEN);
      const reasons = lines.filter((l) => l.message === 'live message rejected').map((l) => l.reason);
      assert.equal(reasons.length, 3);
      assert.match(String(reasons[0]), /^not valid JSON: /);
      assert.equal(reasons[1], 'field "bid" must be a decimal string');
      assert.equal(reasons[2], 'binary frame: quotes are JSON text messages');
    } finally {
      await live.close();
      await server.close();
    }
  });

  void it('logs a flood of bad messages sampled, with counts', async () => {
    const { logger, lines } = captureLogs();
    const server = await startServer((ws) => {
      for (let i = 0; i < 2_500; i++) ws.send('{}');
      ws.send(quoteText(1));
    });
    const live = source(server.url, logger);
    const iterator = live[Symbol.asyncIterator]();
    try {
      await nextQuote(iterator);
      assert.equal(live.stats.rejected, 2_500);
      const logged = lines.filter((l) => l.message === 'live message rejected');
      assert.deepEqual(
        logged.map((l) => l.rejected),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1_000, 2_000],
      );
      assert.match(String(logged[9]?.note), /one in 1000/);
    } finally {
      await live.close();
      await server.close();
    }
  });

  void it('closes with 1009 on a frame over maxPayload, counts it and reconnects', async () => {
    const { logger, lines } = captureLogs();
    const server = await startServer((ws, s) => {
      if (s.sockets.length === 1) ws.send(quoteText(1, { padding: 'x'.repeat(1_000) }));
      else ws.send(quoteText(2));
    });
    const live = source(server.url, logger, { maxPayload: 256 });
    const iterator = live[Symbol.asyncIterator]();
    try {
      const quote = await nextQuote(iterator, 'the quote after reconnecting');
      assert.deepEqual([quote.ticker, quote.seq], ['T2', 1]);
      assert.equal(live.liveStats.oversize, 1);
      assert.equal(live.liveStats.reconnects, 1);
      assert.deepEqual(live.stats, { read: 2, rejected: 1, crossed: 0, emitted: 1 });
      assert.equal(server.closeCodes[0], 1009);
      assert.ok(lines.some((l) => l.message.startsWith('message larger than maxPayload') && l.maxPayload === 256));
    } finally {
      await live.close();
      await server.close();
    }
  });

  void it('terminates a peer that stops answering pings within ping + pong timeout, and reconnects', async () => {
    const { logger, lines } = captureLogs();
    const connectedAt: number[] = [];
    const closedAt: number[] = [];
    const server = await startServer(
      (ws) => {
        connectedAt.push(performance.now());
        ws.on('close', () => closedAt.push(performance.now()));
      },
      { autoPong: false },
    );
    const live = source(server.url, logger, { pingIntervalMs: 100, pongTimeoutMs: 100 });
    const pending = live[Symbol.asyncIterator]().next();
    try {
      await waitFor('a second connection after the silent one', () => connectedAt.length >= 2, 3_000);
      assert.ok(live.liveStats.pongTimeouts >= 1);
      assert.ok(server.pings >= 1);
      const lived = (closedAt[0] ?? Infinity) - (connectedAt[0] ?? 0);
      assert.ok(lived >= 150 && lived < 1_000, `the silent connection lived ${lived} ms; expected about 200 (ping 100 + pong 100)`);
      assert.equal(server.closeCodes[0], 1006, 'terminated, not closed: a dead peer would never answer a close frame');
      assert.ok(lines.some((l) => l.message === 'no pong from the live feed: terminating the connection'));
    } finally {
      await live.close();
      await server.close();
    }
    assert.equal((await pending).done, true);
  });

  void it('keeps a peer that answers pings', async () => {
    const { logger } = captureLogs();
    const server = await startServer(() => undefined);
    const live = source(server.url, logger, { pingIntervalMs: 20, pongTimeoutMs: 20 });
    const pending = live[Symbol.asyncIterator]().next();
    try {
      await waitFor('five pings answered', () => server.pings >= 5);
      assert.equal(live.liveStats.pongTimeouts, 0);
      assert.equal(server.sockets.length, 1);
    } finally {
      await live.close();
      await server.close();
    }
    assert.equal((await pending).done, true);
  });

  void it('pauses reading when the queue is full, never queues more than maxQueued, and loses nothing', async () => {
    const { logger } = captureLogs();
    const count = 5_000;
    const padding = 'p'.repeat(3_000); // ~15 MB in all: more than loopback socket buffers hold
    const server = await startServer((ws) => {
      for (let i = 1; i <= count; i++) ws.send(quoteText(i, { padding }));
    });
    const clock = new CountingClock();
    const maxQueued = 50;
    const live = source(server.url, logger, { maxQueued, clock, pingIntervalMs: 20, pongTimeoutMs: 20 });
    const iterator = live[Symbol.asyncIterator]();
    try {
      assert.equal((await nextQuote(iterator)).seq, 1);
      // The consumer now stops reading.
      await waitFor('reading to pause', () => live.liveStats.paused);
      await waitFor('the server to hold unsent data', () => (server.sockets[0]?.bufferedAmount ?? 0) > 1024 * 1024);
      const sleeps = clock.sleeps;
      await waitFor('the heartbeat to have had several chances', () => clock.sleeps >= sleeps + 5);
      assert.ok(live.liveStats.queued <= maxQueued, `queued ${live.liveStats.queued}`);
      // Only the rest of the socket read in progress at the pause (≤ 64 KiB ≈ 21 such frames).
      assert.ok(live.liveStats.held <= 25, `held ${live.liveStats.held}`);
      assert.ok(live.stats.read < count / 4, `read ${live.stats.read} of ${count} while paused`);
      // Paused is not dead: no pong timeout while we were the ones not reading.
      assert.equal(live.liveStats.pongTimeouts, 0);
      assert.equal(live.liveStats.reconnects, 0);

      // Drain: everything arrives, in order, the queue still bounded on the way.
      let maxSeen = 0;
      for (let seq = 2; seq <= count; seq++) {
        const quote = await nextQuote(iterator);
        assert.equal(quote.seq, seq);
        assert.equal(quote.bidAmount, String(seq));
        maxSeen = Math.max(maxSeen, live.liveStats.queued);
      }
      assert.ok(maxSeen <= maxQueued, `queue reached ${maxSeen}`);
      assert.deepEqual(live.stats, { read: count, rejected: 0, crossed: 0, emitted: count });
      assert.equal(live.liveStats.paused, false);
    } finally {
      await live.close();
      await server.close();
    }
  });

  void it('close() ends the iteration and leaves no sockets or timers behind', async () => {
    const { logger } = captureLogs();
    const server = await startServer((ws) => ws.send(quoteText(1)));
    const resources = (): Record<string, number> => {
      const counts: Record<string, number> = {};
      for (const name of process.getActiveResourcesInfo()) counts[name] = (counts[name] ?? 0) + 1;
      return { sockets: counts.TCPSocketWrap ?? 0, timers: counts.Timeout ?? 0 };
    };
    const before = resources();
    const live = source(server.url, logger, { pingIntervalMs: 50, pongTimeoutMs: 50 });
    const received: PacedQuote[] = [];
    const loop = (async () => {
      for await (const quote of live) received.push(quote);
    })();
    try {
      await waitFor('the first quote', () => received.length === 1);
      await waitFor('a heartbeat round', () => server.pings >= 1);
      await live.close();
      await within('the for-await loop to end', loop);
      await live.close(); // idempotent
      assert.equal(live.liveStats.connection, 'closed');
      await waitFor('the server side of the connection to close', () => server.closeCodes.length === 1);
      assert.equal(server.closeCodes[0], 1000, 'a clean close frame');
      assert.deepEqual(resources(), before);
      // One iteration per source.
      await assert.rejects(live[Symbol.asyncIterator]().next(), LiveSourceError);
    } finally {
      await live.close();
      await server.close();
    }
  });

  void it('close() before iterating ends the iteration at once without connecting', async () => {
    const { logger } = captureLogs();
    const server = await startServer(() => undefined);
    const live = source(server.url, logger);
    await live.close();
    try {
      assert.deepEqual(await live[Symbol.asyncIterator]().next(), { done: true, value: undefined });
      assert.equal(server.sockets.length, 0);
    } finally {
      await server.close();
    }
  });
});
