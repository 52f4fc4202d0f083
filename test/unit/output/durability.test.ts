/**
 * What the disk sees of appended batches, read from the system calls (strace): before the first
 * byte of a batch, a journal that undoes it is durable (written for it when the directory had
 * none, else the previous batch's own); each batch's own journal and every file it wrote are
 * fdatasync'ed before the append resolves. A power cut can only happen between two system calls,
 * so this order is the durability guarantee itself. Skipped, with the reason, without strace.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { JOURNAL_FILES } from '../../../lib/output/append-journal.ts';
import { ERRORS_FILE, MID_PRICES_FILE, prepareOutputDir } from '../../../lib/output/log-files.ts';
import { useTempDir } from '../../support/temp-dir.ts';

const run = promisify(execFile);

interface Call {
  name: string;
  fd: number | undefined;
  /** openat's path, write's first bytes. */
  text: string;
  result: string;
  /** Line numbers of the call's entry and of its completion in the trace (time order). */
  entered: number;
  done: number;
}

/** The calls of an `strace -f` trace, a call split over `<unfinished ...>` and `resumed>` joined. */
function parseTrace(trace: string): Call[] {
  const calls: Call[] = [];
  const pending = new Map<string, { head: string; entered: number }>();
  trace.split('\n').forEach((line, index) => {
    const m = /^(\d+)\s+(.*)$/.exec(line);
    if (m === null) return;
    const [, pid = '', rest = ''] = m;
    let full = rest;
    let entered = index;
    if (rest.endsWith('<unfinished ...>')) {
      pending.set(pid, { head: rest.slice(0, -'<unfinished ...>'.length), entered: index });
      return;
    }
    const resumed = /^<\.\.\. \w+ resumed>(.*)$/.exec(rest);
    if (resumed !== null) {
      const head = pending.get(pid);
      if (head === undefined) return;
      pending.delete(pid);
      full = head.head + (resumed[1] ?? '');
      entered = head.entered;
    }
    const call = /^(\w+)\((.*)\)\s+=\s+(-?\d+)/.exec(full);
    if (call === null) return;
    const [, name = '', args = '', result = ''] = call;
    const fd = name === 'openat' ? Number(result) : Number(/^(\d+)/.exec(args)?.[1]);
    calls.push({ name, fd: Number.isNaN(fd) ? undefined : fd, text: name === 'openat' ? (/"([^"]*)"/.exec(args)?.[1] ?? '') : args, result, entered, done: index });
  });
  return calls;
}

describe('a batch on disk', () => {
  const tmp = useTempDir();

  it('has a journal durable before each batch\'s first byte, and the batch\'s journal and files durable before it resolves', async (t) => {
    const strace = await run('strace', ['-V']).then(() => true, () => false);
    if (!strace) {
      t.skip('strace is not installed: the system-call order cannot be observed');
      return;
    }
    const dir = tmp.join('traced');
    await prepareOutputDir(dir, { truncate: true });
    const traceFile = tmp.join('trace.txt');
    const batches = 3;
    try {
      await run('strace', ['-f', '-o', traceFile, '-e', 'trace=openat,write,pwrite64,fdatasync,fsync', process.execPath, '--import', 'tsx', 'test/support/append-writer.ts', dir, 'traced', String(batches), '5']);
    } catch (error) {
      t.skip(`strace cannot trace here (ptrace not permitted?): ${String((error as { stderr?: string }).stderr ?? error).slice(0, 200)}`);
      return;
    }
    const calls = parseTrace(await readFile(traceFile, 'utf8'));
    // Which file each descriptor named when the call ran (descriptors are reused after close).
    const fileOf = (call: Call): string | undefined => {
      const open = calls.filter((c) => c.name === 'openat' && c.fd === call.fd && c.done < call.entered).at(-1);
      return open?.text.split('/').at(-1);
    };
    const journal = (call: Call): boolean => (JOURNAL_FILES as readonly string[]).includes(fileOf(call) ?? '');
    const writes = (file: string): Call[] => calls.filter((c) => (c.name === 'write' || c.name === 'pwrite64') && fileOf(c) === file);
    const journalWrites = calls.filter((c) => (c.name === 'write' || c.name === 'pwrite64') && journal(c));
    const journalSyncs = calls.filter((c) => c.name === 'fdatasync' && journal(c));
    const finished = calls.find((c) => c.name === 'write' && c.fd === 1 && c.text.includes(`${ERRORS_FILE} done`));
    assert.ok(finished !== undefined, 'the end is in the trace');
    const appends = writes(MID_PRICES_FILE);
    assert.equal(appends.length, batches, 'one write per batch');
    appends.forEach((append, b) => {
      // Batch b's journal: written, then synced, both before its first byte.
      const synced = journalSyncs.filter((s) => s.done < append.entered);
      assert.ok(synced.length >= 1 && journalWrites.filter((w) => w.done < append.entered).every((w) => synced.some((s) => s.entered > w.done)), `batch ${b}: a journal durable before its first byte`);
    });
    // One journal for the directory's first batch (none was there), then one per batch: the
    // batches after the first write none before their data.
    assert.equal(journalWrites.length, batches + 1, 'journal writes');
    assert.equal(journalSyncs.length, batches + 1, 'journal syncs');
    for (const w of journalWrites) assert.ok(journalSyncs.some((s) => s.entered > w.done && s.done < finished.entered), 'every journal synced after it was written');
    for (const file of [MID_PRICES_FILE, ERRORS_FILE]) {
      const fileSyncs = calls.filter((c) => c.name === 'fdatasync' && fileOf(c) === file);
      assert.equal(fileSyncs.length, batches, `${file} synced once per batch`);
      for (const w of writes(file)) {
        assert.ok(fileSyncs.some((s) => s.entered > w.done && s.done < finished.entered), `${file} written, then synced before the appends resolved`);
      }
    }
  });
});
