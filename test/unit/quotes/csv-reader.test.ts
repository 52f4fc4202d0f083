import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../../lib/errors.ts';
import { CsvColumnsError } from '../../../lib/quotes/columns.ts';
import { readQuoteRows } from '../../../lib/quotes/csv-reader.ts';
import { openInput, sourceFor } from '../../../lib/input/input.ts';
import type { CsvHeader, CsvReadOptions, CsvRowResult } from '../../../lib/quotes/csv-reader.ts';

const HEADER = 'timestamp,ticker,bid,ask,latency';

let dir = '';
let fileCount = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tick-replay-csv-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function csvFile(content: string | Buffer): Promise<string> {
  const path = join(dir, `quotes-${++fileCount}.csv`);
  await writeFile(path, content);
  return path;
}

/** readQuoteRows over a local file, as the replay opens it (lib/input). */
async function* readPath(path: string, options?: CsvReadOptions): AsyncGenerator<CsvRowResult> {
  const input = await openInput(sourceFor(path));
  yield* readQuoteRows(input.bytes, options);
}

async function readAll(path: string, options?: CsvReadOptions): Promise<CsvRowResult[]> {
  const rows: CsvRowResult[] = [];
  for await (const row of readPath(path, options)) rows.push(row);
  return rows;
}

/** `line:ticker` for accepted rows, `line:!` for rejections: compact expectations. */
function summary(rows: CsvRowResult[]): string[] {
  return rows.map((r) => (r.ok ? `${r.line}:${r.fields.ticker}` : `${r.line}:!`));
}

function quote(ticker: string, ms = 120): string {
  return `2025-01-01 00:00:00.${String(ms).padStart(3, '0')},${ticker},1.00,1.02,5`;
}

describe('readQuoteRows: reading', () => {
  it('yields each data row with the line it starts on', async () => {
    const path = await csvFile([HEADER, quote('A'), quote('B'), quote('C')].join('\n') + '\n');
    const rows = await readAll(path);
    assert.deepEqual(summary(rows), ['2:A', '3:B', '4:C']);
    const first = rows[0];
    assert.ok(first?.ok);
    assert.deepEqual(first.fields, { ticker: 'A', timestamp: '2025-01-01T00:00:00.120Z', bid: '1', ask: '1.02', latencyMs: 5 });
  });

  it('reads a last row that has no line break', async () => {
    const path = await csvFile(`${HEADER}\n${quote('A')}\n${quote('B')}`);
    assert.deepEqual(summary(await readAll(path)), ['2:A', '3:B']);
  });

  it('strips a UTF-8 byte order mark before the header', async () => {
    const path = await csvFile(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${HEADER}\n${quote('A')}\n`)]));
    assert.deepEqual(summary(await readAll(path)), ['2:A']);
  });

  it('reads CRLF files without leaving carriage returns in values', async () => {
    const path = await csvFile(`${HEADER}\r\n${quote('A')}\r\n${quote('B')}\r\n`);
    const rows = await readAll(path);
    assert.deepEqual(summary(rows), ['2:A', '3:B']);
    assert.ok(rows[1]?.ok);
    assert.equal(rows[1].fields.latencyMs, 5);
  });

  it('reads files mixing LF, CRLF and CR line ends', async () => {
    const path = await csvFile(`${HEADER}\n${quote('A')}\r\n${quote('B')}\r${quote('C')}\n`);
    assert.deepEqual(summary(await readAll(path)), ['2:A', '3:B', '4:C']);
  });

  it('reads quoted fields containing commas and doubled quotes', async () => {
    const path = await csvFile(`${HEADER},note\n2025-01-01 00:00:00,"BRK.B",1,2,0,"a, b"\n2025-01-01 00:00:00,"C",1,2,0,"say ""hi"""\n`);
    const rows = await readAll(path);
    assert.deepEqual(summary(rows), ['2:BRK.B', '3:C']);
  });

  it('rejects a quoted ticker holding characters outside the ticker set', async () => {
    const path = await csvFile(`${HEADER}\n2025-01-01 00:00:00,"BRK,B",1,2,0\n`);
    const [row] = await readAll(path);
    assert.ok(row !== undefined && !row.ok);
    assert.match(row.reason, /"BRK,B" contains ","; tickers are ASCII letters, digits and/);
  });

  it('counts lines inside quoted newlines, so the next row has its own line number', async () => {
    const header = `${HEADER},note`;
    const path = await csvFile(
      [header, `${quote('A')},"one\ntwo\nthree"`, `${quote('B')},plain`, `${quote('C')},"x\n"`, `${quote('D')},`].join('\n') + '\n',
    );
    assert.deepEqual(summary(await readAll(path)), ['2:A', '5:B', '6:C', '8:D']);
  });

  it('counts a quoted CRLF as one line in CRLF files', async () => {
    const header = `${HEADER},note`;
    const path = await csvFile([header, `${quote('A')},"one\r\ntwo"`, `${quote('B')},"a\r\nb\r\nc"`, `${quote('C')},`].join('\r\n') + '\r\n');
    assert.deepEqual(summary(await readAll(path)), ['2:A', '4:B', '7:C']);
  });

  it('skips blank lines and still reports true line numbers', async () => {
    const path = await csvFile(`\n\r\n${HEADER}\n\n${quote('A')}\n\n\n${quote('B')}\n\n`);
    let header: CsvHeader | undefined;
    const rows = await readAll(path, { onHeader: (h) => (header = h) });
    assert.deepEqual(summary(rows), ['5:A', '8:B']);
    assert.equal(header?.line, 3);
    assert.deepEqual(header?.names, HEADER.split(','));
  });

  it('reports the header line and format before any row', async () => {
    const path = await csvFile(`${HEADER}\n${quote('A')}\n`);
    const events: string[] = [];
    for await (const row of readPath(path, { onHeader: (h) => events.push(`header@${h.line}:${h.format.name}`) })) {
      events.push(`row@${row.line}`);
    }
    assert.deepEqual(events, ['header@1:csv', 'row@2']);
  });

  it('ignores unknown extra columns', async () => {
    const path = await csvFile(`exchange,timestamp,ticker,bid,ask,comment\nXNAS,2025-01-01 00:00:00,A,1,2,whatever\n`);
    const rows = await readAll(path);
    assert.ok(rows[0]?.ok);
    assert.deepEqual(rows[0].fields, { ticker: 'A', timestamp: '2025-01-01T00:00:00.000Z', bid: '1', ask: '2' });
  });

  it('keeps micro- and nanosecond timestamps and converts offsets', async () => {
    const path = await csvFile(`ts,symbol,bid,ask\n2025-01-01T01:00:00.123456+01:00,A,1,2\n1735689600123456789,B,1,2\n`);
    const rows = await readAll(path);
    assert.ok(rows[0]?.ok && rows[1]?.ok);
    assert.equal(rows[0].fields.timestamp, '2025-01-01T00:00:00.123456Z');
    assert.equal(rows[0].precision, 6);
    assert.equal(rows[1].fields.timestamp, '2025-01-01T00:00:00.123456789Z');
    assert.equal(rows[1].precision, 9);
  });

  it('yields nothing, without error, for a header-only file', async () => {
    assert.deepEqual(await readAll(await csvFile(`${HEADER}\n`)), []);
    assert.deepEqual(await readAll(await csvFile(HEADER)), []);
  });
});

describe('readQuoteRows: bad rows never stop the file', () => {
  it('rejects a ragged row with its line and reads on', async () => {
    const path = await csvFile(`${HEADER}\n${quote('A')}\n2025-01-01 00:00:00,B,1\n${quote('C')}\n`);
    const rows = await readAll(path);
    assert.deepEqual(summary(rows), ['2:A', '3:!', '4:C']);
    assert.deepEqual(rows[1], { ok: false, line: 3, reason: 'expected 5 fields, got 3', offset: 71 });
  });

  it('rejects a row with an invalid closing quote and reads the good rows after it', async () => {
    const path = await csvFile(`${HEADER}\n${quote('A')}\n2025-01-01 00:00:00,"B"x,1,2,0\n${quote('C')}\n${quote('D')}\n"x",${quote('E').slice(4)}\n${quote('F')}\n`);
    const rows = await readAll(path);
    assert.deepEqual(summary(rows).slice(0, 5), ['2:A', '3:!', '4:C', '5:D', '6:!']);
    assert.match((rows[1] as { reason: string }).reason, /^malformed CSV: a closing quote/);
    assert.deepEqual(summary(rows).slice(-1), ['7:F']);
  });

  it('rejects a quote inside an unquoted field and reads on', async () => {
    const path = await csvFile(`${HEADER}\n${quote('A')}\n2025-01-01 00:00:00,B"B,1,2,0\n${quote('C')}\n`);
    const rows = await readAll(path);
    assert.deepEqual(summary(rows), ['2:A', '3:!', '4:C']);
    assert.match((rows[1] as { reason: string }).reason, /quote inside an unquoted field/);
  });

  it('rejects the line of a quote that never closes and reads the rows after it', async () => {
    const path = await csvFile(`${HEADER}\n${quote('A')}\n2025-01-01 00:00:00,"B,1,2,0\n${quote('C')}\n${quote('D')}\n`);
    const rows = await readAll(path);
    assert.deepEqual(summary(rows), ['2:A', '3:!', '4:C', '5:D']);
    assert.equal((rows[1] as { reason: string }).reason, 'malformed CSV: a quoted field is never closed');
  });

  it('counts blank lines before a broken record in its line number', async () => {
    const path = await csvFile(`${HEADER}\n${quote('A')}\n\n\n"B"x,1\n${quote('C')}\n`);
    assert.deepEqual(summary(await readAll(path)), ['2:A', '5:!', '6:C']);
  });

  it('rejects a record larger than maxRecordSize and reads on', async () => {
    const path = await csvFile(`${HEADER}\n${quote('A')}\n${quote('B'.repeat(300))}\n${quote('C')}\n`);
    const rows = await readAll(path, { maxRecordSize: 200 });
    assert.deepEqual(summary(rows), ['2:A', '3:!', '4:C']);
    assert.equal((rows[1] as { reason: string }).reason, 'record is longer than the maximum of 200 bytes');
  });

  it('skips a broken line far longer than a read chunk without buffering it', async () => {
    const huge = 'x'.repeat(700 * 1024);
    const path = await csvFile(`${HEADER}\n${quote('A')}\n2025-01-01 00:00:00,${huge}\r\n${quote('C')}\n`);
    const rows = await readAll(path);
    assert.deepEqual(summary(rows), ['2:A', '3:!', '4:C']);
    assert.match((rows[1] as { reason: string }).reason, /longer than the maximum of 65536 bytes/);
  });

  it('keeps line numbers right across chunks, quoted newlines and repeated recoveries', async () => {
    // ~1.5 MB: many read chunks; every 97th record spans lines, every 503rd is broken.
    const lines: string[] = [`${HEADER},note`];
    const expected: string[] = [];
    let line = 2;
    for (let i = 0; i < 20_000; i++) {
      const ticker = `T${i}`;
      let text: string;
      if (i % 503 === 250) {
        text = `2025-01-01 00:00:00,"${ticker}"oops,1,2,3,`;
        expected.push(`${line}:!`);
      } else if (i % 97 === 5) {
        text = `${quote(ticker, i % 1000)},"multi\nline\nnote"`;
        expected.push(`${line}:${ticker}`);
      } else {
        text = `${quote(ticker, i % 1000)},`;
        expected.push(`${line}:${ticker}`);
      }
      lines.push(text);
      line += text.split('\n').length;
      if (i % 1000 === 999) {
        lines.push('');
        line += 1;
      }
    }
    for (const eol of ['\n', '\r\n']) {
      const content = lines.join(eol).replaceAll('\n', eol === '\r\n' ? '\r\n' : '\n').replaceAll('\r\r\n', '\r\n') + eol;
      const rows = await readAll(await csvFile(content));
      assert.deepEqual(summary(rows), expected, `line ends ${JSON.stringify(eol)}`);
    }
  });
});

describe('readQuoteRows: unusable files', () => {
  async function firstError(path: string): Promise<unknown> {
    const iterator = readPath(path);
    try {
      await iterator.next();
    } catch (err) {
      return err;
    }
    assert.fail('expected an error before the first row');
  }

  it('names a missing file before yielding anything', async () => {
    const path = join(dir, 'nope.csv');
    const err = await firstError(path);
    assert.ok(err instanceof InputError);
    assert.equal(err.message, `cannot read ${path}: no such file`);
  });

  it('names a directory', async () => {
    const path = join(dir, 'a-directory.csv');
    await mkdir(path);
    const err = await firstError(path);
    assert.ok(err instanceof InputError);
    assert.equal(err.message, `cannot read ${path}: is a directory`);
  });

  it(
    'names an unreadable file',
    { skip: process.getuid?.() === 0 ? 'root reads files regardless of permissions' : false },
    async () => {
      const path = await csvFile(`${HEADER}\n`);
      await chmod(path, 0o000);
      const err = await firstError(path);
      assert.ok(err instanceof InputError);
      assert.equal(err.message, `cannot read ${path}: permission denied`);
    },
  );

  it('rejects an empty file as having no header', async () => {
    const path = await csvFile('');
    const err = await firstError(path);
    assert.ok(err instanceof InputError);
    assert.equal(err.message, `${path}: empty file, expected a header row`);
  });

  it('rejects a file of blank lines as having no header', async () => {
    const path = await csvFile('\n\r\n\n');
    assert.match(String(await firstError(path)), /empty file, expected a header row/);
  });

  it('rejects a header without the required columns', async () => {
    const path = await csvFile(`time,ticker,ask\n${quote('A')}\n`);
    const err = await firstError(path);
    assert.ok(err instanceof CsvColumnsError);
    assert.match(err.message, /missing required column "bid"/);
  });

  it('stops with an InputError naming the line when the header itself cannot be parsed', async () => {
    const path = await csvFile(`\n"timestamp"x,ticker,bid,ask\n${quote('A')}\n`);
    const err = await firstError(path);
    assert.ok(err instanceof InputError);
    assert.match(err.message, /cannot parse the header row at line 2: malformed CSV/);
  });

  it('names the header line after a byte order mark and blank lines', async () => {
    const path = await csvFile(`\ufeff\n\n"timestamp"x,ticker,bid,ask\n${quote('A')}\n`);
    assert.match(String(await firstError(path)), /cannot parse the header row at line 3/);
  });

  it('refuses UTF-16 files with a hint', async () => {
    const path = await csvFile(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(HEADER, 'utf16le')]));
    assert.match(String(await firstError(path)), /UTF-16 encoded; save it as UTF-8/);
  });
});

describe('readQuoteRows: stopping', () => {
  it('throws the abort reason when the signal is already aborted', async () => {
    const path = await csvFile(`${HEADER}\n${quote('A')}\n`);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(readAll(path, { signal: controller.signal }), { name: 'AbortError' });
  });

  it('stops at the next chunk when aborted while reading', async () => {
    const body = Array.from({ length: 30_000 }, (_, i) => quote(`T${i}`)).join('\n');
    const path = await csvFile(`${HEADER}\n${body}\n`);
    const controller = new AbortController();
    let seen = 0;
    await assert.rejects(async () => {
      for await (const _row of readPath(path, { signal: controller.signal })) {
        if (++seen === 10) controller.abort();
      }
    }, { name: 'AbortError' });
    assert.ok(seen < 30_000, `read ${seen} rows after abort`);
  });

  it('can be abandoned early by the consumer', async () => {
    const path = await csvFile(`${HEADER}\n${quote('A')}\n${quote('B')}\n`);
    for await (const row of readPath(path)) {
      assert.equal(row.line, 2);
      break;
    }
    // Reading again works: nothing was left locked or half-consumed.
    assert.deepEqual(summary(await readAll(path)), ['2:A', '3:B']);
  });
});

/** File lines (1-based) of increasing byte offsets in `bytes`; LF, CRLF and CR each end a line. */
function lineCounter(bytes: Buffer): (offset: number) => number {
  let position = 0;
  let line = 1;
  return (offset) => {
    assert.ok(offset >= position, 'offsets increase');
    for (; position < offset; position++) {
      const c = bytes[position];
      if (c === 0x0a || (c === 0x0d && bytes[position + 1] !== 0x0a)) line++;
    }
    return line;
  };
}

describe('readQuoteRows: offsets and resuming', () => {
  /**
   * Reads `content` whole, checks that every row's offset is the first byte of the line it
   * reports, then resumes at every `every`-th row (and at the rows `alsoAt` picks) and expects
   * exactly the rest of the full read each time.
   */
  async function assertResumable(
    content: string | Buffer,
    every = 1,
    options: CsvReadOptions = {},
    alsoAt: (rows: CsvRowResult[]) => number[] = () => [],
  ): Promise<CsvRowResult[]> {
    const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const path = await csvFile(bytes);
    const full = await readAll(path, options);
    assert.ok(full.length > 0, 'the file has rows');
    const lineAt = lineCounter(bytes);
    for (const row of full) {
      assert.ok(row.offset > 0 && row.offset < bytes.length, `offset ${row.offset} of line ${row.line} inside the file`);
      const before = bytes[row.offset - 1];
      assert.ok(before === 0x0a || before === 0x0d, `offset ${row.offset} of line ${row.line} starts a line`);
      assert.ok(bytes[row.offset] !== 0x0a && bytes[row.offset] !== 0x0d, `offset ${row.offset} of line ${row.line} is not a blank line`);
      assert.equal(lineAt(row.offset), row.line, `offset ${row.offset} is on line ${row.line}`);
    }
    const resumeAt = new Set<number>();
    for (let i = 0; i < full.length; i += every) resumeAt.add(i);
    for (const i of alsoAt(full)) if (i >= 0 && i < full.length) resumeAt.add(i);
    for (const i of resumeAt) {
      const { offset, line } = full[i] as CsvRowResult;
      const tail = await readAll(path, { ...options, startAt: { offset, line } });
      assert.deepEqual(tail, full.slice(i), `resuming at row ${i} (line ${line}, byte ${offset})`);
    }
    return full;
  }

  it('reports offsets and resumes at every row of an LF file', async () => {
    const full = await assertResumable(
      [HEADER, quote('A'), quote('B'), '2025-01-01 00:00:00,C,1', quote('D').replace('1.00', 'x'), quote('E')].join('\n') + '\n',
    );
    assert.deepEqual(summary(full), ['2:A', '3:B', '4:!', '5:!', '6:E']);
    assert.deepEqual(
      full.map((r) => r.offset),
      [33, 71, 109, 133, 168],
    );
  });

  it('resumes in a CRLF file, with and without a final line break', async () => {
    const body = [HEADER, quote('A'), quote('B'), '2025-01-01 00:00:00,C,1', quote('D')].join('\r\n');
    assert.deepEqual(summary(await assertResumable(body + '\r\n')), ['2:A', '3:B', '4:!', '5:D']);
    assert.deepEqual(summary(await assertResumable(body)), ['2:A', '3:B', '4:!', '5:D']);
  });

  it('resumes in a file with a byte order mark and blank lines before the header', async () => {
    const content = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`\n\r\n${HEADER}\n${quote('A')}\n${quote('B')}\n`)]);
    const full = await assertResumable(content);
    assert.deepEqual(summary(full), ['4:A', '5:B']);
    assert.equal(full[0]?.offset, 3 + 3 + HEADER.length + 1);
  });

  it('resumes in a file mixing LF, CRLF and CR line ends', async () => {
    const content = `${HEADER}\r${quote('A')}\r\n${quote('B')}\r${quote('C')}\n\r\r\n${quote('D')}\r`;
    assert.deepEqual(summary(await assertResumable(content)), ['2:A', '3:B', '4:C', '7:D']);
  });

  it('resumes around records with quoted line breaks', async () => {
    const header = `${HEADER},note`;
    for (const eol of ['\n', '\r\n']) {
      const rows = [header, `${quote('A')},"one${eol}two${eol}three"`, `${quote('B')},plain`, `${quote('C')},"x${eol}"`, `"${quote('D')}",`];
      rows.push(`${quote('E')},"a\nb\r\nc\rd"`, `${quote('F')},`);
      const full = await assertResumable(rows.join(eol) + eol);
      assert.deepEqual(summary(full), ['2:A', '5:B', '6:C', '8:!', '9:E', '13:F'], `line ends ${JSON.stringify(eol)}`);
    }
  });

  it('resumes around broken quotes, including at the rejections themselves', async () => {
    const header = `${HEADER},note`;
    const content = [
      header,
      `${quote('A')},`,
      `2025-01-01 00:00:00,"B"x,1,2,0,`, // invalid closing quote
      `${quote('C')},`,
      `2025-01-01 00:00:00,C"C,1,2,0,`, // quote inside an unquoted field
      '',
      `${quote('D')},"multi`, // a record that spans lines and is broken: one rejection per line
      `line"oops`,
      `${quote('E')},`,
      `2025-01-01 00:00:00,"F,1,2,0,`, // never closed: runs to the end of the file
      `${quote('G')},`,
    ].join('\n');
    const full = await assertResumable(content + '\n');
    assert.deepEqual(summary(full), ['2:A', '3:!', '4:C', '5:!', '7:!', '8:!', '9:E', '10:!', '11:G']);
  });

  it('resumes around blank lines, including CR-only ones and ones at the end', async () => {
    const content = `${HEADER}\n\n\n${quote('A')}\n\r\n\r\r${quote('B')}\n${quote('C')}\n\n\n`;
    assert.deepEqual(summary(await assertResumable(content)), ['4:A', '8:B', '9:C']);
  });

  it('resumes around records too long for maxRecordSize', async () => {
    const content = `${HEADER}\n${quote('A')}\n${quote('B'.repeat(300))}\n\n${quote('C')}\n${quote('D'.repeat(300))}`;
    assert.deepEqual(summary(await assertResumable(content, 1, { maxRecordSize: 200 })), ['2:A', '3:!', '5:C', '6:!']);
  });

  it('resumes across read chunks, long blank runs, long records and repeated recoveries', async () => {
    // ~1.6 MB, several read chunks: a run of blank lines longer than a chunk, then a record longer
    // than a chunk (both cross chunk boundaries); another such blank run before a short record; a
    // broken line longer than a chunk; every 97th record spanning lines, every 503rd broken, a
    // blank line after every 100th.
    const lines: string[] = [`${HEADER},note`];
    for (let i = 0; i < 3000; i++) {
      const ticker = `T${i}`;
      if (i % 503 === 250) lines.push(`2025-01-01 00:00:00,"${ticker}"oops,1,2,3,`);
      else if (i % 97 === 5) lines.push(`${quote(ticker, i % 1000)},"multi\nline\nnote"`);
      else lines.push(`${quote(ticker, i % 1000)},`);
      if (i % 100 === 99) lines.push('');
      if (i === 1000) lines.push('\n'.repeat(300 * 1024), `${quote('LONG')},"${'n'.repeat(300 * 1024)}"`);
      if (i === 1500) lines.push('\n'.repeat(300 * 1024));
      if (i === 2000) lines.push(`2025-01-01 00:00:00,"${'x'.repeat(300 * 1024)}"oops,`);
    }
    for (const eol of ['\n', '\r\n']) {
      const content = lines.join('\n').replaceAll('\n', eol) + eol;
      const brokenAt = content.indexOf(`2025-01-01 00:00:00,"${'x'.repeat(100)}`);
      // Also at the long record (right after a blank run), the rows around it, the row after the
      // other blank run and the long broken line, whatever every 89th row hits.
      const full = await assertResumable(content, 89, { maxRecordSize: 400 * 1024 }, (rows) => {
        const long = rows.findIndex((r) => r.ok && r.fields.ticker === 'LONG');
        const afterBlanks = rows.findIndex((r) => r.ok && r.fields.ticker === 'T1501');
        const broken = rows.findIndex((r) => !r.ok && r.offset === brokenAt);
        return [long - 1, long, long + 1, afterBlanks, broken, broken + 1];
      });
      assert.ok(full.length > 3000, `line ends ${JSON.stringify(eol)}`);
      assert.ok(full.some((r) => r.ok && r.fields.ticker === 'LONG'));
      assert.ok(full.some((r) => r.ok && r.fields.ticker === 'T1501'));
      assert.ok(full.some((r) => !r.ok && r.offset === brokenAt));
    }
  });

  it('still reports the header when resuming', async () => {
    const path = await csvFile(`\n${HEADER}\n${quote('A')}\n${quote('B')}\n`);
    const full = await readAll(path);
    let header: CsvHeader | undefined;
    const { offset, line } = full[1] as CsvRowResult;
    const tail = await readAll(path, { startAt: { offset, line }, onHeader: (h) => (header = h) });
    assert.deepEqual(summary(tail), ['4:B']);
    assert.equal(header?.line, 2);
    assert.deepEqual(header?.names, HEADER.split(','));
  });

  it('yields nothing when resuming at the end of the file', async () => {
    const content = `${HEADER}\n${quote('A')}\n`;
    const path = await csvFile(content);
    assert.deepEqual(await readAll(path, { startAt: { offset: content.length, line: 3 } }), []);
    const headerOnly = await csvFile(HEADER);
    assert.deepEqual(await readAll(headerOnly, { startAt: { offset: HEADER.length, line: 2 } }), []);
  });

  it('never reads the rows before the resume point', async () => {
    const content = [HEADER, quote('A'), '2025-01-01 00:00:00,"B"x,1,2,0', '2025-01-01 00:00:00,C,1', quote('D'), quote('E')].join('\n') + '\n';
    const path = await csvFile(content);
    const full = await readAll(path);
    assert.deepEqual(summary(full), ['2:A', '3:!', '4:!', '5:D', '6:E']);
    const { offset, line } = full[3] as CsvRowResult;
    const tail = await readAll(path, { startAt: { offset, line } });
    assert.deepEqual(summary(tail), ['5:D', '6:E']);
    assert.ok(tail.every((r) => r.ok), 'no rejection for the broken rows before the resume point');

    // Stronger: overwrite the rows between the header and the resume point with one line that
    // opens a quote and never closes it, which a parse from the top would reject.
    const dataStart = HEADER.length + 1;
    const junk = Buffer.from('"' + 'z'.repeat(offset - dataStart - 2) + '\n');
    const handle = await open(path, 'r+');
    try {
      await handle.write(junk, 0, junk.length, dataStart);
    } finally {
      await handle.close();
    }
    assert.match((await readFile(path, 'utf8')).split('\n')[1] ?? '', /^"z+$/);
    assert.ok((await readAll(path)).some((r) => !r.ok && r.line === 2), 'a read from the top rejects the junk');
    assert.deepEqual(await readAll(path, { startAt: { offset, line } }), full.slice(3));
  });

  describe('refuses a resume point that cannot be right', () => {
    const content = `\n${HEADER}\n${quote('A')}\n`;

    async function resumeError(startAt: { offset: number; line: number }, text = content): Promise<InputError> {
      const path = await csvFile(text);
      const iterator = readPath(path, { startAt });
      try {
        await iterator.next();
      } catch (err) {
        assert.ok(err instanceof InputError, `InputError, got ${String(err)}`);
        return err;
      }
      assert.fail('expected an error before the first row');
    }

    it('beyond the end of the file', async () => {
      const err = await resumeError({ offset: content.length + 1, line: 3 });
      assert.match(err.message, new RegExp(`cannot resume at byte ${content.length + 1}: the file has only ${content.length} bytes`));
    });

    it('inside the header or before it', async () => {
      for (const offset of [0, 1, 5, HEADER.length + 1]) {
        const err = await resumeError({ offset, line: 3 });
        assert.match(err.message, new RegExp(`cannot resume at byte ${offset}: the header ends at byte ${HEADER.length + 2}`));
      }
    });

    it('at or before the header line', async () => {
      const err = await resumeError({ offset: HEADER.length + 2, line: 2 });
      assert.match(err.message, /cannot resume at line 2: the header is on line 2/);
    });

    it('that is not a byte offset or a line number', async () => {
      assert.match((await resumeError({ offset: -1, line: 3 })).message, /cannot resume at byte -1: not a byte offset/);
      assert.match((await resumeError({ offset: 1.5, line: 3 })).message, /cannot resume at byte 1.5: not a byte offset/);
      assert.match((await resumeError({ offset: 40, line: 0 })).message, /cannot resume at line 0: not a line number/);
    });

    it('still names an unusable file first', async () => {
      const path = join(dir, 'missing.csv');
      await assert.rejects(readAll(path, { startAt: { offset: 40, line: 3 } }), { message: `cannot read ${path}: no such file` });
      const err = await resumeError({ offset: 0, line: 3 }, '');
      assert.match(err.message, /empty file, expected a header row/);
    });
  });
});
