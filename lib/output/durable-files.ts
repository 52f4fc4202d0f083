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

const { O_WRONLY, O_CREAT, O_APPEND, O_TRUNC, O_NOFOLLOW, O_RDONLY, O_DIRECTORY } = fsConstants;

/**
 * Opens `file` with `flags`; if it does not exist, creates it (same flags plus O_CREAT) and says
 * so, so that the caller syncs the directory once the file holds what it must.
 */
async function openOrCreate(file: string, flags: number): Promise<{ handle: FileHandle; created: boolean }> {
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
 * syncs run in parallel on libuv's pool: the wait is the slowest one, not their sum). A short
 * write is reported as ENOSPC: only a full disk or a quota cuts a regular-file write short.
 */
export async function appendDurably(parts: ReadonlyArray<{ file: string; data: Buffer }>): Promise<void> {
  const opened: Array<{ handle: FileHandle; created: boolean }> = [];
  try {
    for (const part of parts) {
      const file = await openOrCreate(part.file, O_WRONLY | O_APPEND);
      opened.push(file);
      const { bytesWritten } = await file.handle.write(part.data, 0, part.data.length);
      if (bytesWritten !== part.data.length) {
        throw Object.assign(new Error(`short write to ${part.file} (${bytesWritten} of ${part.data.length} bytes)`), { code: 'ENOSPC' });
      }
    }
    await Promise.all(opened.map(({ handle }) => handle.datasync()));
  } finally {
    await Promise.all(opened.map(({ handle }) => handle.close()));
  }
  const dirs = new Set(parts.filter((_, i) => opened[i]?.created === true).map((part) => path.dirname(part.file)));
  for (const dir of dirs) await syncDirectory(dir);
}

/** Replaces the content of `file` with `text` (the same inode when it exists), then fdatasync. */
export async function writeDurably(file: string, text: string): Promise<void> {
  const { handle, created } = await openOrCreate(file, O_WRONLY | O_TRUNC);
  try {
    await handle.writeFile(text);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  if (created) await syncDirectory(path.dirname(file));
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

/** Empties `file` if it exists, without waiting for the disk (losing that to a crash is harmless to callers). */
export async function emptyFile(file: string): Promise<void> {
  try {
    await (await open(file, O_WRONLY | O_TRUNC | O_NOFOLLOW)).close();
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
}
