import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DASHBOARD_CLIENT_HEADER, startDashboardServer, type DashboardServer } from '../../../lib/dashboard/dashboard-server.ts';
import { StackMetrics } from '../../../lib/dashboard/stack-metrics.ts';
import { InputError } from '../../../lib/errors.ts';
import { silentLogger } from '../../../lib/logging/logger.ts';
import { parseExposition } from '../../support/prometheus-text.ts';

describe('dashboard server', () => {
  let modeApi: Server;
  const received: Array<{ method: string; body: string }> = [];
  let dashboard: DashboardServer;
  let metrics: StackMetrics;
  let done = 0;

  before(async () => {
    // A stand-in for the mode API: records what the proxy forwards.
    modeApi = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        received.push({ method: req.method ?? '', body });
        if (req.url !== '/mode') return void res.writeHead(404).end();
        res.writeHead(body.includes('paper') ? 400 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ mode: 'live', version: 7 }));
      });
    });
    await new Promise<void>((resolve) => modeApi.listen(0, '127.0.0.1', resolve));
    metrics = new StackMetrics({
      now: () => done * 10,
      sources: {
        status: () => ({
          mode: 'historical',
          appliedVersion: 1,
          historical: { done: ++done, total: 100, completed: false },
          live: { connection: 'closed', received: 0, rejected: 0, reconnects: 0 },
          updatedAt: '',
        }),
        producer: () => undefined,
        consumer: () => undefined,
      },
    });
    const port = (modeApi.address() as AddressInfo).port;
    dashboard = await startDashboardServer({ port: 0, modeApiUrl: `http://127.0.0.1:${port}`, metrics, logger: silentLogger, intervalMs: 50 });
  });

  after(async () => {
    await dashboard.close();
    await new Promise((resolve) => modeApi.close(resolve));
  });

  it('listens on 127.0.0.1 and serves the page, its script and uPlot from node_modules', async () => {
    assert.match(dashboard.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const page = await fetch(`${dashboard.url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script src="\/vendor\/uPlot.iife.min.js"><\/script>/);
    const uplot = await fetch(`${dashboard.url}/vendor/uPlot.iife.min.js`);
    assert.equal(uplot.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.match(await uplot.text(), /uPlot/);
    assert.equal((await fetch(`${dashboard.url}/dashboard.js`)).status, 200);
    assert.equal((await fetch(`${dashboard.url}/../package.json`)).status, 404);
    assert.equal((await fetch(`${dashboard.url}/vendor/uPlot.d.ts`)).status, 404);
  });

  it('says which port is taken when it cannot listen', async () => {
    const port = Number(new URL(dashboard.url).port);
    const unused = new StackMetrics({ now: () => 0, sources: { status: () => undefined, producer: () => undefined, consumer: () => undefined } });
    await assert.rejects(
      startDashboardServer({ port, modeApiUrl: 'http://127.0.0.1:1', metrics: unused, logger: silentLogger }),
      (error: Error) => error instanceof InputError && error.message === `dashboard: cannot listen on 127.0.0.1:${port}: the port is already in use (give another --dashboard-port, or 0)`,
    );
  });

  it('answers GET /api/snapshot with the current snapshot as JSON', async () => {
    const response = await fetch(`${dashboard.url}/api/snapshot`);
    assert.equal(response.headers.get('content-type'), 'application/json');
    const s = (await response.json()) as { mode: string; historical: { total: number; done: number } };
    assert.equal(s.mode, 'historical');
    assert.equal(s.historical.total, 100);
    assert.ok(s.historical.done >= 1);
  });

  it('answers GET /metrics in the Prometheus text format: HELP and TYPE for every metric, counters in _total, histograms with +Inf, _sum and _count', async () => {
    metrics.onBatch(
      { mids: [{ ticker: 'A', micros: 1, mid: '1' }], errorLines: [], deadLetters: 0 },
      { handledSeconds: 0.004, deliverySeconds: [0.02, 0.3] },
    );
    const response = await fetch(`${dashboard.url}/metrics`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const families = parseExposition(await response.text());
    for (const f of families) {
      assert.ok(f.help !== undefined && f.help.length > 0, `${f.name} has a HELP line`);
      assert.notEqual(f.type, 'untyped', `${f.name} has a TYPE line`);
    }
    const byName = new Map(families.map((f) => [f.name, f]));
    const samples = families.flatMap((f) => f.samples);
    const key = (labels: Record<string, string>): string => JSON.stringify(Object.entries(labels).sort());
    const value = (name: string, labels: Record<string, string> = {}): number | undefined =>
      samples.find((s) => s.name === name && key(s.labels) === key(labels))?.value;
    assert.equal(byName.get('historical_quotes')?.type, 'gauge');
    assert.equal(value('historical_quotes'), 100);
    assert.equal(byName.get('mid_lines_written_total')?.type, 'counter');
    assert.ok((value('mid_lines_written_total') ?? 0) >= 1);
    assert.equal(byName.get('handler_batch_duration_seconds')?.type, 'histogram');
    assert.ok((value('handler_batch_duration_seconds_count') ?? 0) >= 1);
    assert.equal(byName.get('delivery_latency_seconds')?.type, 'histogram');
    assert.ok((value('delivery_latency_seconds_count', { mode: 'live' }) ?? 0) >= 2);
    assert.equal(value('delivery_latency_seconds_bucket', { mode: 'live', le: '0.025' }), 1, 'the 20 ms delivery, not the 300 ms one');
    assert.equal(byName.get('dashboard_sse_clients_dropped_total')?.type, 'counter');
  });

  it('pushes snapshots as server-sent events', async () => {
    const controller = new AbortController();
    const response = await fetch(`${dashboard.url}/events`, { signal: controller.signal });
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while ((text.match(/^data: /gm) ?? []).length < 3) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const dones = [...text.matchAll(/^data: (.*)$/gm)].map((m) => (JSON.parse(m[1] as string) as { historical: { done: number } }).historical.done);
    assert.ok(dones.length >= 3);
    assert.ok((dones[2] as number) > (dones[0] as number), `the pushed snapshots move: ${dones.join(', ')}`);
  });

  /** What the dashboard's own page sends with a mode request. */
  const fromPage = (): Record<string, string> => ({ origin: dashboard.url, 'content-type': 'application/json', [DASHBOARD_CLIENT_HEADER]: 'dashboard' });

  it('proxies mode requests to the mode API with their status and body', async () => {
    const ok = await fetch(`${dashboard.url}/api/mode`, { method: 'POST', headers: fromPage(), body: '{"mode":"live"}' });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { mode: 'live', version: 7 });
    const bad = await fetch(`${dashboard.url}/api/mode`, { method: 'POST', headers: fromPage(), body: '{"mode":"paper"}' });
    assert.equal(bad.status, 400);
    assert.equal((await fetch(`${dashboard.url}/api/mode`)).status, 200);
    assert.deepEqual(received.slice(-3), [
      { method: 'POST', body: '{"mode":"live"}' },
      { method: 'POST', body: '{"mode":"paper"}' },
      { method: 'GET', body: '' },
    ]);
    const big = await fetch(`${dashboard.url}/api/mode`, { method: 'POST', headers: fromPage(), body: 'x'.repeat(10_000) });
    assert.equal(big.status, 413);
    assert.equal(received.length, 3, 'an oversized body is not forwarded');
    assert.equal((await fetch(`${dashboard.url}/metrics`, { method: 'POST', headers: fromPage() })).status, 405);
  });

  it('forwards a mode change only from its own page: Origin, JSON and its client header', async () => {
    const before = received.length;
    const { origin: _origin, ...noOrigin } = fromPage();
    const { [DASHBOARD_CLIENT_HEADER]: _header, ...noHeader } = fromPage();
    for (const headers of [noOrigin, noHeader, { ...fromPage(), 'content-type': 'text/plain' }, { ...fromPage(), origin: 'https://evil.example' }]) {
      const refused = await fetch(`${dashboard.url}/api/mode`, { method: 'POST', headers, body: '{"mode":"live"}' });
      assert.ok(refused.status === 403 || refused.status === 415, `${JSON.stringify(headers)} answered ${refused.status}`);
      assert.equal(refused.headers.get('access-control-allow-origin'), null);
    }
    assert.equal(received.length, before, 'nothing was forwarded');
  });

  it('forbids framing on every answer', async () => {
    for (const path of ['/', '/metrics', '/nope']) {
      const response = await fetch(`${dashboard.url}${path}`);
      assert.equal(response.headers.get('content-security-policy'), "frame-ancestors 'none'", path);
      assert.equal(response.headers.get('x-frame-options'), 'DENY', path);
    }
  });
});
