/**
 * A cross-process lock on an output directory, with an undo journal, so that several consumer
 * processes can append batches to the same files: batches never interleave, and a writer killed
 * half-way through a batch (kill -9, power to the process cut) leaves no torn line behind.
 *
 * - The lock is a file created atomically with link(2) (fails with EEXIST when held). Its content
 *   names the holder (pid, host, a per-process nonce).
 * - A lock whose holder is gone is broken: same host → the pid no longer runs (or is a zombie);
 *   another host (a shared volume) → it was taken over `foreignStaleMs` ago. Breaking is itself
 *   guarded by a short-lived second lock, and only the very lock file judged stale is removed.
 * - Under the lock, before appending, the holder reads the latest journal (append-journal.ts: the
 *   size of every output file before and after the last batch, in two slots written in turn) and
 *   the files' sizes. A dead holder's partial batch shows as files the journal does not account
 *   for, and is truncated back (durably) before anything else. When the latest journal ends where
 *   the new batch begins, it already undoes a crash of this batch, so the batch is written at once;
 *   otherwise (the first batch, files emptied by a new run) a journal of the sizes now is made
 *   durable first. The batch's own journal is written to the other slot while its data is synced;
 *   the append resolves once both are durable. A holder whose append fails truncates its files
 *   back before it lets go.
 * - Power loss: the latest journal that is whole (its digest checks) is durable and describes the
 *   files as they were left — see append-journal.ts for why either of the last two does.
 *
 * Node has no flock(2); link + pid checks are what lockfile libraries do too, with the journal
 * added for all-or-nothing batches.
 */
import { randomUUID } from 'node:crypto';
import { constants as fsConstants, unlinkSync, type Stats } from 'node:fs';
import { link, readFile, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { processIsRunning } from '../system/process-stats.ts';
import { errorCode, OutputError } from '../errors.ts';
import type { Resolved } from '../options.ts';
import { endsAt, formatJournal, JOURNAL_FILES, latestJournal, rollbackPlan, type Journal } from './append-journal.ts';
import { overwriteDurably, syncDirectory, truncateDurably } from './durable-files.ts';
import { KeptFiles, statAll } from './kept-files.ts';

export const LOCK_FILE = '.append.lock';

const { O_WRONLY, O_APPEND, O_RDWR } = fsConstants;
/** Far more than a journal of the output files takes (their paths and sizes). */
const SLOT_READ_BYTES = 64 * 1024;

interface Holder {
  pid: number;
  host: string;
  nonce: string;
}

export interface AppendLockOptions {
  /** A lock held by another host is considered abandoned after this long (default 30 s). */
  foreignStaleMs?: number;
  /** Give up (OutputError; the batch is retried) after waiting this long for a live holder. */
  waitLimitMs?: number;
}

const PROCESS_NONCE = randomUUID();
const ME: Holder = { pid: process.pid, host: os.hostname(), nonce: PROCESS_NONCE };
const ME_TEXT = JSON.stringify(ME);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function parseHolder(text: string): Holder | undefined {
  try {
    const value = JSON.parse(text) as Partial<Holder>;
    return typeof value.pid === 'number' && typeof value.host === 'string' && typeof value.nonce === 'string' ? (value as Holder) : undefined;
  } catch {
    return undefined;
  }
}

async function readOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** What a task holding the lock gets: the files' sizes before its batch, and how to journal it. */
export interface LockedBatch {
  sizes: ReadonlyMap<string, number>;
  /** A file of the batch, open for appending (kept open for the next batch; do not close it). */
  open: (file: string) => Promise<{ handle: FileHandle; created: boolean }>;
  commit: (after: ReadonlyMap<string, number>) => Promise<void>;
}

/** A journal slot's text, read through its handle from the start (undefined: no handle). */
async function readSlot(handle: FileHandle | undefined): Promise<string | undefined> {
  if (handle === undefined) return undefined;
  const buffer = Buffer.allocUnsafe(SLOT_READ_BYTES);
  const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
  return buffer.toString('utf8', 0, bytesRead);
}

async function unlinkIfPresent(file: string): Promise<void> {
  await unlink(file).catch((error: unknown) => {
    if (errorCode(error) !== 'ENOENT') throw error;
  });
}

export class AppendLock {
  private readonly lockPath: string;
  private readonly breakPath: string;
  /** The journal's two slots (append-journal.ts). */
  private readonly journalPaths: string[];
  private readonly kept = new KeptFiles();
  /** This process's holder file, hard-linked as the lock on every acquisition. */
  private readonly mine: string;
  private mineWritten = false;
  private readonly options: Resolved<AppendLockOptions>;

  constructor(
    private readonly dir: string,
    options: AppendLockOptions = {},
  ) {
    this.options = { foreignStaleMs: options.foreignStaleMs ?? 30_000, waitLimitMs: options.waitLimitMs ?? 30_000 };
    this.lockPath = path.join(dir, LOCK_FILE);
    this.breakPath = path.join(dir, `${LOCK_FILE}.break`);
    this.journalPaths = JOURNAL_FILES.map((name) => path.join(dir, name));
    this.mine = this.holderFile(ME);
  }

  private holderFile(holder: Holder): string {
    return path.join(this.dir, `${LOCK_FILE}.${holder.pid}.${holder.nonce.slice(0, 8)}`);
  }

  /**
   * Runs `task` holding the lock, for a batch that appends to some of `files` (every file any
   * batch in this directory appends to: the journal names them all). First, a partial batch left
   * by an earlier holder (it died, or its own rollback failed) is truncated away, and a journal
   * that undoes a crash of this batch is made durable if the latest one does not already. `task`
   * gets the files' sizes (before the batch) and `commit(after)`, which writes the batch's own
   * journal (`after`: the sizes the batch brings its files to) and resolves once it is durable;
   * the task calls it before it resolves, alongside its own syncs. If `task` throws, every file is
   * cut back to its size before the batch before the lock is released. Resolves to `task`'s result
   * and the files rolled back for a dead writer. Callers serialise within the process (one
   * acquisition at a time per directory).
   */
  async withLock<T>(files: readonly string[], task: (batch: LockedBatch) => Promise<T>): Promise<{ result: T; recovered: string[] }> {
    await this.acquire();
    try {
      const { sizes, seen, seq, recovered } = await this.prepare(files);
      const commit = (after: ReadonlyMap<string, number>): Promise<void> =>
        this.writeJournal({ seq: seq + 1, entries: files.map((file) => ({ file, before: sizes.get(file) ?? 0, after: after.get(file) ?? sizes.get(file) ?? 0 })) }, seen);
      const openFile = (file: string): Promise<{ handle: FileHandle; created: boolean }> => this.kept.get(file, O_WRONLY | O_APPEND, seen.get(file));
      let result: T;
      try {
        result = await task({ sizes, open: openFile, commit });
      } catch (error) {
        await this.kept.closeAll();
        await this.cutBack(sizes).catch((rollbackError: unknown) => {
          throw new OutputError(
            `${(error as Error).message}; rolling back failed too (the next writer retries): ${(rollbackError as Error).message}`,
            { dir: this.dir },
            { cause: error },
          );
        });
        throw error;
      }
      return { result, recovered };
    } finally {
      await unlinkIfPresent(this.lockPath);
    }
  }

  /**
   * Looks at the files and the journal's slots together (a stat of each path, and a read of each
   * slot through its kept handle, read again by name when the stat shows another file there),
   * truncates what the latest journal does not account for, and, unless that journal ends where
   * the next batch begins, writes a journal of the sizes now. Resolves to the sizes, the stats
   * (they tell which kept handles are current) and the number of the journal in force.
   */
  private async prepare(files: readonly string[]): Promise<{ sizes: Map<string, number>; seen: Map<string, Stats | undefined>; seq: number; recovered: string[] }> {
    const [seen, early] = await Promise.all([statAll([...files, ...this.journalPaths]), Promise.all(this.journalPaths.map((slot) => readSlot(this.kept.peek(slot))))]);
    const texts = await Promise.all(
      this.journalPaths.map(async (slot, i) => {
        if (seen.get(slot) === undefined) return undefined;
        if (this.kept.isCurrent(slot, seen.get(slot))) return early[i];
        return readSlot((await this.kept.get(slot, O_RDWR, seen.get(slot))).handle);
      }),
    );
    const sizes = new Map(files.map((file) => [file, seen.get(file)?.size ?? 0]));
    const latest = latestJournal(texts);
    const plan = latest === undefined ? [] : rollbackPlan(latest.entries, sizes);
    for (const { file, size } of plan) {
      await truncateDurably(file, size);
      sizes.set(file, size);
    }
    let seq = latest?.seq ?? -1;
    if (latest === undefined || !endsAt(latest, files, sizes)) {
      seq += 1;
      await this.writeJournal({ seq, entries: files.map((file) => ({ file, before: sizes.get(file) ?? 0, after: sizes.get(file) ?? 0 })) }, seen);
    }
    return { sizes, seen, seq, recovered: plan.map((p) => p.file) };
  }

  /** Writes `journal` to its slot, through the kept handle while `seen` (this batch's look) shows it current. */
  private async writeJournal(journal: Journal, seen: ReadonlyMap<string, Stats | undefined>): Promise<void> {
    const slot = this.journalPaths[journal.seq % 2] as string;
    const { handle, created } = await this.kept.get(slot, O_RDWR, seen.get(slot));
    await overwriteDurably(handle, slot, formatJournal(journal));
    if (created) await syncDirectory(this.dir);
  }

  /** A failed batch: every file that grew goes back to its size before it, durably. */
  private async cutBack(before: ReadonlyMap<string, number>): Promise<void> {
    const now = await statAll([...before.keys()]);
    for (const [file, size] of before) if ((now.get(file)?.size ?? 0) > size) await truncateDurably(file, size);
  }

  private async acquire(): Promise<void> {
    if (!this.mineWritten) {
      await writeFile(this.mine, ME_TEXT);
      this.mineWritten = true;
      // Tidy on a normal exit; after kill -9 the next writer that breaks our lock removes it.
      process.once('exit', () => {
        try {
          unlinkSync(this.mine);
        } catch {
          // Already gone.
        }
      });
    }
    const waitLimit = this.options.waitLimitMs;
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await link(this.mine, this.lockPath);
        return;
      } catch (error) {
        if (errorCode(error) === 'ENOENT') {
          // Our holder file vanished (someone cleaned the directory): write it again.
          await writeFile(this.mine, ME_TEXT);
          continue;
        }
        if (errorCode(error) !== 'EEXIST') throw error;
      }
      const seen = await readOrUndefined(this.lockPath);
      if (seen === undefined) continue;
      if (await this.isAbandoned(seen, this.lockPath)) {
        await this.breakLock(seen);
        continue;
      }
      if (Date.now() - started > waitLimit) {
        throw new OutputError(`output directory ${this.dir} stayed locked by ${seen.trim()} for ${waitLimit} ms`, { dir: this.dir });
      }
      // Holders keep the lock for one batch (about a millisecond): poll briefly, with jitter.
      await sleep(Math.min(20, 1 + attempt) * (0.5 + Math.random()));
    }
  }

  private async isAbandoned(text: string, file: string): Promise<boolean> {
    const holder = parseHolder(text);
    if (holder !== undefined && holder.host === ME.host) return !processIsRunning(holder.pid);
    // Another host, or unreadable content (a holder file is written before it is ever linked, so
    // this is not a lock in the making): judge by age. link(2) updates the inode's ctime.
    const info = await stat(file).catch(() => undefined);
    return info !== undefined && Date.now() - info.ctimeMs > this.options.foreignStaleMs;
  }

  /** Removes the lock file if it is still the abandoned one that was seen. */
  private async breakLock(seen: string): Promise<void> {
    try {
      await link(this.mine, this.breakPath);
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
      // Another process is breaking it; if that one died while doing so, clear its guard.
      const breaker = await readOrUndefined(this.breakPath);
      if (breaker !== undefined && (await this.isAbandoned(breaker, this.breakPath))) await unlinkIfPresent(this.breakPath);
      else await sleep(2);
      return;
    }
    try {
      if ((await readOrUndefined(this.lockPath)) === seen) {
        await unlinkIfPresent(this.lockPath);
        const holder = parseHolder(seen);
        if (holder !== undefined && holder.host === ME.host) await unlinkIfPresent(this.holderFile(holder));
      }
    } finally {
      await unlinkIfPresent(this.breakPath);
    }
  }
}
