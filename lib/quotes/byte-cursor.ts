/**
 * Re-reads without re-opening. The CSV reader sometimes goes back a little (after a parse error
 * it looks for the next line from the end of the last good record, then starts a fresh parser
 * there) and sometimes jumps ahead (resuming after the header). On a plain file re-opening at an
 * offset is cheap; on a compressed one it means decoding from the start again, once per broken
 * record. The cursor keeps one stream open and the last `retainBytes` it read, so going back
 * within them costs nothing, and going forward on a compressed input keeps decoding the same
 * stream instead of starting over. Only one reader uses the cursor at a time.
 */
import type { ByteInput, ByteStream } from './byte-input.ts';

interface Held {
  start: number;
  chunk: Buffer;
}

/** Enough for a maximum-size record (64 KiB by default) plus the chunk it ended in, twice over. */
export const DEFAULT_RETAIN_BYTES = 1024 * 1024;

export class ByteCursor {
  private stream: ByteStream | undefined;
  private iterator: AsyncIterator<Buffer> | undefined;
  /** Offset just after the last byte read from `stream`. */
  private end = 0;
  private held: Held[] = [];
  private heldBytes = 0;
  /** Streams opened so far (tests check that going back does not re-open). */
  opens = 0;

  constructor(
    private readonly input: ByteInput,
    private readonly retainBytes = DEFAULT_RETAIN_BYTES,
  ) {}

  /** The bytes from `offset` on, from memory where they are held, else from the input. */
  async *from(offset: number): AsyncGenerator<Buffer> {
    const first = this.held[0];
    if (this.stream === undefined || offset < (first?.start ?? this.end) || (offset > this.end && this.input.seekable)) {
      this.reopen(offset);
    }
    for (const { start, chunk } of [...this.held]) {
      if (start + chunk.length <= offset) continue;
      yield offset > start ? chunk.subarray(offset - start) : chunk;
    }
    for (;;) {
      const chunk = await this.next();
      if (chunk === undefined) return;
      const start = this.end - chunk.length;
      if (start + chunk.length <= offset) continue; // skipping forward on an input that cannot seek
      yield offset > start ? chunk.subarray(offset - start) : chunk;
    }
  }

  /** Releases the open stream. */
  close(): void {
    this.stream?.destroy();
    this.stream = undefined;
    this.iterator = undefined;
    this.held = [];
    this.heldBytes = 0;
  }

  private reopen(offset: number): void {
    this.close();
    this.opens++;
    this.stream = this.input.open(offset);
    this.iterator = this.stream[Symbol.asyncIterator]();
    // open(offset) yields from `offset` whether it seeks or decodes and skips.
    this.end = offset;
  }

  private async next(): Promise<Buffer | undefined> {
    const result = await this.iterator?.next();
    if (result === undefined || result.done === true) return undefined;
    const chunk = result.value;
    this.end += chunk.length;
    this.held.push({ start: this.end - chunk.length, chunk });
    this.heldBytes += chunk.length;
    while (this.held.length > 1 && this.heldBytes - (this.held[0]?.chunk.length ?? 0) >= this.retainBytes) {
      this.heldBytes -= this.held.shift()?.chunk.length ?? 0;
    }
    return chunk;
  }
}
