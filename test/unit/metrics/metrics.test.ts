import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MetricsRegistry, seriesKey } from '../../../lib/metrics/registry.ts';
import { etaSeconds, RateWindow } from '../../../lib/metrics/rate-window.ts';
import { RingBuffer } from '../../../lib/metrics/ring-buffer.ts';

describe('metrics registry', () => {
  it('keys series by name and sorted labels', () => {
    assert.equal(seriesKey('quotes_out_total'), 'quotes_out_total');
    assert.equal(seriesKey('lag', { shard: 'a', app: 'x' }), 'lag{app="x",shard="a"}');
  });

  it('counts per label set and refuses to count down', () => {
    const r = new MetricsRegistry();
    r.inc('quotes_out_total', { mode: 'live' }, 3);
    r.inc('quotes_out_total', { mode: 'live' });
    r.inc('quotes_out_total', { mode: 'historical' }, 10);
    assert.equal(r.counter('quotes_out_total', { mode: 'live' }), 4);
    assert.equal(r.counter('quotes_out_total', { mode: 'historical' }), 10);
    assert.equal(r.counter('unknown'), 0);
    assert.throws(() => r.inc('quotes_out_total', undefined, -1), RangeError);
  });

  it('follows a component total without ever going back', () => {
    const r = new MetricsRegistry();
    r.observeTotal('reconnects_total', 2);
    r.observeTotal('reconnects_total', 5);
    r.observeTotal('reconnects_total', 1); // the component restarted
    assert.equal(r.counter('reconnects_total'), 5);
    r.observeTotal('zero_total', 0);
    assert.deepEqual(r.snapshot().counters, { reconnects_total: 5, zero_total: 0 });
  });

  it('sets gauges and clears every series of one', () => {
    const r = new MetricsRegistry();
    r.set('consumer_lag_ms', 10, { shard: 'a' });
    r.set('consumer_lag_ms', 20, { shard: 'b' });
    r.set('consumer_lag_ms_other', 1);
    assert.equal(r.gauge('consumer_lag_ms', { shard: 'b' }), 20);
    r.clearGauge('consumer_lag_ms');
    assert.deepEqual(r.snapshot().gauges, { consumer_lag_ms_other: 1 });
  });
});

describe('rate window', () => {
  it('is 0 before two samples, then the slope over the window', () => {
    const w = new RateWindow(5_000);
    assert.equal(w.rate(), 0);
    w.record(0, 0);
    assert.equal(w.rate(), 0);
    w.record(1_000, 100);
    assert.equal(w.rate(), 100);
    w.record(2_000, 300);
    assert.equal(w.rate(), 150);
  });

  it('forgets samples older than the window', () => {
    const w = new RateWindow(2_000);
    w.record(0, 0);
    w.record(1_000, 1_000); // a burst
    for (let t = 2_000; t <= 6_000; t += 1_000) w.record(t, 1_000 + (t - 1_000) / 100);
    // Only the last 2 s count: 10 per second, the burst is gone.
    assert.equal(w.rate(), 10);
  });

  it('starts afresh when a total goes back', () => {
    const w = new RateWindow();
    w.record(0, 500);
    w.record(1_000, 600);
    w.record(2_000, 10);
    assert.equal(w.rate(), 0);
    w.record(3_000, 30);
    assert.equal(w.rate(), 20);
  });

  it('estimates the time left', () => {
    assert.equal(etaSeconds(1_000, 100), 10);
    assert.equal(etaSeconds(1_001, 100), 11);
    assert.equal(etaSeconds(0, 0), 0);
    assert.equal(etaSeconds(10, 0), undefined);
  });
});

describe('ring buffer', () => {
  it('keeps the last items, oldest first', () => {
    const b = new RingBuffer<number>(3);
    assert.deepEqual(b.toArray(), []);
    for (let i = 1; i <= 5; i++) b.push(i);
    assert.deepEqual(b.toArray(), [3, 4, 5]);
    assert.equal(b.size, 3);
    b.push(6);
    assert.deepEqual(b.toArray(), [4, 5, 6]);
  });

  it('needs a positive capacity', () => {
    assert.throws(() => new RingBuffer(0), RangeError);
  });
});
