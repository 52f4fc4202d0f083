/** Temporary directories for tests, removed by the test that made them. */
import { mkdtemp, rm } from 'node:fs/promises';
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
