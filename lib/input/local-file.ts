/** Local files as a ByteSource. */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { describeFsError, errorCode, InputError } from '../errors.ts';
import type { ByteSource, ByteStream, InputIdentity } from './byte-source.ts';

/** Read size: large enough that per-chunk costs (a promise, a Buffer slice) vanish per row. */
const CHUNK_SIZE = 256 * 1024;

export class LocalFileSource implements ByteSource {
  readonly location: string;

  constructor(readonly name: string) {
    this.location = path.resolve(name);
  }

  /**
   * Opens and stats the file, turning the usual failures (missing, unreadable, a directory) into
   * one-line InputErrors. Opening a directory succeeds on Linux; only reading it fails (EISDIR).
   */
  async describe(): Promise<InputIdentity> {
    let handle;
    try {
      handle = await open(this.location, 'r');
      const info = await handle.stat();
      if (info.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      return {
        size: info.size,
        modifiedMs: info.mtimeMs,
        version: `file:${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`,
      };
    } catch (error) {
      throw new InputError(`cannot read ${this.name}: ${describeFsError(error)}`, { file: this.name, code: errorCode(error) }, { cause: error });
    } finally {
      await handle?.close();
    }
  }

  /**
   * A stream from `offset`. Each call opens its own descriptor: a ReadStream closes it when
   * destroyed (leaving a `for await` early destroys it), even with `autoClose: false`.
   */
  open(offset: number, end?: number): ByteStream {
    // createReadStream's `end` is inclusive.
    return createReadStream(this.location, { start: offset, ...(end !== undefined ? { end: end - 1 } : {}), highWaterMark: CHUNK_SIZE });
  }
}
