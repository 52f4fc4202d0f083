import assert from 'node:assert/strict';
import { appendFile, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { formatJournal, JOURNAL_FILES, latestJournal, parseJournal, rollbackPlan, type Journal, type JournalEntry } from '../../../lib/output/append-journal.ts';
import { appendBatch, MID_PRICES_FILE, ERRORS_FILE, DEAD_LETTERS_FILE, prepareOutputDir } from '../../../lib/output/log-files.ts';
import { useTempDir } from '../../support/temp-dir.ts';

const entry = (file: string, before: number, after: number): JournalEntry => ({ file, before, after });

describe('rollbackPlan', () => {
  const journal = [entry('mid', 100, 200), entry('err', 10, 30)];

  it('undoes nothing when every file is at its "after" size (the batch completed)', () => {
    assert.deepEqual(rollbackPlan(journal, new Map([['mid', 200], ['err', 30]])), []);
  });

  it('cuts every file that grew back to "before" when the batch stopped part-way', () => {
    assert.deepEqual(rollbackPlan(journal, new Map([['mid', 200], ['err', 17]])), [
      { file: 'mid', size: 100 },
      { file: 'err', size: 10 },
    ]);
    assert.deepEqual(rollbackPlan(journal, new Map([['mid', 150], ['err', 10]])), [{ file: 'mid', size: 100 }]);
  });

  it('cuts files beyond "after" back to it: the next batch had begun, its own journal not yet written', () => {
    assert.deepEqual(rollbackPlan(journal, new Map([['mid', 260], ['err', 30]])), [{ file: 'mid', size: 200 }]);
  });

  it('treats a missing file as empty', () => {
    assert.deepEqual(rollbackPlan([entry('mid', 0, 20), entry('err', 10, 30)], new Map([['mid', undefined], ['err', 20]])), [{ file: 'err', size: 10 }]);
  });

  it('undoes nothing when the files are not what the journal describes (emptied by a new run, some short, some beyond)', () => {
    assert.deepEqual(rollbackPlan(journal, new Map([['mid', 0], ['err', 0]])), []);
    assert.deepEqual(rollbackPlan(journal, new Map([['mid', 260], ['err', 17]])), []);
  });
});

describe('journal slots', () => {
  const journal: Journal = { seq: 7, entries: [entry('/out/mid_prices.log', 3, 9)] };

  it('reads back what it wrote, and nothing from a slot cut short at any length', () => {
    const text = formatJournal(journal);
    assert.deepEqual(parseJournal(text), journal);
    assert.deepEqual(parseJournal(text + 'left over from a longer journal'), journal, 'bytes after the digest are ignored');
    for (let cut = 0; cut < text.length - 1; cut++) assert.equal(parseJournal(text.slice(0, cut)), undefined, `cut at ${cut}`);
  });

  it('rejects a slot whose line was overwritten in part (a torn rewrite), by its digest', () => {
    const older = formatJournal({ seq: 5, entries: [entry('/out/mid_prices.log', 1, 3)] });
    const newer = formatJournal(journal);
    assert.equal(parseJournal(newer.slice(0, 20) + older.slice(20)), undefined);
  });

  it('takes the highest-numbered whole slot', () => {
    const next: Journal = { seq: 8, entries: [entry('/out/mid_prices.log', 9, 12)] };
    assert.deepEqual(latestJournal([formatJournal(next), formatJournal(journal)]), next);
    assert.deepEqual(latestJournal([formatJournal(next).slice(0, 30), formatJournal(journal)]), journal);
    assert.equal(latestJournal([undefined, '']), undefined);
  });
});

describe('appendBatch journal', () => {
  const tmp = useTempDir();
  const slots = (dir: string): Promise<Array<string | undefined>> =>
    Promise.all(JOURNAL_FILES.map((f) => readFile(`${dir}/${f}`, 'utf8').catch(() => undefined)));

  it('leaves a journal that ends at the files as they are, numbered one more per batch', async () => {
    const dir = tmp.join('complete');
    await prepareOutputDir(dir, { truncate: true });
    await appendBatch(dir, { midLines: ['m1', 'm2'], errorLines: ['e1'], deadLetterLines: [] });
    await appendBatch(dir, { midLines: ['m3'], errorLines: [], deadLetterLines: [] });
    const latest = latestJournal(await slots(dir));
    // The first batch found no journal: one of the sizes then (0), then its own (1); the second, its own (2).
    assert.equal(latest?.seq, 2);
    assert.deepEqual(latest?.entries, [
      entry(`${dir}/${MID_PRICES_FILE}`, 6, 9),
      entry(`${dir}/${ERRORS_FILE}`, 3, 3),
      entry(`${dir}/${DEAD_LETTERS_FILE}`, 0, 0),
    ]);
  });

  it('cuts back a batch whose data reached the disk before its journal did (power lost in between)', async () => {
    const dir = tmp.join('unjournaled');
    await prepareOutputDir(dir, { truncate: true });
    await appendBatch(dir, { midLines: ['m1'], errorLines: ['e1'], deadLetterLines: [] });
    const mid = `${dir}/${MID_PRICES_FILE}`;
    await appendFile(mid, 'm2\nhalf a li');
    const { recovered } = await appendBatch(dir, { midLines: ['m3'], errorLines: [], deadLetterLines: [] });
    assert.deepEqual(recovered, [mid]);
    assert.equal(await readFile(mid, 'utf8'), 'm1\nm3\n');
  });

  it('cuts back a batch whose journal reached the disk and whose data did in part (power lost between two files)', async () => {
    const dir = tmp.join('partial');
    await prepareOutputDir(dir, { truncate: true });
    await appendBatch(dir, { midLines: ['m1'], errorLines: ['e1'], deadLetterLines: [] });
    const mid = `${dir}/${MID_PRICES_FILE}`;
    const err = `${dir}/${ERRORS_FILE}`;
    const seq = (latestJournal(await slots(dir))?.seq ?? 0) + 1;
    // The next batch's journal is whole; it reached mid_prices.log in full, errors.log not at all.
    const files = [entry(mid, 3, 9), entry(err, 3, 6), entry(`${dir}/${DEAD_LETTERS_FILE}`, 0, 0)];
    await writeFile(`${dir}/${JOURNAL_FILES[seq % 2]}`, formatJournal({ seq, entries: files }));
    await appendFile(mid, 'm2\nm3\n');
    const { recovered } = await appendBatch(dir, { midLines: ['m4'], errorLines: [], deadLetterLines: [] });
    assert.deepEqual(recovered, [mid]);
    assert.equal(await readFile(mid, 'utf8'), 'm1\nm4\n');
    assert.equal(await readFile(err, 'utf8'), 'e1\n');
  });

  it('falls back on the previous journal when the latest was torn', async () => {
    const dir = tmp.join('torn');
    await prepareOutputDir(dir, { truncate: true });
    await appendBatch(dir, { midLines: ['m1'], errorLines: [], deadLetterLines: [] });
    const mid = `${dir}/${MID_PRICES_FILE}`;
    const seq = (latestJournal(await slots(dir))?.seq ?? 0) + 1;
    await writeFile(`${dir}/${JOURNAL_FILES[seq % 2]}`, formatJournal({ seq, entries: [entry(mid, 3, 9)] }).slice(0, 25));
    await appendFile(mid, 'm2\nm');
    const { recovered } = await appendBatch(dir, { midLines: ['m3'], errorLines: [], deadLetterLines: [] });
    assert.deepEqual(recovered, [mid]);
    assert.equal(await readFile(mid, 'utf8'), 'm1\nm3\n');
  });

  it('undoes nothing in files a new run emptied, and journals afresh before appending', async () => {
    const dir = tmp.join('new-run');
    await prepareOutputDir(dir, { truncate: true });
    await appendBatch(dir, { midLines: ['old 1', 'old 2'], errorLines: [], deadLetterLines: [] });
    await prepareOutputDir(dir, { truncate: true });
    const { recovered } = await appendBatch(dir, { midLines: ['new'], errorLines: [], deadLetterLines: [] });
    assert.deepEqual(recovered, []);
    assert.equal(await readFile(`${dir}/${MID_PRICES_FILE}`, 'utf8'), 'new\n');
    assert.equal(latestJournal(await slots(dir))?.entries[0]?.after, (await stat(`${dir}/${MID_PRICES_FILE}`)).size);
  });

  it('rolls back by the journals of an older version (one file: sizes before and after, or before only)', async () => {
    const dir = tmp.join('legacy');
    await prepareOutputDir(dir, { truncate: true });
    const mid = `${dir}/${MID_PRICES_FILE}`;
    await writeFile(mid, 'm1\nhalf a li');
    await writeFile(`${dir}/${JOURNAL_FILES[0]}`, JSON.stringify({ sizes: { [mid]: 3 } }));
    assert.deepEqual((await appendBatch(dir, { midLines: ['m2'], errorLines: [], deadLetterLines: [] })).recovered, [mid]);
    assert.equal(await readFile(mid, 'utf8'), 'm1\nm2\n');

    const legacyDir = tmp.join('legacy-files');
    await prepareOutputDir(legacyDir, { truncate: true });
    const legacyMid = `${legacyDir}/${MID_PRICES_FILE}`;
    await writeFile(legacyMid, 'm1\nm2\nm');
    await writeFile(`${legacyDir}/${JOURNAL_FILES[0]}`, JSON.stringify({ files: [entry(legacyMid, 3, 9)] }));
    assert.deepEqual((await appendBatch(legacyDir, { midLines: ['m3'], errorLines: [], deadLetterLines: [] })).recovered, [legacyMid]);
    assert.equal(await readFile(legacyMid, 'utf8'), 'm1\nm3\n');
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
    const latest = latestJournal(await Promise.all(JOURNAL_FILES.map((f) => readFile(`${dir}/${f}`, 'utf8'))));
    assert.equal(latest?.entries[0]?.after, (await stat(`${dir}/${MID_PRICES_FILE}`)).size, 'the last round\'s journal ends where the file does');
  });

  it('fails every batch of a round that cannot be written, and appends nothing of them', async () => {
    const dir = tmp.join('group-fail');
    await prepareOutputDir(dir, { truncate: true });
    await appendBatch(dir, { midLines: ['kept'], errorLines: [], deadLetterLines: [] });
    // errors.log replaced by a symbolic link (to an empty file, so its size is what the journal
    // says): output files are never opened through one, so the round's write to it fails.
    const elsewhere = tmp.join('elsewhere.log');
    await writeFile(elsewhere, '');
    await rm(`${dir}/${ERRORS_FILE}`);
    await symlink(elsewhere, `${dir}/${ERRORS_FILE}`);
    const outcomes = await Promise.allSettled([
      appendBatch(dir, { midLines: ['first'], errorLines: [], deadLetterLines: [] }),
      appendBatch(dir, { midLines: ['a'], errorLines: ['e'], deadLetterLines: [] }),
      appendBatch(dir, { midLines: ['b'], errorLines: [], deadLetterLines: [] }),
    ]);
    assert.equal(outcomes[0]?.status, 'fulfilled', 'the first batch went alone, before the others arrived');
    assert.deepEqual(outcomes.slice(1).map((o) => o.status), ['rejected', 'rejected'], 'the round of the waiting two failed as one');
    assert.equal(await readFile(`${dir}/${MID_PRICES_FILE}`, 'utf8'), 'kept\nfirst\n', 'nothing of the failed round stayed');
    assert.equal(await readFile(elsewhere, 'utf8'), '', 'nothing was written through the link');
  });
});
