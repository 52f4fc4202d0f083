import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readCanonicalRecord } from '../../../lib/records/canonical-record.ts';
import { decodeQuote, decodeRecordJson, encodeQuote } from '../../../lib/records/quote-record.ts';
import type { Quote } from '../../../lib/quotes/quote.ts';
import { pick, seededRandom } from '../../support/seeded-random.ts';

const TICKERS = ['MSFT', 'BRK.B', 'binance:BTCUSDT', 'é€😀', 'A"B', 'back\\slash', 'tab\tin', ''];
const TIMESTAMPS = [
  '2025-01-02T14:30:00.003Z',
  '2025-01-02T14:30:00.003456Z',
  '2025-01-02T14:30:00.003456789Z',
  '1969-12-31T23:59:59.999Z',
  '2025-01-02 14:30:00.003',
  '2025-01-02T14:30:00+01:00',
  '2025-02-30T14:30:00.003Z',
  '2025-01-02T14:30:00.Z',
  '1736000000.5',
  'not a time',
];
const DECIMALS = ['421.6', '0.15', '7', '007.50', '.5', '12.', '0', '99999999999999.9', '1.5e2', '-1.5', '+2', '1.2.3', '.', ''];
const LATENCIES: ReadonlyArray<number | undefined> = [undefined, 0, 26, 0.1, 150.25, 1e21, 2 ** 53 + 2];

/** Mostly a valid value (the first `valid` of `items`), sometimes any: most records stay decodable. */
function mostlyValid<T>(random: () => number, items: readonly T[], valid: number): T {
  return random() < 0.9 ? pick(random, items.slice(0, valid)) : pick(random, items);
}

function randomQuote(random: () => number): Quote {
  const quote: Quote = {
    mode: pick(random, ['historical', 'live'] as const),
    source: mostlyValid(random, ['hist:0123456789abcdef', 'live', ''], 2),
    seq: pick(random, [1, 7, 123456, 2 ** 53 - 1]),
    ticker: mostlyValid(random, TICKERS, 4),
    timestamp: mostlyValid(random, TIMESTAMPS, 5),
    arrival: mostlyValid(random, TIMESTAMPS, 5),
    bid: mostlyValid(random, DECIMALS, 8),
    ask: mostlyValid(random, DECIMALS, 8),
  };
  if (random() < 0.8) quote.bidAmount = mostlyValid(random, DECIMALS, 8);
  if (random() < 0.8) quote.askAmount = mostlyValid(random, DECIMALS, 8);
  const latency = pick(random, LATENCIES);
  if (latency !== undefined) quote.latencyMs = latency;
  return quote;
}

/** The outcome of a decode: the value, or the error's class and reason. */
function outcome(decode: () => unknown): unknown {
  try {
    return { value: decode() };
  } catch (error) {
    return { error: (error as Error).constructor.name, message: (error as Error).message };
  }
}

describe('canonical record reader (the fast path of decodeQuote)', () => {
  it('reads every record encodeQuote writes for a valid quote, as the JSON path does', () => {
    const random = seededRandom(1);
    let read = 0;
    for (let i = 0; i < 3000; i++) {
      const quote: Quote = {
        mode: pick(random, ['historical', 'live'] as const),
        source: 'hist:0123456789abcdef',
        seq: 1 + Math.floor(random() * 1e9),
        ticker: pick(random, ['MSFT', 'BRK.B', 'é€😀']),
        timestamp: pick(random, TIMESTAMPS.slice(0, 5)),
        arrival: pick(random, TIMESTAMPS.slice(0, 5)),
        bid: pick(random, DECIMALS.slice(0, 7)),
        ask: pick(random, DECIMALS.slice(0, 7)),
        bidAmount: pick(random, DECIMALS.slice(0, 7)),
        askAmount: pick(random, DECIMALS.slice(0, 7)),
        latencyMs: pick(random, [0, 26, 0.1, 150.25]),
      };
      const text = Buffer.from(encodeQuote(quote, { run: pick(random, [undefined, 'bench', '']) })).toString('utf8');
      const fast = readCanonicalRecord(text);
      assert.notEqual(fast, undefined, text);
      assert.deepEqual(fast, decodeRecordJson(text));
      assert.deepEqual(Object.keys(fast?.quote ?? {}), Object.keys(decodeRecordJson(text).quote));
      read++;
    }
    assert.equal(read, 3000);
  });

  it('agrees with the JSON path on odd records: escapes, bad values, other key orders, extra keys, broken JSON', () => {
    const random = seededRandom(2);
    let fastPathTaken = 0;
    for (let i = 0; i < 20_000; i++) {
      const quote = randomQuote(random);
      let text = Buffer.from(encodeQuote(quote, { run: pick(random, [undefined, 'r"un', 'bench']) })).toString('utf8');
      const mutation = Math.floor(random() * 12);
      if (mutation === 0) text = JSON.stringify({ ...JSON.parse(text), extra: 1 });
      else if (mutation === 1) text = JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(text) as object).reverse()));
      else if (mutation === 2) text = text.slice(0, Math.floor(random() * text.length));
      else if (mutation === 3) text = text.replace('"v":1', pick(random, ['"v":2', '"v":1.0', '"v": 1', '"v":"1"']));
      else if (mutation === 4) text = text.replace(/"seq":\d+/, pick(random, ['"seq":0', '"seq":1.5', '"seq":-3', '"seq":1e3', '"seq":"7"', '"seq":9007199254740993']));
      else if (mutation === 5) text = text.replace(/"latencyMs":[^,}]+/, pick(random, ['"latencyMs":-1', '"latencyMs":1e400', '"latencyMs":"26"', '"latencyMs":01', '"latencyMs":null']));
      else if (mutation === 6) text = ' ' + text;
      else if (mutation === 7) text = text + '\n';
      else if (mutation === 8) text = text.replace('"mode":', '"mode":"live","mode":');
      const fast = readCanonicalRecord(text);
      if (fast !== undefined) fastPathTaken++;
      assert.deepEqual(outcome(() => decodeQuote(Buffer.from(text))), outcome(() => decodeRecordJson(text)), text);
    }
    // The generator must exercise both paths, or the comparison proves little.
    assert.ok(fastPathTaken > 2_000 && fastPathTaken < 20_000, `fast path taken ${fastPathTaken} times`);
  });

  it('reads a head repeated from record to record as it reads it the first time, and tells heads that only start alike apart', () => {
    // The reader remembers the last head (`{"v":1,…"source":"…"`); runs of records sharing one,
    // broken by heads that differ from it late (a longer source, another mode or run) and by
    // records whose head matches but whose rest does not read (escapes, bad values, truncation).
    const random = seededRandom(3);
    const sources = ['hist:0123456789abcdef', 'hist:0123456789abcdef0', 'hist:0123456789abcde', 'live'];
    const runs = [undefined, 'bench', 'bench2', ''];
    let repeatedHeads = 0;
    let fastPathTaken = 0;
    let previousHead = '';
    for (let i = 0; i < 20_000; i++) {
      const quote = randomQuote(random);
      if (random() < 0.9) {
        // Mostly the same head as the record before.
        quote.mode = i % 500 < 250 ? 'historical' : 'live';
        quote.source = sources[Math.floor(i / 1000) % sources.length] as string;
      } else {
        quote.source = pick(random, sources);
      }
      const run = random() < 0.95 ? runs[Math.floor(i / 3000) % runs.length] : pick(random, runs);
      let text = Buffer.from(encodeQuote(quote, { run })).toString('utf8');
      const mutation = Math.floor(random() * 20);
      if (mutation === 0) text = text.slice(0, Math.floor(random() * text.length));
      else if (mutation === 1) text = text.replace('"seq":', '"seq":\\u0031');
      else if (mutation === 2) text = text.replace(/"ticker":"[^"]*"/, '"ticker":"a\\"b"');
      else if (mutation === 3) text = text.replace(/"source":"[^"]*"/, (m) => m.slice(0, -1) + '\\u0041"');
      const head = text.slice(0, text.indexOf(',"seq":'));
      if (head === previousHead) repeatedHeads++;
      previousHead = head;
      if (readCanonicalRecord(text) !== undefined) fastPathTaken++;
      assert.deepEqual(outcome(() => decodeQuote(Buffer.from(text))), outcome(() => decodeRecordJson(text)), text);
    }
    assert.ok(repeatedHeads > 10_000, `${repeatedHeads} repeated heads`);
    assert.ok(fastPathTaken > 5_000 && fastPathTaken < 20_000, `fast path taken ${fastPathTaken} times`);
  });
});
