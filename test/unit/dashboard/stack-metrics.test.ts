import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReplayStatus } from '../../../lib/control/control-store.ts';
import { StackMetrics, type StackSources } from '../../../lib/dashboard/stack-metrics.ts';
import type { QuoteAck } from '../../../lib/replay/replayer.ts';
import { formatStatusLine } from '../../../lib/cli/status-line.ts';

function status(done: number, mode: 'historical' | 'live' = 'historical'): ReplayStatus {
  return {
    mode,
    appliedVersion: 3,
    historical: { done, total: 1_000, rejected: 2, completed: false },
    live: { url: 'ws://x', connection: mode === 'live' ? 'open' : 'closed', received: 7, rejected: 1, reconnects: 4 },
    updatedAt: '2025-01-01T00:00:00.000Z',
  };
}

function acks(source: string, n: number): QuoteAck[] {
  return Array.from({ length: n }, (_, seq) => ({ entry: { source, seq, partitionKey: 'A', data: new Uint8Array() }, shardId: 's', sequenceNumber: '1', subSequence: 0 }));
}

function fixture(): { metrics: StackMetrics; state: { now: number; done: number; lag: Map<string, number> } } {
  const state = { now: 0, done: 0, lag: new Map<string, number>([['shardId-0', 120], ['shardId-1', 40]]) };
  const sources: StackSources = {
    status: () => status(state.done),
    producer: () => ({ retriedRequests: 1, retriedEntries: 5, inFlightRequests: 2, unacked: 300 }),
    consumer: () => ({ stats: { invocations: 3, records: 250, failedInvocations: 1, retriedRecords: 0 }, shardLag: () => state.lag }),
  };
  return { metrics: new StackMetrics({ sources, now: () => state.now, wallClock: () => Date.UTC(2025, 0, 1), rateWindowMs: 5_000, midPointsPerTicker: 2, errorLines: 2 }), state };
}

describe('stack metrics', () => {
  it('counts quotes out by the mode of their source and computes rates and the ETA', () => {
    const { metrics, state } = fixture();
    metrics.sample();
    metrics.onAck(acks('file:abc', 200));
    metrics.onAck([...acks('live:ws://x#1', 30), ...acks('file:abc', 100)]);
    state.now = 2_000;
    state.done = 300;
    const s = metrics.sample();
    assert.deepEqual(s.rates, { historical: 150, live: 15, linesWritten: 0 });
    assert.equal(s.historical.etaSeconds, Math.ceil(700 / 150));
    assert.equal(s.metrics.counters['quotes_out_total{mode="historical"}'], 300);
    assert.equal(s.metrics.counters['quotes_out_total{mode="live"}'], 30);
  });

  it('samples gauges and totals from the replayer, producer and consumer', () => {
    const { metrics } = fixture();
    const s = metrics.sample();
    assert.equal(s.mode, 'historical');
    assert.equal(s.appliedVersion, 3);
    assert.deepEqual(s.consumer.lagMs, { 'shardId-0': 120, 'shardId-1': 40 });
    assert.equal(s.consumer.maxLagMs, 120);
    assert.deepEqual(s.producer, { retriedRequests: 1, retriedEntries: 5, inFlightBatches: 2, unacked: 300 });
    const g = s.metrics.gauges;
    assert.equal(g['consumer_lag_seconds{shard="shardId-0"}'], 0.12);
    assert.equal(g.historical_quotes, 1_000);
    assert.equal(g.producer_in_flight_batches, 2);
    assert.equal(g.live_connected, 0);
    const c = s.metrics.counters;
    assert.equal(c['rejected_rows_total{mode="historical"}'], 2);
    assert.equal(c['rejected_rows_total{mode="live"}'], 1);
    assert.equal(c.live_reconnects_total, 4);
    assert.equal(c.producer_retried_requests_total, 1);
    assert.equal(c.consumer_records_total, 250);
  });

  it('drops the lag of a shard no longer held', () => {
    const { metrics, state } = fixture();
    metrics.sample();
    state.lag.delete('shardId-0');
    const s = metrics.sample();
    assert.deepEqual(s.consumer.lagMs, { 'shardId-1': 40 });
    assert.equal(s.metrics.gauges['consumer_lag_seconds{shard="shardId-0"}'], undefined);
    assert.equal(s.metrics.gauges['consumer_lag_seconds{shard="shardId-1"}'], 0.04);
  });

  it('keeps the latest mids per ticker, sorted by time, and the latest error lines', () => {
    const { metrics } = fixture();
    metrics.onBatch({
      mids: [
        { ticker: 'B', micros: 3_000_000, mid: '2.5' },
        { ticker: 'A', micros: 2_000_000, mid: '1.25' },
        { ticker: 'A', micros: 1_000_000, mid: '1.5' },
        { ticker: 'A', micros: 1_500_000, mid: '1.75' },
      ],
      errorLines: ['e1', 'e2', 'e3'],
      deadLetters: 1,
    });
    const s = metrics.sample();
    assert.deepEqual(Object.keys(s.mids), ['A', 'B']);
    assert.deepEqual(s.mids.A, [[1, 1.5], [1.5, 1.75]]);
    assert.deepEqual(s.mids.B, [[3, 2.5]]);
    assert.deepEqual(s.errors, ['e2', 'e3']);
    assert.equal(s.consumer.midLines, 4);
    assert.equal(s.consumer.errorLines, 3);
    assert.equal(s.consumer.deadLetters, 1);
  });

  it("observes the handler's batch time and the live quotes' delivery latency in histograms", () => {
    const { metrics } = fixture();
    metrics.onBatch({ mids: [], errorLines: [], deadLetters: 0 }, { handledSeconds: 0.004, deliverySeconds: [0.02, 0.7] });
    metrics.onBatch({ mids: [], errorLines: [], deadLetters: 0 }, { handledSeconds: 0.3, deliverySeconds: [] });
    const h = metrics.sample().metrics.histograms;
    assert.deepEqual({ count: h.handler_batch_duration_seconds?.count, sum: h.handler_batch_duration_seconds?.sum }, { count: 2, sum: 0.304 });
    const delivery = h['delivery_latency_seconds{mode="live"}'];
    assert.equal(delivery?.count, 2);
    assert.deepEqual(delivery?.buckets.find(([le]) => le === '0.025'), ['0.025', 1]);
    assert.deepEqual(delivery?.buckets.at(-1), ['+Inf', 2]);
  });

  it('formats one compact status line', () => {
    const { metrics, state } = fixture();
    metrics.sample();
    metrics.onAck(acks('file:abc', 100));
    state.now = 1_000;
    state.done = 250;
    const line = formatStatusLine(metrics.sample(), 200);
    assert.equal(line, 'historical 250/1000 25% ETA 8s | 100 hist/s 0 live/s | 0 lines/s | lag 120ms | feed closed');
    assert.equal(formatStatusLine(metrics.sample(), 20).length, 20);
  });
});
