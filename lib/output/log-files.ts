/**
 * The output directory: mid_prices.log, errors.log and dead_letters.log. Each batch is written
 * with one append per file, never one write per line.
 */
import { constants as fsConstants } from 'node:fs';
import { access, appendFile, mkdir, open, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import { describeFsError, errorCode, OutputError } from '../errors.ts';

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

export interface BatchLines {
  midLines: readonly string[];
  errorLines: readonly string[];
  deadLetterLines: readonly string[];
}

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
  } catch (error) {
    throw new OutputError(`output directory ${dir} is not usable: ${describeFsError(error)}`, { dir }, { cause: error });
  }
}

/** Size of `file`, 0 when it does not exist yet. */
async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return 0;
    throw error;
  }
}

/**
 * Appends are serialised per directory within this process: concurrent shards never interleave
 * inside one another's batch, and a rollback never cuts into another batch's lines.
 */
const queues = new Map<string, Promise<unknown>>();

function serialised<T>(dir: string, task: () => Promise<T>): Promise<T> {
  const previous = queues.get(dir) ?? Promise.resolve();
  const run = previous.then(task, task);
  const settled = run.catch(() => undefined);
  queues.set(dir, settled);
  void settled.then(() => {
    if (queues.get(dir) === settled) queues.delete(dir);
  });
  return run;
}

/**
 * Appends one batch: all of it or none of it. When a file cannot be written, the files already
 * appended are truncated back to their size before the batch, so the retry that follows
 * (batchItemFailures) does not duplicate lines. Throws OutputError (retryable by the caller).
 */
export function appendBatch(dir: string, batch: BatchLines): Promise<void> {
  const parts = [
    { file: path.join(dir, MID_PRICES_FILE), lines: batch.midLines },
    { file: path.join(dir, ERRORS_FILE), lines: batch.errorLines },
    { file: path.join(dir, DEAD_LETTERS_FILE), lines: batch.deadLetterLines },
  ].filter((part) => part.lines.length > 0);
  if (parts.length === 0) return Promise.resolve();
  return serialised(dir, async () => {
    const written: Array<{ file: string; size: number }> = [];
    try {
      for (const part of parts) {
        const size = await sizeOf(part.file);
        written.push({ file: part.file, size });
        await appendFile(part.file, part.lines.join('\n') + '\n', { encoding: 'utf8', flag: APPEND_NO_FOLLOW });
      }
    } catch (error) {
      const rollback = await Promise.allSettled(written.map((w) => truncate(w.file, w.size)));
      const stuck = written.filter((_, i) => rollback[i]?.status === 'rejected').map((w) => w.file);
      const detail = stuck.length === 0 ? '' : `; could not roll back ${stuck.join(', ')}`;
      throw new OutputError(`cannot append to ${dir}: ${describeFsError(error)}${detail}`, { dir }, { cause: error });
    }
  });
}
