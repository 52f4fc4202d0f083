/**
 * The CSV reader's fast path (fast-splitter.ts) against csv-parse (`fastPath: false`): on
 * generated inputs, read in random chunk sizes, both must yield identical rows — fields, line
 * numbers, byte offsets, rejections — and resume identically at any reported row.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readQuoteRows, type CsvReadOptions, type CsvRowResult } from '../../../lib/quotes/csv-reader.ts';
import type { ByteInput, ByteStream } from '../../../lib/quotes/byte-input.ts';
import { FastSplitter } from '../../../lib/quotes/fast-splitter.ts';
import { mulberry32 as random } from '../../../data/generate.ts';

/** In-memory input served in chunks of random sizes (1 byte to 300), differently on each open. */
function memoryInput(bytes: Buffer, seed: number): ByteInput {
  let opens = 0;
  return {
    name: 'memory.csv',
    size: bytes.length,
    seekable: true,
    open(offset: number): ByteStream {
      const next = random(seed * 7919 + ++opens);
      let destroyed = false;
      return {
        destroy: () => {
          destroyed = true;
        },
        async *[Symbol.asyncIterator]() {
          for (let at = offset; at < bytes.length && !destroyed; ) {
            const size = next() < 0.2 ? 1 + Math.floor(next() * 3) : 1 + Math.floor(next() * 300);
            yield bytes.subarray(at, at + size);
            at += size;
            await Promise.resolve();
          }
        },
      };
    },
  };
}

async function readAll(input: ByteInput, options: CsvReadOptions): Promise<CsvRowResult[]> {
  const rows: CsvRowResult[] = [];
  for await (const row of readQuoteRows(input, options)) rows.push(row);
  return rows;
}

const BREAKS = ['\n', '\r\n', '\r'];

/** One generated line (without its break): mostly good quotes, and every kind of trouble. */
function line(pick: () => number, i: number): string {
  const ms = String(i % 1000).padStart(3, '0');
  const good = `2025-01-02 14:30:${String(i % 60).padStart(2, '0')}.${ms},T${i % 7},10${i % 10}.25,10${i % 10}.5${i % 3},${i % 50}`;
  const r = pick();
  if (r < 0.6) return good;
  if (r < 0.65) return ''; // blank line
  if (r < 0.68) return good + ',extra'; // ragged
  if (r < 0.7) return good.slice(0, 20); // ragged, short
  if (r < 0.72) return `"2025-01-02 14:30:00.000","Q${i}",1.5,"1.6",2`; // quoted, valid
  if (r < 0.73) return `2025-01-02 14:30:00.000,"Q,${i}",1.5,1.6,2`; // quoted comma
  if (r < 0.74) return `2025-01-02 14:30:00.000,"a\nb",1.5,1.6,2`; // quoted line break
  if (r < 0.75) return `2025-01-02 14:30:00.000,b"ad,1.5,1.6,2`; // quote inside a field
  if (r < 0.76) return `2025-01-02 14:30:00.000,"never closed,1.5,1.6,2`;
  if (r < 0.78) return good.replace(`T${i % 7}`, 'Ré'); // non-ASCII ticker (rejected by the rules)
  if (r < 0.8) return good.replace(`T${i % 7}`, `X\u00ff\u00feY`); // turned into invalid UTF-8 below
  if (r < 0.82) return good.replace(`T${i % 7}`, 'L'.repeat(150 + Math.floor(pick() * 100))); // over maxRecordSize
  if (r < 0.84) return ' ';
  if (r < 0.86) return ',,,,';
  if (r < 0.88) return good.replace('.25', 'x');
  return good;
}

/** A generated file: optional BOM, a header, lines with mixed breaks, with or without a last break. */
function generate(seed: number): Buffer {
  const pick = random(seed);
  const parts: string[] = [];
  const crlfOnly = pick() < 0.3;
  const breakOf = (): string => (crlfOnly ? '\r\n' : (BREAKS[Math.floor(pick() * BREAKS.length)] as string));
  if (pick() < 0.3) parts.push(breakOf()); // blank lines before the header
  parts.push('timestamp,ticker,bid_price,ask_price,latency', breakOf());
  const count = 20 + Math.floor(pick() * 200);
  for (let i = 0; i < count; i++) {
    parts.push(line(pick, i));
    if (i < count - 1 || pick() < 0.5) parts.push(breakOf());
  }
  const text = (pick() < 0.3 ? '\ufeff' : '') + parts.join('');
  // U+00FF U+00FE stand for the bytes 0xFF 0xFE, which are never UTF-8.
  const bytes = Buffer.from(text, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0xc3 && (bytes[i + 1] === 0xbf || bytes[i + 1] === 0xbe)) {
      out.push(bytes[i + 1] === 0xbf ? 0xff : 0xfe);
      i++;
    } else {
      out.push(bytes[i] as number);
    }
  }
  return Buffer.from(out);
}

describe('CSV fast path', () => {
  it('yields exactly what csv-parse yields on generated inputs, in random chunk sizes', async () => {
    for (let seed = 1; seed <= 150; seed++) {
      const bytes = generate(seed);
      const options = { maxRecordSize: 200 };
      const expected = await readAll(memoryInput(bytes, seed), { ...options, fastPath: false });
      const actual = await readAll(memoryInput(bytes, seed + 1), options);
      assert.deepEqual(actual, expected, `seed ${seed}`);
      assert.ok(expected.length > 0, `seed ${seed} has rows`);
    }
  });

  it('resumes at any reported row exactly as csv-parse does', async () => {
    for (let seed = 1000; seed < 1030; seed++) {
      const bytes = generate(seed);
      const options = { maxRecordSize: 200 };
      const full = await readAll(memoryInput(bytes, seed), { ...options, fastPath: false });
      const pick = random(seed);
      for (let k = 0; k < 5; k++) {
        const i = Math.floor(pick() * full.length);
        const { offset, line } = full[i] as CsvRowResult;
        const startAt = { offset, line };
        const expected = await readAll(memoryInput(bytes, seed + k), { ...options, fastPath: false, startAt });
        const actual = await readAll(memoryInput(bytes, seed + k + 1), { ...options, startAt });
        assert.deepEqual(expected, full.slice(i), `seed ${seed}: csv-parse resumes at row ${i}`);
        assert.deepEqual(actual, expected, `seed ${seed}: resuming at row ${i} (line ${line}, byte ${offset})`);
      }
    }
  });

  it('covers what it is meant to: most files are split by the fast path, quoted lines are not', () => {
    const splitter = new FastSplitter(2, 10, 100);
    splitter.push(Buffer.from('a,b\r\n\r\nc,d\nx,"y"\ne,f\n'));
    assert.deepEqual(splitter.records, [
      ['a', 'b'],
      ['c', 'd'],
    ]);
    assert.deepEqual(splitter.marks, [2, 10, 15, 4, 17, 21]);
    assert.equal(splitter.stopped, true);
    assert.deepEqual({ line: splitter.nextLine, byte: splitter.nextByte }, { line: 5, byte: 21 });
  });

  it('waits for the byte after a CR before ending a line, and stops on a line too long to buffer', () => {
    const splitter = new FastSplitter(1, 0, 8);
    splitter.push(Buffer.from('a,b\r'));
    assert.deepEqual(splitter.records, []);
    splitter.push(Buffer.from('\nc'));
    assert.deepEqual(splitter.records, [['a', 'b']]);
    assert.deepEqual(splitter.marks, [1, 0, 5]);
    splitter.push(Buffer.from('123456789'));
    assert.equal(splitter.stopped, true);
    assert.deepEqual({ line: splitter.nextLine, byte: splitter.nextByte }, { line: 2, byte: 5 });
  });
});
