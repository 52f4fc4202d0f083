/**
 * The port through which the CSV reader gets bytes: a named input that can be read from a byte
 * offset. lib/input/ implements it (local files now, S3 later; gzip and zstd decoded there), so
 * the reader never knows where the bytes live or whether they were compressed.
 */

/** A stream of chunks; `destroy()` releases it when the reader stops early. */
export interface ByteStream extends AsyncIterable<Buffer> {
  destroy(): void;
}

export interface ByteInput {
  /** How messages name the input (a path, a URL). */
  readonly name: string;
  /**
   * The decoded bytes (after decompression) from `offset` on. Read errors surface from the
   * iteration as errors with an errno-style `code` where there is one.
   */
  open(offset: number): ByteStream;
  /** Decoded size when known without reading (uncompressed input), else undefined. */
  readonly size: number | undefined;
  /**
   * Whether `open(offset)` starts reading at `offset` directly. False for compressed input, where
   * it decodes from the start and skips: resuming a compressed file re-reads it up to there.
   */
  readonly seekable: boolean;
}
