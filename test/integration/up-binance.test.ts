/**
 * `tick-replay up` on a Binance futures bookTicker stream: a plain websocket server (not our feed
 * simulator) sends documented bookTicker frames on /ws/btcusdt@bookTicker; flipped to live, the
 * stack writes exact mids stamped with each frame's T.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { startUpProcess, type UpProcess } from '../support/up-process.ts';
import { useTempDir } from '../support/temp-dir.ts';

const FRAMES = readFileSync(fileURLToPath(new URL('../fixtures/venues/binance-futures-bookticker.jsonl', import.meta.url)), 'utf8').split('\n').filter((l) => l !== '');

async function until(what: string, check: () => Promise<boolean>, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('tick-replay up --live-format binance', () => {
  const tmp = useTempDir();
  let up: UpProcess | undefined;
  let server: WebSocketServer | undefined;
  const paths: string[] = [];

  after(async () => {
    up?.kill();
    await up?.exited;
    for (const client of server?.clients ?? []) client.terminate();
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  });

  it('writes exact mids stamped with T from a bookTicker stream once flipped to live', { timeout: 180_000 }, async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server?.once('listening', () => resolve()));
    const port = (server.address() as { port: number }).port;
    server.on('connection', (socket, request) => {
      paths.push(request.url ?? '');
      for (const frame of FRAMES) socket.send(frame);
    });
    const historical = tmp.join('h.csv');
    await writeFile(historical, 'timestamp,ticker,bid,ask\n2025-01-02 13:00:00.000,H,1,3\n');
    up = startUpProcess({
      outDir: tmp.join('out'),
      stateDir: tmp.join('state'),
      speed: 'max',
      historical,
      liveFile: null,
      extraArgs: ['--live-url', `ws://127.0.0.1:${port}/ws/btcusdt@bookTicker`, '--live-format', 'binance'],
    });
    const { apiUrl } = await up.ready;
    const mids = (): Promise<string> => readFile(tmp.join('out', 'mid_prices.log'), 'utf8').catch(() => '');
    await until('the historical quote', async () => (await mids()).includes('2025-01-02 13:00:00.000, 2'));
    const flipped = await fetch(`${apiUrl}/mode`, { method: 'POST', body: '{"mode":"live"}', headers: { 'content-type': 'application/json' } });
    assert.equal(flipped.status, 200);
    await until('the three live mids', async () => (await mids()).split('\n').filter((l) => l.startsWith('2025-01-02 14:')).length >= 3);
    const live = (await mids()).split('\n').filter((l) => l.startsWith('2025-01-02 14:'));
    assert.deepEqual(live, ['2025-01-02 14:00:00.123, 94123.45', '2025-01-02 14:00:00.248, 94123.75', '2025-01-02 14:00:00.389, 0.15']);
    assert.deepEqual(paths, ['/ws/btcusdt@bookTicker'], 'connected to the stream path as given');
  });
});
