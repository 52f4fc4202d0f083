import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { openInput, sourceFor } from '../../../lib/input/input.ts';
import { readQuoteRows, type CsvRowResult } from '../../../lib/quotes/csv-reader.ts';
import { Utf8Check } from '../../../lib/quotes/utf8-check.ts';
import { useTempDir } from '../../support/temp-dir.ts';

describe('UTF-8 validation', () => {
  const tmp = useTempDir();

  it('rejects the rows holding bytes that are not UTF-8, with the offset, and keeps the others', async () => {
    const file = tmp.join('latin1.csv');
    const good = Buffer.from('timestamp,ticker,bid,ask,note\n2025-01-01 00:00:00,A,1,2,café\n');
    const bad = Buffer.concat([Buffer.from('2025-01-01 00:00:01,B'), Buffer.from([0xe9]), Buffer.from(',1,2,x\n')]);
    const after = Buffer.from('2025-01-01 00:00:02,C,1,2,\n');
    await writeFile(file, Buffer.concat([good, bad, after]));
    const out: CsvRowResult[] = [];
    for await (const row of readQuoteRows((await openInput(sourceFor(file))).bytes)) out.push(row);
    assert.deepEqual(
      out.map((r) => (r.ok ? r.fields.ticker : r.reason)),
      ['A', `line is not valid UTF-8 (byte ${good.length + 21} of the file); save the file as UTF-8`, 'C'],
    );
  });

  it('accepts a multi-byte character split across two chunks, and finds overlong forms and surrogates', () => {
    const check = new Utf8Check();
    check.reset(0);
    const euro = Buffer.from('€'); // 3 bytes
    check.push(Buffer.concat([Buffer.from('ab'), euro.subarray(0, 1)]));
    check.push(Buffer.concat([euro.subarray(1), Buffer.from([0xc0, 0xaf, 0x41, 0xed, 0xa0, 0x80])]));
    check.end();
    assert.equal(check.firstBadIn(0, 5), undefined);
    assert.equal(check.firstBadIn(5, 6), 5, 'overlong C0 AF');
    assert.equal(check.firstBadIn(7, 20), 8, 'a UTF-16 surrogate encoded as UTF-8');
  });

  it('counts an unfinished sequence at the end of the input', () => {
    const check = new Utf8Check();
    check.reset(0);
    check.push(Buffer.from([0x41, 0xe2, 0x82]));
    check.end();
    assert.equal(check.firstBadIn(0, 3), 1);
  });
});
