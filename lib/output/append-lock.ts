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
 * - Before appending, the holder writes a journal — the size of every file it is about to append
 *   to, before and after the batch — and makes it durable (fdatasync) before the first byte is
 *   appended; once the batch is complete it empties the journal. Whoever takes the lock and finds
 *   a journal of an incomplete batch rolls those files back to their sizes before it — a dead
 *   holder's partial batch disappears, and since its checkpoint was never written, the batch is
 *   processed again in full. A holder whose append fails rolls back the same way before it lets go.
 * - Power loss: the journal is durable before any append and stays in place (emptied, never
 *   deleted, so its directory entry needs no sync per batch), so after a reboot it still describes
 *   the batch that may be partly on disk. An emptying lost with the power leaves the journal of a
 *   batch whose files are all at their "after" sizes: complete, nothing to undo. Rollbacks are
 *   fdatasync'ed before the journal is emptied.
 *
 * Node has no flock(2); link + pid checks are what lockfile libraries do too, with the journal
 * added for all-or-nothing batches.
 */
import { randomUUID } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { link, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { processIsRunning } from '../system/process-stats.ts';
import { errorCode, OutputError } from '../errors.ts';
import type { Resolved } from '../options.ts';
import { emptyFile, truncateDurably, writeDurably } from './durable-files.ts';

export const LOCK_FILE = '.append.lock';
export const JOURNAL_FILE = '.append.journal';

interface Holder {
  pid: number;
  host: string;
  nonce: string;
}

/** One file of a batch: its size before the batch and the size the batch brings it to. */
export interface JournalEntry {
  file: string;
  before: number;
  after: number;
}

/** The journal as written: `files`; or, by versions before the "after" sizes, `sizes` (before only). */
interface JournalText {
  files?: JournalEntry[];
  sizes?: Record<string, number>;
}

function parseJournal(text: string): JournalEntry[] | undefined {
  try {
    const value = JSON.parse(text) as JournalText;
    if (Array.isArray(value.files)) return value.files;
    // An older writer's journal knows no "after" sizes: any growth is its unfinished batch.
    if (value.sizes !== undefined) return Object.entries(value.sizes).map(([file, before]) => ({ file, before, after: Infinity }));
  } catch {
    // Cut short while being written: its writer had not appended anything yet.
  }
  return undefined;
}

/**
 * Which files of a journaled batch to truncate back, given their sizes now (undefined: missing).
 * Every file at its "after" size: the batch completed. A file beyond it: written since, so the
 * journal no longer describes the files, and nothing is undone. Otherwise the batch stopped
 * part-way: every file that grew is truncated back to its size before it.
 */
export function rollbackPlan(entries: readonly JournalEntry[], sizes: ReadonlyMap<string, number | undefined>): JournalEntry[] {
  const now = (entry: JournalEntry): number => sizes.get(entry.file) ?? 0;
  if (entries.every((e) => now(e) === e.after)) return [];
  if (entries.some((e) => now(e) > e.after)) return [];
  return entries.filter((e) => now(e) > e.before);
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

async function unlinkIfPresent(file: string): Promise<void> {
  await unlink(file).catch((error: unknown) => {
    if (errorCode(error) !== 'ENOENT') throw error;
  });
}

export class AppendLock {
  private readonly lockPath: string;
  private readonly breakPath: string;
  private readonly journalPath: string;
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
    this.journalPath = path.join(dir, JOURNAL_FILE);
    this.mine = this.holderFile(ME);
  }

  private holderFile(holder: Holder): string {
    return path.join(this.dir, `${LOCK_FILE}.${holder.pid}.${holder.nonce.slice(0, 8)}`);
  }

  /**
   * Runs `task` holding the lock. `task` gets `journal(entries)`, to call before its first append:
   * it resolves once the journal is durable. A journal of an incomplete batch left by an earlier
   * holder (it died, or its own rollback failed) is rolled back first; if `task` throws, its own
   * batch is rolled back before the lock is released. Resolves to `task`'s result and the files
   * rolled back for a dead writer. Callers serialise within the process (one acquisition at a
   * time per directory).
   */
  async withLock<T>(task: (journal: (entries: JournalEntry[]) => Promise<void>) => Promise<T>): Promise<{ result: T; recovered: string[] }> {
    await this.acquire();
    try {
      const recovered = await this.rollBack();
      let result: T;
      try {
        result = await task((entries) => writeDurably(this.journalPath, JSON.stringify({ files: entries } satisfies JournalText)));
      } catch (error) {
        await this.rollBack().catch((rollbackError: unknown) => {
          throw new OutputError(
            `${(error as Error).message}; rolling back failed too (the next writer retries): ${(rollbackError as Error).message}`,
            { dir: this.dir },
            { cause: error },
          );
        });
        throw error;
      }
      // The batch is complete and durable: a journal left in place would undo nothing (its files
      // are at their "after" sizes), so a failure to empty it must not fail the batch.
      await emptyFile(this.journalPath).catch(() => undefined);
      return { result, recovered };
    } finally {
      await unlinkIfPresent(this.lockPath);
    }
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

  /**
   * A journal found under the lock describes the last batch appended here. If that batch did not
   * complete (its writer died, or failed and could not roll back), its files are truncated back
   * to their sizes before it (see rollbackPlan), durably, before the journal is emptied.
   */
  private async rollBack(): Promise<string[]> {
    const text = await readOrUndefined(this.journalPath);
    if (text === undefined || text === '') return [];
    const entries = parseJournal(text) ?? [];
    const sizes = new Map<string, number | undefined>();
    for (const { file } of entries) sizes.set(file, (await stat(file).catch(() => undefined))?.size);
    const plan = rollbackPlan(entries, sizes);
    for (const { file, before } of plan) await truncateDurably(file, before);
    await emptyFile(this.journalPath);
    return plan.map((e) => e.file);
  }
}
