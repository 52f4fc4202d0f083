/**
 * The output directory: mid_prices.log, errors.log and dead_letters.log. Each batch is written
 * with one append per file (one write(2) with O_APPEND), never one write per line.
 */
import { constants as fsConstants } from 'node:fs';
import { access, appendFile, mkdir, open, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { OutputError } from '../errors.ts';

export const MID_PRICES_FILE = 'mid_prices.log';
export const ERRORS_FILE = 'errors.log';
export const DEAD_LETTERS_FILE = 'dead_letters.log';
export const OUTPUT_FILES = [MID_PRICES_FILE, ERRORS_FILE, DEAD_LETTERS_FILE] as const;

export interface BatchLines {
  midLines: readonly string[];
  errorLines: readonly string[];
  deadLetterLines: readonly string[];
}

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOTDIR' || code === 'EEXIST') return 'not a directory';
  if (code === 'ENOSPC') return 'no space left on device';
  if (code === 'EROFS') return 'read-only file system';
  return (error as Error).message;
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
      if (options.truncate) await writeFile(path.join(dir, file), '');
      else await (await open(path.join(dir, file), 'a')).close();
    }
  } catch (error) {
    throw new OutputError(`output directory ${dir} is not usable: ${describe(error)}`, { dir }, { cause: error });
  }
}

async function appendLines(file: string, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  await appendFile(file, lines.join('\n') + '\n', 'utf8');
}

/** Appends one batch; throws OutputError (retryable by the caller) when a file cannot be written. */
export async function appendBatch(dir: string, batch: BatchLines): Promise<void> {
  try {
    await appendLines(path.join(dir, MID_PRICES_FILE), batch.midLines);
    await appendLines(path.join(dir, ERRORS_FILE), batch.errorLines);
    await appendLines(path.join(dir, DEAD_LETTERS_FILE), batch.deadLetterLines);
  } catch (error) {
    throw new OutputError(`cannot append to ${dir}: ${describe(error)}`, { dir }, { cause: error });
  }
}
