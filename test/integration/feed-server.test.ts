/** The CSV-backed websocket feed, over real sockets: broadcast, pacing, looping, slow consumers. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { InputError } from '../../lib/errors.ts';
import { startFeedServer, type FeedServer, type FeedServerOptions } from '../../lib/live/feed-server.ts';
import { FeedServerError } from '../../lib/live/live-errors.ts';
import type { Logger } from '../../lib/logging/logger.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';
import { captureLogs, waitFor } from '../support/capture-logs.ts';
import { FakeClock } from '../support/fake-clock.ts';

const HEADER = 'timestamp,ticker,bid_price,ask_price,bid_amount,ask_amount\n';
const ROWS = [
  '2025-01-02 14:32:00.000,AAPL,243.12,243.14,2300,1800',
  '2025-01-02 14:32:00.020,AMZN,220.40,220.41,900,2500',
  '2025-01-02 14:32:00.020,MSFT,421.58,421.63,300,400',
  '2025-01-02 14:32:00.025,AAPL,243.12,243.13,1600,200',
  '2025-01-02 14:32:01.025,GOOG,190.95,190.96,400,3700',
];

interface TestClient {
  ws: WebSocket;
  messages: string[];
  count: number;
  closed: Promise<unknown>;
  /** Terminates the connection and waits until its socket is gone. */
  stop(): Promise<void>;
}

async function connect(url: string, keep = true): Promise<TestClient> {
  const ws = new WebSocket(url);
  const client: TestClient = {
    ws,
    messages: [],
    count: 0,
    closed: once(ws, 'close'),
    stop: async () => {
      ws.terminate();
      await client.closed;
    },
  };
  ws.on('error', () => undefined); // a terminated slow client may see a reset
  ws.on('message', (data: Buffer, isBinary) => {
    assert.equal(isBinary, false, 'the feed sends text frames');
    client.count++;
    if (keep) client.messages.push(data.toString('utf8'));
  });
  await once(ws, 'open');
  return client;
}

void describe('live feed server', () => {
  let tmp: TempDir;
  let csv: string;
  before(async () => {
    tmp = await makeTempDir();
    csv = tmp.join('live.csv');
    await writeFile(csv, HEADER + ROWS.join('\n') + '\n');
  });
  after(async () => {
    await tmp.remove();
  });

  async function start(options: Partial<FeedServerOptions> & { logger: Logger }): Promise<FeedServer> {
    return startFeedServer({ file: csv, port: 0, speed: 'max', loop: false, ...options });
  }

  void it('sends every row to every connected client as one JSON text message, in file order', async () => {
    const file = tmp.join('with-bad-row.csv');
    await writeFile(file, HEADER + [ROWS[0], '2025-01-02 14:32:00.010,BAD,abc,1,1,1', ...ROWS.slice(1)].join('\n') + '\n');
    const { logger, lines } = captureLogs();
    const server = await start({ file, logger, waitForClients: 2 });
    const a = await connect(server.url);
    const b = await connect(server.url);
    try {
      await waitFor('both clients to receive 5 quotes', () => a.count === 5 && b.count === 5);
      assert.deepEqual(a.messages, b.messages);
      assert.deepEqual(JSON.parse(a.messages[0] ?? ''), {
        ticker: 'AAPL',
        timestamp: '2025-01-02T14:32:00.000Z',
        bid: '243.12',
        ask: '243.14',
        bidAmount: '2300',
        askAmount: '1800',
      });
      assert.deepEqual(
        a.messages.map((m) => (JSON.parse(m) as { ticker: string }).ticker),
        ['AAPL', 'AMZN', 'MSFT', 'AAPL', 'GOOG'],
      );
      assert.equal(server.sent(), 5);
      assert.equal(server.clients(), 2);
      const rejected = lines.find((l) => l.message === 'row rejected');
      assert.equal(rejected?.line, 3);
      await waitFor('the end-of-file log line', () => lines.some((l) => l.message.startsWith('file done; still accepting connections')));
      // Done, yet still serving: a late client connects (and is sent nothing).
      const late = await connect(server.url);
      assert.equal(server.clients(), 3);
      await late.stop();
    } finally {
      await a.stop();
      await b.stop();
      await server.close();
    }
  });

  void it('delivers a whole file at speed max, in order', async () => {
    const { logger } = captureLogs();
    const server = await start({ file: 'data/live_sample.csv', logger, waitForClients: 1 });
    const client = await connect(server.url);
    try {
      await waitFor('3000 quotes', () => client.count === 3000);
      assert.equal(server.sent(), 3000);
      const times = client.messages.map((m) => (JSON.parse(m) as { timestamp: string }).timestamp);
      assert.equal(times[0], '2025-01-02T14:32:00.000Z');
      assert.deepEqual(times, [...times].sort(), 'sample timestamps are non-decreasing and sent in file order');
    } finally {
      await client.stop();
      await server.close();
    }
  });

  void it('pauses a looping stream at speed max while no client is subscribed, and goes on when one is', async () => {
    const { logger, lines } = captureLogs();
    const server = await start({ logger, loop: true });
    try {
      await waitFor('the pause', () => lines.some((l) => l.message.startsWith('no client subscribed')));
      assert.equal(server.sent(), 0, 'nothing streamed to nobody');
      const client = await connect(server.url);
      try {
        await waitFor('quotes after the client connected', () => client.count >= 10);
      } finally {
        await client.stop();
      }
      await waitFor('the pause once the client left', () => lines.filter((l) => l.message.startsWith('no client subscribed')).length >= 2);
      assert.ok(server.sent() >= 10);
    } finally {
      await server.close();
    }
  });

  void it('paces rows by their timestamp deltas on the injected clock', async () => {
    const { logger } = captureLogs();
    const clock = new FakeClock();
    const server = await start({ logger, clock, speed: 1, waitForClients: 1 });
    const client = await connect(server.url);
    try {
      await waitFor('5 quotes', () => client.count === 5);
      // .000 → .020 → .020 → .025 → 1.025 at speed 1: no sleep for equal timestamps.
      assert.deepEqual(clock.sleeps, [20, 5, 1000]);
    } finally {
      await client.stop();
      await server.close();
    }
  });

  void it('with loop, starts over at the end of the file', async () => {
    const { logger, lines } = captureLogs();
    const server = await start({ logger, loop: true, waitForClients: 1 });
    const client = await connect(server.url);
    try {
      await waitFor('three passes', () => client.count >= 15);
      const tickers = client.messages.slice(0, 15).map((m) => (JSON.parse(m) as { ticker: string }).ticker);
      const pass = ['AAPL', 'AMZN', 'MSFT', 'AAPL', 'GOOG'];
      assert.deepEqual(tickers, [...pass, ...pass, ...pass]);
      assert.ok(lines.some((l) => l.message === 'file done; looping' && l.pass === 2));
    } finally {
      await client.stop();
      await server.close();
    }
  });

  void it('terminates a slow client past the buffer bound while a fast one keeps receiving', async () => {
    const { logger, lines } = captureLogs();
    const server = await start({ file: 'data/live_sample.csv', logger, loop: true, waitForClients: 2, maxBufferedBytes: 256 * 1024 });
    const fast = await connect(server.url, false);
    const slow = await connect(server.url, false);
    // Stop reading: its kernel buffers fill, then the server's send buffer for it grows.
    slow.ws.pause();
    try {
      await waitFor('the slow consumer to be dropped', () => server.clients() === 1, 15_000);
      const dropped = lines.find((l) => l.message === 'slow consumer terminated: too much unsent data');
      assert.ok(dropped !== undefined);
      assert.ok((dropped.bufferedBytes as number) > 256 * 1024);
      const seen = fast.count;
      await waitFor('the fast client to keep receiving', () => fast.count > seen + 1_000);
      assert.equal(fast.ws.readyState, WebSocket.OPEN);
    } finally {
      await fast.stop();
      await slow.stop();
      await server.close();
    }
  });

  void it('close() ends client connections and frees the port', async () => {
    const { logger } = captureLogs();
    const server = await start({ logger, loop: true, speed: 1 });
    const client = await connect(server.url);
    await server.close();
    await client.closed;
    await server.close(); // idempotent
    const probe = net.createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(server.port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  });

  void it('fails to start with a specific error for a missing file or a port in use', async () => {
    const { logger } = captureLogs();
    await assert.rejects(start({ file: tmp.join('missing.csv'), logger }), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.match(error.message, /cannot read .*missing\.csv: no such file/);
      return true;
    });
    const first = await start({ logger });
    try {
      await assert.rejects(start({ logger, port: first.port }), (error: unknown) => {
        assert.ok(error instanceof FeedServerError);
        assert.equal(error.message, `cannot listen on 127.0.0.1:${first.port}: the port is already in use`);
        return true;
      });
    } finally {
      await first.close();
    }
  });
});
