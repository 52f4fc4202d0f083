/**
 * File writes that survive a crash of the machine, not only of the process: what a write(2)
 * leaves in the page cache is lost with the power, so each write here is followed by
 * fdatasync(2) (the data and the size, not the timestamps), and a file this code creates also gets
 * its directory fsync'ed (the new name is directory data of its own). Every open refuses to follow
 * a symbolic link (ELOOP): a link planted in the output directory must not redirect a write.
 */
import { constants as fsConstants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { errorCode } from '../errors.ts';

const { O_WRONLY, O_CREAT, O_NOFOLLOW, O_RDONLY, O_DIRECTORY } = fsConstants;

/**
 * Opens `file` with `flags`; if it does not exist, creates it (same flags plus O_CREAT) and says
 * so, so that the caller syncs the directory once the file holds what it must.
 */
export async function openOrCreate(file: string, flags: number): Promise<{ handle: FileHandle; created: boolean }> {
  try {
    return { handle: await open(file, flags | O_NOFOLLOW), created: false };
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
    return { handle: await open(file, flags | O_CREAT | O_NOFOLLOW, 0o644), created: true };
  }
}

/**
 * Makes the entries of `dir` durable (a file created in it). A file system without directory
 * sync (EINVAL) offers nothing more to do.
 */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, O_RDONLY | O_DIRECTORY);
  try {
    await handle.sync();
  } catch (error) {
    if (errorCode(error) !== 'EINVAL') throw error;
  } finally {
    await handle.close();
  }
}

/**
 * Appends each part's data to its file with one write(2) under O_APPEND (the kernel places it at
 * the end as a whole, never split by another writer's), then fdatasyncs the files together (the
 * syncs run in parallel on libuv's pool: the wait is the slowest one, not their sum), with
 * `alongside` (the append's journal) in parallel too. The files are written in parallel, through
 * handles from `open` (O_WRONLY | O_APPEND; kept open by the caller): the lines are readable as
 * soon as the writes return. A short write is reported as ENOSPC: only a full disk or a quota
 * cuts a regular-file write short.
 */
export async function appendDurably(
  parts: ReadonlyArray<{ file: string; data: Buffer }>,
  open: (file: string) => Promise<{ handle: FileHandle; created: boolean }>,
  alongside?: () => Promise<void>,
): Promise<void> {
  const opened = await Promise.all(parts.map((part) => open(part.file)));
  throwFirstFailure(await Promise.allSettled(parts.map((part, i) => writeWhole((opened[i] as { handle: FileHandle }).handle, part.file, part.data, null))));
  throwFirstFailure(await Promise.allSettled([...opened.map(({ handle }) => handle.datasync()), alongside?.()]));
  const dirs = new Set(parts.filter((_, i) => opened[i]?.created === true).map((part) => path.dirname(part.file)));
  for (const dir of dirs) await syncDirectory(dir);
}

/** Settled in parallel so that nothing is still in flight on a handle when the caller closes it. */
function throwFirstFailure(outcomes: ReadonlyArray<PromiseSettledResult<unknown>>): void {
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/** One write(2) of `data` (at `position`, or the end under O_APPEND); short = ENOSPC. */
async function writeWhole(handle: FileHandle, file: string, data: Buffer, position: number | null): Promise<void> {
  const { bytesWritten } = await handle.write(data, 0, data.length, position);
  if (bytesWritten !== data.length) {
    throw Object.assign(new Error(`short write to ${file} (${bytesWritten} of ${data.length} bytes)`), { code: 'ENOSPC' });
  }
}

/**
 * Writes `text` at the start of the file open as `handle`, leaving any longer old content after
 * it in place — the reader knows where the text ends — then fdatasync.
 */
export async function overwriteDurably(handle: FileHandle, file: string, text: string): Promise<void> {
  await writeWhole(handle, file, Buffer.from(text, 'utf8'), 0);
  await handle.datasync();
}

/** Cuts `file` back to `size` bytes, then fdatasync. */
export async function truncateDurably(file: string, size: number): Promise<void> {
  const handle = await open(file, O_WRONLY | O_NOFOLLOW);
  try {
    await handle.truncate(size);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}
