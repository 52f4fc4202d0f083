import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { JOURNAL_FILE, rollbackPlan, type JournalEntry } from '../../../lib/output/append-lock.ts';
import { appendBatch, MID_PRICES_FILE, ERRORS_FILE, prepareOutputDir } from '../../../lib/output/log-files.ts';
import { useTempDir } from '../../support/temp-dir.ts';

const entry = (file: string, before: number, after: number): JournalEntry => ({ file, before, after });

describe('rollbackPlan', () => {
  const journal = [entry('mid', 100, 200), entry('err', 10, 30)];

  it('undoes nothing when every file reached its "after" size (the batch completed)', () => {
    assert.deepEqual(rollbackPlan(journal, new Map([['mid', 200], ['err', 30]])), []);
  });

  it('truncates every file that grew when the batch stopped part-way', () => {
    assert.deepEqual(rollbackPlan(journal, new Map([['mid', 200], ['err', 17]])), journal);
    assert.deepEqual(rollbackPlan(journal, new Map([['mid', 150], ['err', 10]])), [journal[0]]);
  });

  it('leaves files alone that were written beyond the journal (it no longer describes them)', () => {
    assert.deepEqual(rollbackPlan(journal, new Map([['mid', 260], ['err', 17]])), []);
  });

  it('treats a missing file as empty', () => {
    assert.deepEqual(rollbackPlan(journal, new Map([['mid', undefined], ['err', 20]])), [journal[1]]);
  });
});

describe('appendBatch journal', () => {
  const tmp = useTempDir();

  it('leaves an empty journal after a batch, and a journal of a completed batch undoes nothing', async () => {
    const dir = tmp.join('complete');
    await prepareOutputDir(dir, { truncate: true });
    await appendBatch(dir, { midLines: ['m1', 'm2'], errorLines: ['e1'], deadLetterLines: [] });
    assert.equal(await readFile(`${dir}/${JOURNAL_FILE}`, 'utf8'), '', 'emptied once the batch is durable');
    // Power lost after the batch's fdatasyncs but before the emptying reached the disk: the journal
    // is back with the sizes of a batch that is whole on disk.
    const mid = `${dir}/${MID_PRICES_FILE}`;
    const err = `${dir}/${ERRORS_FILE}`;
    await writeFile(`${dir}/${JOURNAL_FILE}`, JSON.stringify({ files: [entry(mid, 0, 6), entry(err, 0, 3)] }));
    const { recovered } = await appendBatch(dir, { midLines: ['m3'], errorLines: [], deadLetterLines: [] });
    assert.deepEqual(recovered, []);
    assert.equal(await readFile(mid, 'utf8'), 'm1\nm2\nm3\n');
  });

  it('rolls back a batch that stopped part-way (power lost between two files), journaled before it started', async () => {
    const dir = tmp.join('partial');
    await prepareOutputDir(dir, { truncate: true });
    await appendBatch(dir, { midLines: ['m1'], errorLines: ['e1'], deadLetterLines: [] });
    const mid = `${dir}/${MID_PRICES_FILE}`;
    const err = `${dir}/${ERRORS_FILE}`;
    // The next batch reached mid_prices.log, not errors.log.
    await writeFile(`${dir}/${JOURNAL_FILE}`, JSON.stringify({ files: [entry(mid, 3, 9), entry(err, 3, 6)] }));
    await writeFile(mid, 'm1\nm2\nm3\n');
    const { recovered } = await appendBatch(dir, { midLines: ['m4'], errorLines: [], deadLetterLines: [] });
    assert.deepEqual(recovered, [mid]);
    assert.equal(await readFile(mid, 'utf8'), 'm1\nm4\n');
    assert.equal(await readFile(err, 'utf8'), 'e1\n');
  });

  it('rolls back by the journal of an older version (sizes before the batch only)', async () => {
    const dir = tmp.join('legacy');
    await prepareOutputDir(dir, { truncate: true });
    const mid = `${dir}/${MID_PRICES_FILE}`;
    await writeFile(mid, 'm1\nhalf a li');
    await writeFile(`${dir}/${JOURNAL_FILE}`, JSON.stringify({ sizes: { [mid]: 3 } }));
    const { recovered } = await appendBatch(dir, { midLines: ['m2'], errorLines: [], deadLetterLines: [] });
    assert.deepEqual(recovered, [mid]);
    assert.equal(await readFile(mid, 'utf8'), 'm1\nm2\n');
  });
});

describe('appendBatch group commit', () => {
  const tmp = useTempDir();

  it('appends batches that arrive together whole, each in one piece, in arrival order', async () => {
    const dir = tmp.join('group');
    await prepareOutputDir(dir, { truncate: true });
    const batches = Array.from({ length: 12 }, (_, b) => ({
      midLines: Array.from({ length: 5 }, (_, i) => `b${b} m${i}`),
      errorLines: b % 3 === 0 ? [`b${b} e`] : [],
      deadLetterLines: [],
    }));
    const results = await Promise.all(batches.map((batch) => appendBatch(dir, batch)));
    assert.equal(results.length, 12);
    assert.equal(await readFile(`${dir}/${MID_PRICES_FILE}`, 'utf8'), batches.map((b) => b.midLines.join('\n') + '\n').join(''));
    assert.equal(await readFile(`${dir}/${ERRORS_FILE}`, 'utf8'), batches.flatMap((b) => b.errorLines).map((l) => `${l}\n`).join(''));
    assert.equal(await readFile(`${dir}/${JOURNAL_FILE}`, 'utf8'), '', 'emptied once the last round is durable');
  });

  it('fails every batch of a round that cannot be written, and appends nothing of them', async () => {
    const dir = tmp.join('group-fail');
    await prepareOutputDir(dir, { truncate: true });
    await appendBatch(dir, { midLines: ['kept'], errorLines: [], deadLetterLines: [] });
    // errors.log replaced by a directory: the round's write to it fails.
    await rm(`${dir}/${ERRORS_FILE}`);
    await mkdir(`${dir}/${ERRORS_FILE}`);
    const outcomes = await Promise.allSettled([
      appendBatch(dir, { midLines: ['first'], errorLines: [], deadLetterLines: [] }),
      appendBatch(dir, { midLines: ['a'], errorLines: ['e'], deadLetterLines: [] }),
      appendBatch(dir, { midLines: ['b'], errorLines: [], deadLetterLines: [] }),
    ]);
    assert.equal(outcomes[0]?.status, 'fulfilled', 'the first batch went alone, before the others arrived');
    assert.deepEqual(outcomes.slice(1).map((o) => o.status), ['rejected', 'rejected'], 'the round of the waiting two failed as one');
    assert.equal(await readFile(`${dir}/${MID_PRICES_FILE}`, 'utf8'), 'kept\nfirst\n', 'nothing of the failed round stayed');
  });
});
