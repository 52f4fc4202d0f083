/**
 * Where historical input bytes live. A ByteSource names one input and reads its stored bytes
 * (compressed or not) from a byte offset; `describe()` gives what identifies a version of it
 * cheaply. Local files are one implementation (local-file.ts); an object store is another
 * (CONTRIBUTING.md "Adding an input location"). Compression is layered on top (compression.ts,
 * input.ts), never inside a source.
 */
import type { ByteStream } from '../quotes/byte-input.ts';

export type { ByteStream } from '../quotes/byte-input.ts';

export interface InputIdentity {
  /** Stored size in bytes. */
  size: number;
  /** Last modification, epoch ms. */
  modifiedMs: number;
  /**
   * Changes whenever the content may have: for a local file its device, inode, size, mtime and
   * ctime (a replaced or rewritten file gets a new inode or ctime, which cannot be set back); for
   * an object its ETag. Equal versions mean unchanged content; different ones prove nothing.
   */
  version: string;
  /**
   * An identity of the content that the store itself vouches for (an object's ETag with its
   * size): when present, the content fingerprint is derived from it instead of hashing every byte.
   */
  contentTag?: string;
}

export interface ByteSource {
  /** As the user wrote it, for messages. */
  readonly name: string;
  /** Canonical location (an absolute path, `s3://bucket/key`): the key of the checkpoint index. */
  readonly location: string;
  /** Throws InputError (`cannot read x: no such file`) when the input cannot be read. */
  describe(): Promise<InputIdentity>;
  /**
   * The stored bytes from `offset` on, up to `end` (exclusive) when given: a probe of the first
   * bytes must not start a transfer of the whole input. Reads the version `describe()` first saw:
   * a source that can pin it (an object's ETag) fails clearly when the input was replaced since.
   */
  open(offset: number, end?: number): ByteStream;
}
