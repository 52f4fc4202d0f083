import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeLabelValue, formatExposition } from '../../../lib/metrics/prometheus.ts';
import { MetricsRegistry } from '../../../lib/metrics/registry.ts';
import { parseExposition } from '../../support/prometheus-text.ts';

function sampleRegistry(): MetricsRegistry {
  const r = new MetricsRegistry();
  r.describe('quotes_out_total', 'Quotes acknowledged.\nBy mode \\ source.');
  r.inc('quotes_out_total', { mode: 'live' }, 3);
  r.inc('quotes_out_total', { mode: 'historical' }, 10);
  r.describe('consumer_lag_seconds', 'Lag per shard.');
  r.set('consumer_lag_seconds', 0.12, { shard: 'shard "0"\\a\nb' });
  r.defineHistogram('batch_seconds', 'Batch time.', [0.01, 0.1, 1]);
  // Binary fractions, so the sum is exact.
  for (const v of [0.0078125, 0.0078125, 0.0625, 0.5, 8]) r.observe('batch_seconds', v);
  r.defineHistogram('delivery_seconds', 'Delivery.', [0.5], [{ mode: 'live' }]);
  return r;
}

describe('Prometheus text exposition', () => {
  it('writes HELP and TYPE before each metric, escapes label values and HELP text, and writes histograms cumulatively with +Inf, _sum and _count', () => {
    assert.equal(
      formatExposition(sampleRegistry()),
      [
        '# HELP batch_seconds Batch time.',
        '# TYPE batch_seconds histogram',
        'batch_seconds_bucket{le="0.01"} 2',
        'batch_seconds_bucket{le="0.1"} 3',
        'batch_seconds_bucket{le="1"} 4',
        'batch_seconds_bucket{le="+Inf"} 5',
        'batch_seconds_sum 8.578125',
        'batch_seconds_count 5',
        '# HELP consumer_lag_seconds Lag per shard.',
        '# TYPE consumer_lag_seconds gauge',
        'consumer_lag_seconds{shard="shard \\"0\\"\\\\a\\nb"} 0.12',
        '# HELP delivery_seconds Delivery.',
        '# TYPE delivery_seconds histogram',
        'delivery_seconds_bucket{mode="live",le="0.5"} 0',
        'delivery_seconds_bucket{mode="live",le="+Inf"} 0',
        'delivery_seconds_sum{mode="live"} 0',
        'delivery_seconds_count{mode="live"} 0',
        '# HELP quotes_out_total Quotes acknowledged.\\nBy mode \\\\ source.',
        '# TYPE quotes_out_total counter',
        'quotes_out_total{mode="live"} 3',
        'quotes_out_total{mode="historical"} 10',
        '',
      ].join('\n'),
    );
  });

  it('reads back through a strict parser with the same values and label values', () => {
    const families = parseExposition(formatExposition(sampleRegistry()));
    assert.deepEqual(
      families.map((f) => [f.name, f.type]),
      [['batch_seconds', 'histogram'], ['consumer_lag_seconds', 'gauge'], ['delivery_seconds', 'histogram'], ['quotes_out_total', 'counter']],
    );
    const lag = families.find((f) => f.name === 'consumer_lag_seconds');
    assert.deepEqual(lag?.samples, [{ name: 'consumer_lag_seconds', labels: { shard: 'shard "0"\\a\nb' }, value: 0.12 }]);
    assert.equal(escapeLabelValue('a\\"\n'), 'a\\\\\\"\\n');
  });

  it('refuses names Prometheus cannot take, a counter without _total, one name with two types, and bad buckets', () => {
    const r = new MetricsRegistry();
    assert.throws(() => r.inc('quotes-out_total'), RangeError);
    assert.throws(() => r.inc('quotes_out'), /must end in _total/);
    assert.throws(() => r.set('lag', 1, { 'shard-id': 'a' }), RangeError);
    assert.throws(() => r.set('lag', 1, { le: 'a' }), RangeError);
    r.set('lag', 1);
    assert.throws(() => r.defineHistogram('lag', 'x', [1]), /is a gauge, not a histogram/);
    assert.throws(() => r.defineHistogram('h', 'x', [1, 1]), RangeError);
    assert.throws(() => r.defineHistogram('h', 'x', []), RangeError);
    assert.throws(() => r.observe('undefined_histogram', 1), /was not defined/);
  });

  it('puts an observation on a bound into that bucket, above the last bound into +Inf, and ignores NaN', () => {
    const r = new MetricsRegistry();
    r.defineHistogram('h', 'x', [1, 2]);
    for (const v of [1, 2, 2.0001, Number.NaN]) r.observe('h', v);
    assert.deepEqual(r.histogram('h'), { buckets: [['1', 1], ['2', 2], ['+Inf', 3]], sum: 5.0001, count: 3 });
  });
});

describe('the strict exposition reader (test support)', () => {
  const fails = (text: string, why: RegExp): void => assert.throws(() => parseExposition(text), why);

  it('rejects what Prometheus would not take', () => {
    fails('# TYPE a_total counter\na_total 1', /newline/);
    fails('a_total 1\n', /before its metric's TYPE/);
    fails('# TYPE a counter\na 1\n', /does not end in _total/);
    fails('# TYPE a_total counter\na_total -1\n', /below 0/);
    fails('# TYPE g gauge\ng{x="a\\q"} 1\n', /bad label pair/);
    fails('# TYPE g gauge\ng 1\n# TYPE h gauge\nh 1\ng 2\n', /continues after another metric/);
    fails('# TYPE g gauge\ng 1\ng 2\n', /same series twice/);
    fails('# TYPE g gauge\ng one\n', /not a sample value/);
    fails('# TYPE g gauge\n\ng 1\n', /not a HELP, TYPE or sample line/);
    const histogram = (buckets: string, count: number): string => `# TYPE h histogram\n${buckets}h_sum 1\nh_count ${count}\n`;
    fails(histogram('h_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\n', 1), /go down/);
    fails(histogram('h_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\n', 3), /differs from _count/);
    fails(histogram('h_bucket{le="1"} 1\n', 1), /not le="\+Inf"/);
    fails(histogram('h_bucket{le="2"} 1\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\n', 1), /le 1 after 2/);
  });
});
