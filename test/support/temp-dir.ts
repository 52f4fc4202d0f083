/** Temporary directories for tests, removed by the test that made them. */
import { mkdtemp, rm } from 'node:fs/promises';
import { after, before } from 'node:test';
import os from 'node:os';
import path from 'node:path';

export interface TempDir {
  path: string;
  join(...parts: string[]): string;
  remove(): Promise<void>;
}

export async function makeTempDir(prefix = 'tick-replay-test-'): Promise<TempDir> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return {
    path: dir,
    join: (...parts) => path.join(dir, ...parts),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * A temp dir for a whole `describe`: made before its tests, removed after them. Call inside the
 * `describe`; the returned handle is usable from `before` on.
 */
export function useTempDir(prefix?: string): TempDir {
  let dir: TempDir | undefined;
  const current = (): TempDir => {
    if (dir === undefined) throw new Error('useTempDir: the temp dir exists only once the suite started');
    return dir;
  };
  before(async () => {
    dir = await makeTempDir(prefix);
  });
  after(async () => {
    await dir?.remove();
  });
  return {
    get path() {
      return current().path;
    },
    join: (...parts) => current().join(...parts),
    remove: () => current().remove(),
  };
}
