/**
 * The live source under socket faults: the real feed server behind a TCP proxy that black-holes
 * or cuts connections, and a hand-made ws server that floods malformed, oversize and fragmented
 * frames. Detection within the ping timeout, reconnection, seq without gaps or repeats, every
 * bad frame counted, and no timer, socket or memory left behind.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { WebSocketServer, type WebSocket } from 'ws';
import { parseAllowedHosts } from '../../lib/http/allowed-hosts.ts';
import { startFeedServer, type FeedServer } from '../../lib/live/feed-server.ts';
import { LiveSource, type LiveSourceOptions } from '../../lib/live/live-source.ts';
import { silentLogger } from '../../lib/logging/logger.ts';
import type { PacedQuote } from '../../lib/replay/replay-source.ts';
import { captureLogs, waitFor } from '../support/capture-logs.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';

/** A full garbage collection, without --expose-gc on the test runner's command line. */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

/** Reads the source in the background into `quotes` until it ends. */
function drain(live: LiveSource): { quotes: PacedQuote[]; done: Promise<void> } {
  const quotes: PacedQuote[] = [];
  const done = (async () => {
    for await (const quote of live) quotes.push(quote);
  })();
  return { quotes, done };
}

/** Seqs are 1, 2, 3, … with no gap and no repeat (what a consumer uses to spot a loss). */
function assertGapless(quotes: readonly PacedQuote[]): void {
  quotes.forEach((q, i) => assert.equal(q.seq, i + 1, `seq at position ${i}`));
}

/** Handles that keep the event loop busy, by kind (sockets, timers…). */
function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

const FAST_RECONNECT: Partial<LiveSourceOptions> = { backoff: { baseMs: 1, capMs: 10 } };

describe('live source under socket faults', () => {
  let tmp: TempDir;
  let feed: FeedServer;
  let proxy: TcpProxy;

  before(async () => {
    tmp = await makeTempDir();
    const rows = Array.from({ length: 200 }, (_, i) => `${new Date(Date.UTC(2030, 0, 1) + i * 5).toISOString()},L${i % 3},1.${i % 10},2`);
    await writeFile(tmp.join('live.csv'), ['timestamp,ticker,bid,ask', ...rows].join('\n') + '\n');
    // Clients reach the feed through the proxy's port, so their Host names that port: allowed
    // the way a port mapping is (ALLOWED_HOSTS=127.0.0.1 takes the name at any port).
    feed = await startFeedServer({ file: tmp.join('live.csv'), port: 0, speed: 1, loop: true, logger: silentLogger, allowedHosts: parseAllowedHosts('127.0.0.1') });
    proxy = await startTcpProxy(feed.port);
  });

  after(async () => {
    await proxy.close();
    await feed.close();
    await tmp.remove();
  });

  it('detects a black-holed feed (no FIN) within ping + pong timeout and reconnects', async () => {
    const { logger, lines } = captureLogs();
    const live = new LiveSource({ url: `ws://127.0.0.1:${proxy.port}`, logger, pingIntervalMs: 200, pongTimeoutMs: 300, ...FAST_RECONNECT });
    const { quotes, done } = drain(live);
    try {
      await waitFor('quotes before the black hole', () => quotes.length >= 20);
      proxy.blackhole();
      const holedAt = performance.now();
      const before = quotes.length;
      await waitFor('the dead connection detected', () => live.liveStats.pongTimeouts >= 1, 5_000);
      const detectedMs = performance.now() - holedAt;
      // At most one ping interval until the next ping, then the pong timeout (+ slack for a loaded machine).
      assert.ok(detectedMs <= 200 + 300 + 500, `detected after ${detectedMs.toFixed(0)} ms`);
      await waitFor('quotes after reconnecting', () => quotes.length >= before + 20, 5_000);
      assert.equal(live.liveStats.reconnects, 1);
      assert.equal(proxy.accepted(), 2);
      assert.ok(lines.some((l) => l.message === 'no pong from the live feed: terminating the connection'));
      assertGapless(quotes);
    } finally {
      await live.close();
      await done;
    }
  });

  it('returns to its baseline of sockets and timers after 100 disconnects', async () => {
    // Settle what earlier tests left closing, then take the baseline.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const baseline = resources();
    const live = new LiveSource({ url: `ws://127.0.0.1:${proxy.port}`, logger: silentLogger, ...FAST_RECONNECT });
    const { quotes, done } = drain(live);
    const startAccepted = proxy.accepted();
    try {
      for (let cut = 0; cut < 100; cut++) {
        await waitFor(`connection ${cut + 1} open`, () => live.liveStats.connection === 'open' && proxy.open() > 0, 5_000);
        proxy.cutAll();
        // Reconnection takes a few ms: count it rather than try to see the closed state.
        await waitFor(`reconnect ${cut + 1}`, () => live.liveStats.reconnects === cut + 1, 5_000);
      }
      await waitFor('a last connection', () => live.liveStats.connection === 'open', 5_000);
      assert.equal(live.liveStats.reconnects, 100);
      assert.equal(proxy.accepted() - startAccepted, 101);
      assertGapless(quotes);
    } finally {
      await live.close();
      await done;
    }
    // Sockets close asynchronously: wait (bounded) for the counts to come back.
    const kinds = ['TCPSocketWrap', 'Timeout', 'Immediate'];
    const same = (): boolean => kinds.every((k) => (resources().get(k) ?? 0) <= (baseline.get(k) ?? 0));
    await waitFor(`resources back to ${JSON.stringify(Object.fromEntries(baseline))}, now ${JSON.stringify(Object.fromEntries(resources()))}`, same, 5_000);
  });

  it('counts 10,000 malformed frames, oversize frames and fragment floods; stays up within +20 MB RSS', async () => {
    const maxPayload = 4_096;
    const valid = (i: number): string => JSON.stringify({ ticker: `V${i}`, timestamp: '2030-01-01 00:00:00.000', bid: '1', ask: '2' });
    const garbage = ['not json', '{}', '[1,2]', '{"ticker":"X","timestamp":"yesterday","bid":"1","ask":"2"}', '{"ticker":"X","timestamp":"2030-01-01 00:00:00","bid":-1,"ask":"2"}'];
    let connections = 0;
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    wss.on('connection', (ws: WebSocket) => {
      ws.on('error', () => undefined);
      const n = ++connections;
      if (n === 1) {
        for (let i = 0; i < 10_000; i++) ws.send(garbage[i % garbage.length] as string);
        ws.send(valid(1));
        // A clean close: the client reconnects to the next scenario.
        ws.close(1000);
      } else if (n <= 6) {
        // Five oversize frames, each on its own connection (the client closes with 1009).
        ws.send(valid(n).replace('{', `{"pad":"${'x'.repeat(maxPayload)}",`));
      } else if (n === 7) {
        // A valid quote in 1-byte fragments: one message, accepted.
        const text = valid(7);
        for (let i = 0; i < text.length - 1; i++) ws.send(text[i] as string, { fin: false });
        ws.send(text.at(-1) as string, { fin: true });
        // Then a fragment flood that never ends within maxPayload: refused as oversize.
        for (let i = 0; i < 50_000; i++) ws.send('x', { fin: false });
      } else ws.send(valid(n));
    });
    const { logger } = captureLogs();
    // Both readings after a full collection: what the client retains, not the garbage it has not yet collected.
    collectGarbage();
    const rssBefore = process.memoryUsage().rss;
    const live = new LiveSource({ url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, logger, maxPayload, ...FAST_RECONNECT });
    const { quotes, done } = drain(live);
    try {
      await waitFor('the quote after the floods', () => quotes.some((q) => q.ticker === 'V8'), 20_000).catch((error: unknown) => {
        throw new Error(`${String(error)}: ${JSON.stringify({ tickers: quotes.map((q) => q.ticker), stats: live.stats, live: live.liveStats, connections })}`);
      });
      assert.deepEqual(quotes.map((q) => q.ticker), ['V1', 'V7', 'V8']);
      assertGapless(quotes);
      assert.equal(live.stats.rejected - live.liveStats.oversize, 10_000, 'every malformed frame counted');
      assert.equal(live.liveStats.oversize, 6, 'five oversize frames and one endless fragmented message');
      assert.equal(live.liveStats.reconnects, 7);
      collectGarbage();
      const grownMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
      assert.ok(grownMb <= 20, `RSS grew ${grownMb.toFixed(1)} MB`);
      process.stdout.write(`# live floods: rejected ${live.stats.rejected}, oversize ${live.liveStats.oversize}, RSS +${grownMb.toFixed(1)} MB\n`);
    } finally {
      await live.close();
      await done;
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });
});
