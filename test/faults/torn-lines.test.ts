/**
 * Several processes appending to one output directory (consumer workers): no torn or interleaved
 * lines, batches whole, and a writer killed half-way through a batch leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { JOURNAL_FILES, latestJournal } from '../../lib/output/append-journal.ts';
import { appendBatch, ERRORS_FILE, MID_PRICES_FILE, OUTPUT_FILES, prepareOutputDir } from '../../lib/output/log-files.ts';
import { useTempDir } from '../support/temp-dir.ts';
import { lineFor } from '../support/append-writer.ts';

function writer(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/append-writer.ts', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe('appends shared between processes', () => {
  const tmp = useTempDir();

  it('keeps every line whole and every batch contiguous with four processes appending at once', async () => {
    const dir = tmp.join('shared');
    await prepareOutputDir(dir, { truncate: true });
    const writers = ['w1', 'w2', 'w3', 'w4'];
    const batches = 60;
    const lines = 40;
    const results = await Promise.all(writers.map((w) => writer([dir, w, String(batches), String(lines)])));
    for (const r of results) assert.equal(r.code, 0, r.stderr);

    const mids = (await readFile(`${dir}/${MID_PRICES_FILE}`, 'utf8')).split('\n');
    assert.equal(mids.pop(), '', 'the file ends with a newline');
    assert.equal(mids.length, writers.length * batches * lines);
    // Whole lines only, each batch's lines together and in order.
    for (let i = 0; i < mids.length; i += lines) {
      const m = /^(w\d) b(\d+) l0 /.exec(mids[i] ?? '');
      assert.ok(m !== null, `line ${i + 1} starts a batch: ${mids[i]}`);
      for (let l = 0; l < lines; l++) assert.equal(mids[i + l], lineFor(m[1] ?? '', Number(m[2]), l), `line ${i + l + 1}`);
    }
    const errors = (await readFile(`${dir}/${ERRORS_FILE}`, 'utf8')).trim().split('\n');
    assert.equal(errors.length, writers.length * batches);
    // The lock and every writer's holder file are gone; the journal's two slots stay, and the
    // latest one ends at the files as they are: nothing to undo.
    assert.deepEqual((await readdir(dir)).filter((f) => f.startsWith('.')).sort(), [...JOURNAL_FILES].sort());
    const latest = latestJournal(await Promise.all(JOURNAL_FILES.map((f) => readFile(`${dir}/${f}`, 'utf8'))));
    for (const name of OUTPUT_FILES) {
      const file = `${dir}/${name}`;
      assert.equal(latest?.entries.find((e) => e.file === file)?.after, (await stat(file)).size, `${name} as the journal left it`);
    }
  });

  for (const mode of ['die', 'die-journaled']) {
    it(`rolls back the partial batch of a writer killed (SIGKILL) while holding the lock (${mode === 'die' ? 'before' : 'after'} its own journal)`, async () => {
      const dir = tmp.join(mode);
      await prepareOutputDir(dir, { truncate: true });
      await appendBatch(dir, { midLines: ['before 1', 'before 2'], errorLines: [], deadLetterLines: [] });
      const killed = await writer([dir, 'dying', mode]);
      assert.equal(killed.signal, 'SIGKILL');
      const torn = await readFile(`${dir}/${MID_PRICES_FILE}`, 'utf8');
      assert.ok(!torn.endsWith('\n'), 'the dead writer left a torn line behind (the case to repair)');

      const { recovered } = await appendBatch(dir, { midLines: ['after 1'], errorLines: [], deadLetterLines: [] });
      assert.deepEqual(recovered, [`${dir}/${MID_PRICES_FILE}`]);
      assert.equal(await readFile(`${dir}/${MID_PRICES_FILE}`, 'utf8'), 'before 1\nbefore 2\nafter 1\n');
      // Only this (live) process's holder file remains; it goes when the process exits.
      const left = (await readdir(dir)).filter((f) => f.startsWith('.') && !(JOURNAL_FILES as readonly string[]).includes(f));
      assert.deepEqual(left.filter((f) => !f.startsWith(`.append.lock.${process.pid}.`)), [], "the dead writer's lock and holder file were cleared");
    });
  }
});
