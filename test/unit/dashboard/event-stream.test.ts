/**
 * GET /events under backpressure, with real sockets: a client that stops reading is dropped and
 * counted once its connection has taken nothing for the stall limit, while a client that reads
 * keeps receiving; the server never queues more than about one snapshot for the stalled one.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startDashboardServer, type DashboardServer } from '../../../lib/dashboard/dashboard-server.ts';
import { SSE_METRIC } from '../../../lib/dashboard/event-stream.ts';
import { StackMetrics } from '../../../lib/dashboard/stack-metrics.ts';
import { captureLogs, waitFor } from '../../support/capture-logs.ts';

/** A snapshot of a few hundred KB (many mids), so a reader that stops fills the socket buffers in a few events. */
function bigMetrics(): StackMetrics {
  const metrics = new StackMetrics({ now: () => 0, sources: { status: () => undefined, producer: () => undefined, consumer: () => undefined } });
  const mids = [];
  for (let t = 0; t < 40; t++) for (let i = 0; i < 300; i++) mids.push({ ticker: `T${t}`, micros: 1_700_000_000_000_000 + i * 1_000, mid: `${100 + i}.123456` });
  metrics.onBatch({ mids, errorLines: [], deadLetters: 0 });
  return metrics;
}

describe('dashboard event stream backpressure', () => {
  let dashboard: DashboardServer;
  let metrics: StackMetrics;
  const { logger, lines } = captureLogs();

  before(async () => {
    metrics = bigMetrics();
    dashboard = await startDashboardServer({ port: 0, modeApiUrl: 'http://127.0.0.1:1', metrics, logger, intervalMs: 20, sseStallLimitMs: 200 });
  });
  after(async () => {
    await dashboard.close();
  });

  it('drops and counts a client whose socket stops reading, and keeps serving one that reads', { timeout: 60_000 }, async (t) => {
    const snapshotBytes = JSON.stringify(metrics.sample()).length;
    assert.ok(snapshotBytes > 200_000, `a big snapshot (${snapshotBytes} bytes)`);

    // The reader: a real fetch that consumes the stream.
    const controller = new AbortController();
    const response = await fetch(`${dashboard.url}/events`, { signal: controller.signal });
    let events = 0;
    const reading = (async () => {
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          events += (decoder.decode(value, { stream: true }).match(/\n\n/g) ?? []).length;
        }
      } catch {
        // aborted at the end of the test
      }
    })();

    // The stalled tab: a raw socket that sends the request and never reads the answer.
    const { port } = new URL(dashboard.url);
    const stalled: Socket = connect({ host: '127.0.0.1', port: Number(port) });
    let closed = false;
    stalled.on('close', () => (closed = true));
    stalled.on('error', () => undefined);
    await new Promise<void>((resolve) => stalled.once('connect', resolve));
    stalled.pause();
    stalled.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);

    await waitFor('two event-stream clients', () => metrics.registry.gauge(SSE_METRIC.clients) === 2, 10_000);
    await waitFor('the stalled client dropped', () => metrics.registry.counter(SSE_METRIC.dropped) === 1, 30_000);
    assert.equal(metrics.registry.gauge(SSE_METRIC.clients), 1, 'the reader is still connected');
    assert.ok(metrics.registry.counter(SSE_METRIC.skipped) >= 1, 'snapshots were skipped, not queued, while it was blocked');

    const warning = lines.find((l) => l.message === 'dropped a dashboard event-stream client whose connection stopped taking events');
    assert.ok(warning !== undefined, 'the drop is logged');
    assert.ok((warning.buffered as number) <= 2 * snapshotBytes, `at most about one snapshot held for it (${String(warning.buffered)} bytes, snapshot ${snapshotBytes})`);
    assert.ok((warning.stalledMs as number) >= 200);
    t.diagnostic(`snapshot ${snapshotBytes} bytes; held for the stalled client when dropped: ${String(warning.buffered)} bytes after ${String(warning.stalledMs)} ms`);

    const before = events;
    await waitFor('the reader still receiving after the drop', () => events >= before + 3, 10_000);
    assert.equal(metrics.registry.counter(SSE_METRIC.dropped), 1, 'the reader was never dropped');

    // The stalled socket, reading again, finds its connection closed by the server.
    stalled.resume();
    await waitFor('the stalled socket closed by the server', () => closed, 10_000);
    const exposition = metrics.exposition();
    assert.match(exposition, /^dashboard_sse_clients_dropped_total 1$/m);
    assert.match(exposition, /^dashboard_sse_clients 1$/m);

    controller.abort();
    await reading;
    await waitFor('the reader gone', () => metrics.registry.gauge(SSE_METRIC.clients) === 0, 10_000);
  });
});
