/**
 * The files of one output directory kept open from one batch to the next (the output files and
 * the journal's slots). Opening, closing and reading a file by name are round trips through
 * libuv's pool and back through the event loop, several per batch, and in a process that also
 * replays and consumes each one waits its turn behind that work: kept handles make a batch's path
 * the lock, one look at the journal and the sizes, and the writes.
 *
 * A kept handle is used only while a stat of its path taken in the same batch shows the inode it
 * has open: a file deleted or replaced behind our back is opened again by name.
 */
import type { Stats } from 'node:fs';
import { stat, type FileHandle } from 'node:fs/promises';
import { errorCode } from '../errors.ts';
import { openOrCreate } from './durable-files.ts';

interface Kept {
  handle: FileHandle;
  ino: number;
  dev: number;
}

/** A stat of each path (undefined: it does not exist). */
export async function statAll(files: readonly string[]): Promise<Map<string, Stats | undefined>> {
  const seen = await Promise.all(
    files.map((file) =>
      stat(file).catch((error: unknown) => {
        if (errorCode(error) === 'ENOENT') return undefined;
        throw error;
      }),
    ),
  );
  return new Map(files.map((file, i) => [file, seen[i]]));
}

export class KeptFiles {
  private readonly kept = new Map<string, Kept>();

  /** The handle kept for `file`, whatever the file at its path now (check with `isCurrent`). */
  peek(file: string): FileHandle | undefined {
    return this.kept.get(file)?.handle;
  }

  /** Whether the handle kept for `file` has open the file `seen` (a stat of its path) is. */
  isCurrent(file: string, seen: Stats | undefined): boolean {
    const kept = this.kept.get(file);
    return kept !== undefined && seen !== undefined && seen.ino === kept.ino && seen.dev === kept.dev;
  }

  /**
   * The handle for `file`: the kept one while `seen` shows it current, else `file` opened with
   * `flags` (created if missing: `created`, so that the caller syncs the directory) and kept.
   */
  async get(file: string, flags: number, seen: Stats | undefined): Promise<{ handle: FileHandle; created: boolean }> {
    const kept = this.kept.get(file);
    if (kept !== undefined && this.isCurrent(file, seen)) return { handle: kept.handle, created: false };
    if (kept !== undefined) {
      this.kept.delete(file);
      await kept.handle.close().catch(() => undefined);
    }
    const opened = await openOrCreate(file, flags);
    try {
      const info = await opened.handle.stat();
      this.kept.set(file, { handle: opened.handle, ino: info.ino, dev: info.dev });
    } catch (error) {
      await opened.handle.close().catch(() => undefined);
      throw error;
    }
    return opened;
  }

  /** Closes every kept handle (after a failed batch: the next one opens its files afresh). */
  async closeAll(): Promise<void> {
    const handles = [...this.kept.values()].map((k) => k.handle);
    this.kept.clear();
    await Promise.all(handles.map((handle) => handle.close().catch(() => undefined)));
  }
}
