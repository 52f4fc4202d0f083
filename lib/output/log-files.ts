/**
 * The output directory: mid_prices.log, errors.log and dead_letters.log, the file sink of the
 * mid-price handler (output-sink.ts has the contract). Each batch is written with one append per
 * file, never one write per line, under a lock shared with any other process appending to the
 * same directory (append-lock.ts), and is durable (fdatasync) before the append resolves: one sync
 * per file per batch and the journal's, in parallel.
 */
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, open, stat } from 'node:fs/promises';
import path from 'node:path';
import { describeFsError, OutputError } from '../errors.ts';
import { AppendLock } from './append-lock.ts';
import { appendDurably, syncDirectory } from './durable-files.ts';
import type { AppendResult, BatchLines, OutputSink } from './output-sink.ts';

export type { AppendResult, BatchLines } from './output-sink.ts';

export const MID_PRICES_FILE = 'mid_prices.log';
export const ERRORS_FILE = 'errors.log';
export const DEAD_LETTERS_FILE = 'dead_letters.log';
export const OUTPUT_FILES = [MID_PRICES_FILE, ERRORS_FILE, DEAD_LETTERS_FILE] as const;

/**
 * Output files are opened without following a symbolic link (ELOOP instead): a link planted in
 * the output directory must not redirect our writes outside it.
 */
const APPEND_NO_FOLLOW = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_APPEND | fsConstants.O_NOFOLLOW;
const TRUNCATE_NO_FOLLOW = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC | fsConstants.O_NOFOLLOW;

/**
 * Makes sure `dir` exists and is writable; with `truncate`, starts the output files empty (a
 * one-shot run owns its output). Throws OutputError with a one-line reason.
 */
export async function prepareOutputDir(dir: string, options: { truncate: boolean }): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    const info = await stat(dir);
    if (!info.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    await access(dir, fsConstants.W_OK);
    for (const file of OUTPUT_FILES) {
      await (await open(path.join(dir, file), options.truncate ? TRUNCATE_NO_FOLLOW : APPEND_NO_FOLLOW)).close();
    }
    // The files may have just been created: their names must survive a crash like their lines.
    await syncDirectory(dir);
  } catch (error) {
    throw new OutputError(`output directory ${dir} is not usable: ${describeFsError(error)}`, { dir }, { cause: error });
  }
}

/**
 * Group commit, per directory within this process: batches that arrive while an append is in
 * progress (the other shards') wait, then go together as one append — one journal, one write and
 * one fdatasync per file for all of them, as databases group their commits. The fixed cost of a
 * durable append (the syncs, milliseconds each, far more on a busy disk) is then paid once per
 * round instead of once per shard's batch, so a directory keeps up with any number of shards.
 * Each file receives the batches in arrival order, each batch's lines together; a failed round
 * fails every batch in it, and each is retried whole (all or none per batch still holds). Across
 * processes the directory's AppendLock serialises as before.
 */
interface Pending {
  batch: BatchLines;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

const waiting = new Map<string, Pending[]>();
const locks = new Map<string, AppendLock>();

/** Appends rounds of the waiting batches until none are left (one drain per directory at a time). */
async function drain(key: string, queue: Pending[]): Promise<void> {
  while (queue.length > 0) {
    const round = queue.splice(0);
    const joined: BatchLines = {
      midLines: round.flatMap((p) => p.batch.midLines),
      errorLines: round.flatMap((p) => p.batch.errorLines),
      deadLetterLines: round.flatMap((p) => p.batch.deadLetterLines),
    };
    try {
      const result = await appendOnce(key, joined);
      // A rollback of a dead writer's batch is reported once, to the round's first batch.
      round.forEach((p, i) => p.resolve(i === 0 ? result : { recovered: [] }));
    } catch (error) {
      for (const p of round) p.reject(error);
    }
  }
  waiting.delete(key);
}

/**
 * Appends one batch: all of it or none of it, also with other processes appending to the same
 * directory, and durably (see the group commit above). Throws OutputError (retryable by the caller).
 */
export function appendBatch(dir: string, batch: BatchLines): Promise<AppendResult> {
  if (batch.midLines.length + batch.errorLines.length + batch.deadLetterLines.length === 0) return Promise.resolve({ recovered: [] });
  const key = path.resolve(dir);
  return new Promise<AppendResult>((resolve, reject) => {
    const queue = waiting.get(key);
    if (queue !== undefined) {
      queue.push({ batch, resolve, reject });
      return;
    }
    const fresh: Pending[] = [{ batch, resolve, reject }];
    waiting.set(key, fresh);
    void drain(key, fresh);
  });
}

/**
 * One append under the directory's lock (append-lock.ts): each file gets one write and one
 * fdatasync, the batch's journal (every output file's size before and after it) is made durable
 * alongside; when a file cannot be written, every file is truncated back, so the retry that
 * follows (batchItemFailures) does not duplicate lines.
 */
async function appendOnce(key: string, batch: BatchLines): Promise<AppendResult> {
  const files = OUTPUT_FILES.map((name) => path.join(key, name));
  const parts = [batch.midLines, batch.errorLines, batch.deadLetterLines]
    .map((lines, i) => ({ file: files[i] as string, lines }))
    .filter((part) => part.lines.length > 0)
    .map((part) => ({ file: part.file, data: Buffer.from(part.lines.join('\n') + '\n', 'utf8') }));
  let lock = locks.get(key);
  if (lock === undefined) locks.set(key, (lock = new AppendLock(key)));
  try {
    const { recovered } = await lock.withLock(files, async ({ sizes, open, commit }) => {
      const after = new Map(sizes);
      for (const part of parts) after.set(part.file, (sizes.get(part.file) ?? 0) + part.data.length);
      await appendDurably(parts, open, () => commit(after));
    });
    return { recovered };
  } catch (error) {
    if (error instanceof OutputError) throw error;
    throw new OutputError(`cannot append to ${key}: ${describeFsError(error)}`, { dir: key }, { cause: error, retryable: true });
  }
}

/**
 * The output directory as the handler's sink (see output-sink.ts for the contract it keeps). The
 * batch's identity is not needed: appends happen in the order batches are written.
 */
export function fileSink(dir: string): OutputSink {
  return { description: `output directory ${dir}`, append: (batch) => appendBatch(dir, batch) };
}
