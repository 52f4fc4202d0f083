/**
 * A small tmpfs for a test's output directory, so that a full disk is real (ENOSPC from the
 * kernel), and can be enlarged in place. Needs root (mount(2)); `tryMountTmpfs` says why not
 * otherwise, for the test to skip with that reason.
 */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Tmpfs {
  dir: string;
  /** Remounts with a new size limit (e.g. '4m'); the files stay. */
  resize(size: string): Promise<void>;
  unmount(): Promise<void>;
}

/** Mounts a tmpfs of `size` (e.g. '64k') on `dir`, or resolves the reason it cannot. */
export async function tryMountTmpfs(dir: string, size: string): Promise<Tmpfs | string> {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root (mount -t tmpfs); this test runs as root in CI';
  await mkdir(dir, { recursive: true });
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  } catch (error) {
    return `mount -t tmpfs is not permitted here: ${(error as { stderr?: string }).stderr?.trim() ?? String(error)}`;
  }
  let mounted = true;
  return {
    dir,
    resize: async (next) => {
      await run('mount', ['-o', `remount,size=${next}`, dir]);
    },
    unmount: async () => {
      if (!mounted) return;
      await run('umount', [dir]);
      mounted = false;
    },
  };
}
