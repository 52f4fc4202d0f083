import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  generateCsv,
  HISTORICAL_HEADER,
  HISTORICAL_SPEC,
  LIVE_HEADER,
  LIVE_SPEC,
  type DatasetSpec,
} from '../../../data/generate.ts';

const TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/;
const PRICE = /^\d+\.\d{2}$/;
const AMOUNT = /^\d+$/;

function committed(name: string): string {
  return readFileSync(new URL(`../../../data/${name}`, import.meta.url), 'utf8');
}

function epochMs(timestamp: string): number {
  return Date.parse(`${timestamp.replace(' ', 'T')}Z`);
}

interface Checked {
  rows: string[][];
  spanMs: number;
}

/** Checks what both files share and returns the parsed rows. */
function checkShape(text: string, header: string, spec: DatasetSpec, rowRange: [number, number]): Checked {
  assert.ok(text.endsWith('\n') && !text.includes('\r'), 'LF line endings and a trailing newline');
  const [head, ...lines] = text.slice(0, -1).split('\n');
  assert.equal(head, header);
  assert.ok(lines.length >= rowRange[0] && lines.length <= rowRange[1], `${lines.length} rows`);
  const columns = header.split(',').length;
  const tickers = new Set(spec.tickers.map((t) => t.symbol));
  const rows = lines.map((line) => line.split(','));
  let previous = -Infinity;
  let lockedMarkets = 0;
  rows.forEach((row, i) => {
    const where = `row ${i}: ${row.join(',')}`;
    assert.equal(row.length, columns, where);
    const [index, timestamp, ticker, askAmount, askPrice, bidPrice, bidAmount] = row as [
      string, string, string, string, string, string, string,
    ];
    assert.equal(index, String(i), `${where} (0-based index)`);
    assert.match(timestamp, TIMESTAMP, where);
    const t = epochMs(timestamp);
    assert.ok(t >= previous, `${where}: timestamps must not decrease`);
    previous = t;
    assert.ok(tickers.has(ticker), where);
    assert.match(askPrice, PRICE, where);
    assert.match(bidPrice, PRICE, where);
    assert.ok(Number(askPrice) >= Number(bidPrice), `${where}: ask >= bid`);
    if (askPrice === bidPrice) lockedMarkets++;
    for (const amount of [askAmount, bidAmount]) {
      assert.match(amount, AMOUNT, where);
      assert.ok(Number(amount) >= 100 && Number(amount) <= 5000, where);
    }
  });
  assert.ok(lockedMarkets < rows.length * 0.02, `${lockedMarkets} zero spreads: occasional only`);
  const first = epochMs(rows[0]![1]!);
  assert.equal(first, spec.startMs);
  return { rows, spanMs: previous - first };
}

void describe('data/historical_sample.csv', () => {
  const text = committed('historical_sample.csv');

  void it('is exactly what the generator produces', () => {
    assert.ok(text === generateCsv(HISTORICAL_SPEC), 'regenerate with `npx tsx data/generate.ts`');
  });

  void it('has the expected shape: header, ~6,000 sorted rows over ~120 s, 4 tickers', () => {
    const { rows, spanMs } = checkShape(text, HISTORICAL_HEADER, HISTORICAL_SPEC, [5_500, 6_500]);
    assert.ok(spanMs >= 110_000 && spanMs <= 130_000, `span ${spanMs} ms`);
    assert.equal(new Set(rows.map((r) => r[2])).size, 4);
  });

  void it('has skewed latencies: 0..~150 ms, 10–15% above 20 ms, a few near 150', () => {
    const latencies = checkShape(text, HISTORICAL_HEADER, HISTORICAL_SPEC, [5_500, 6_500]).rows.map((r) => {
      assert.match(r[7]!, /^\d+$/);
      return Number(r[7]);
    });
    assert.ok(Math.min(...latencies) >= 0);
    assert.ok(Math.max(...latencies) <= 160);
    const above20 = latencies.filter((l) => l > 20).length / latencies.length;
    assert.ok(above20 >= 0.1 && above20 <= 0.15, `share above 20 ms: ${above20}`);
    const nearMax = latencies.filter((l) => l >= 130).length;
    assert.ok(nearMax >= 3 && nearMax <= latencies.length * 0.02, `${nearMax} near 150 ms`);
    assert.ok(latencies.filter((l) => l < 20).length / latencies.length > 0.8, 'most are under 20 ms');
  });
});

void describe('data/live_sample.csv', () => {
  const text = committed('live_sample.csv');

  void it('is exactly what the generator produces', () => {
    assert.ok(text === generateCsv(LIVE_SPEC), 'regenerate with `npx tsx data/generate.ts`');
  });

  void it('has the expected shape: no latency column, ~3,000 sorted rows over ~60 s', () => {
    const { spanMs } = checkShape(text, LIVE_HEADER, LIVE_SPEC, [2_700, 3_300]);
    assert.ok(spanMs >= 55_000 && spanMs <= 65_000, `span ${spanMs} ms`);
  });
});

void describe('generateCsv', () => {
  void it('is deterministic and depends on the seed', () => {
    const small: DatasetSpec = { ...HISTORICAL_SPEC, rows: 50 };
    assert.equal(generateCsv(small), generateCsv(small));
    assert.notEqual(generateCsv(small), generateCsv({ ...small, seed: small.seed + 1 }));
  });
});
