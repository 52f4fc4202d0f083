/**
 * Content fingerprints (SHA-256 of the stored bytes) remembered for the life of the process,
 * keyed by the input's location and version (device, inode, size, mtime, ctime for a file; the
 * ETag for an object). A resume always identifies an input by its content, never by path, size
 * and mtime alone: a file replaced with the same path, size and mtime (`cp -p`, `rsync -t`, a
 * restore) hashes differently and is replayed as the new file it is. The first open in a process
 * hashes the whole input (a fraction of the cost of parsing it); later opens in the same process
 * (mode switches) reuse the hash while the version is unchanged: a rewrite changes the ctime or
 * the inode, which no tool can set back.
 */
import type { HistoricalInput } from '../input/input.ts';
import { fingerprintOf } from '../input/input.ts';

export class FingerprintCache {
  private readonly known = new Map<string, { version: string; fingerprint: string }>();
  /** Inputs hashed so far (tests check that a mode switch does not hash again). */
  hashed = 0;

  async of(input: HistoricalInput): Promise<string> {
    const { location } = input.source;
    const cached = this.known.get(location);
    if (cached !== undefined && cached.version === input.identity.version) return cached.fingerprint;
    const fingerprint = await fingerprintOf(input);
    this.hashed++;
    this.known.set(location, { version: input.identity.version, fingerprint });
    return fingerprint;
  }
}
