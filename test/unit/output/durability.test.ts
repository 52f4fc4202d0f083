/**
 * What the disk sees of one appended batch, read from the system calls (strace): the journal is
 * fdatasync'ed before the first byte of the batch is written, and every output file is
 * fdatasync'ed before the append resolves. A power cut can only happen between two system calls,
 * so this order is the durability guarantee itself. Skipped, with the reason, without strace.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { JOURNAL_FILE } from '../../../lib/output/append-lock.ts';
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

  it('fdatasyncs the journal before the first append, and every file before the append resolves', async (t) => {
    const strace = await run('strace', ['-V']).then(() => true, () => false);
    if (!strace) {
      t.skip('strace is not installed: the system-call order cannot be observed');
      return;
    }
    const dir = tmp.join('traced');
    await prepareOutputDir(dir, { truncate: true });
    const traceFile = tmp.join('trace.txt');
    try {
      await run('strace', ['-f', '-o', traceFile, '-e', 'trace=openat,write,pwrite64,fdatasync,fsync', process.execPath, '--import', 'tsx', 'test/support/append-writer.ts', dir, 'traced', '1', '5']);
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
    const on = (name: string, file: string): Call[] => calls.filter((c) => c.name === name && fileOf(c) === file);
    const journalSync = on('fdatasync', JOURNAL_FILE)[0];
    const firstAppend = on('write', MID_PRICES_FILE)[0];
    const finished = calls.find((c) => c.name === 'write' && c.fd === 1 && c.text.includes(`${ERRORS_FILE} done`));
    assert.ok(journalSync !== undefined && firstAppend !== undefined && finished !== undefined, 'the journal sync, the append and the end are in the trace');
    assert.ok(on('write', JOURNAL_FILE).every((w) => w.done < journalSync.entered), 'the journal is written, then synced');
    assert.ok(journalSync.done < firstAppend.entered, 'the journal is durable before the first byte of the batch is written');
    for (const file of [MID_PRICES_FILE, ERRORS_FILE]) {
      const syncs = on('fdatasync', file);
      assert.equal(syncs.length, 1, `${file} synced once for the batch`);
      assert.ok(on('write', file).every((w) => w.done < (syncs[0] as Call).entered), `${file} written, then synced`);
      assert.ok((syncs[0] as Call).done < finished.entered, `${file} is durable before the append resolved`);
    }
  });
});
