/**
 * Watches output files grow: every `intervalMs` it reads the bytes appended since the last look
 * and counts newlines, recording (lines so far, time) whenever the count changed. Handles a file
 * being truncated (a run empties its outputs when it starts). With `onLine`, each complete line is
 * also handed over with the time of the poll that first saw it.
 */
import { open, type FileHandle } from 'node:fs/promises';

export interface LineSample {
  lines: number;
  atMs: number;
}

interface Tracked {
  file: string;
  offset: number;
  lines: number;
  /** The end of the last read that was not a whole line yet (onLine only). */
  partial: string;
}

export class LinePoller {
  readonly samples: LineSample[] = [];
  private readonly tracked: Tracked[];
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private readonly buffer = Buffer.alloc(1 << 20);

  constructor(
    files: string[],
    private readonly intervalMs = 10,
    private readonly onLine?: (line: string, atMs: number) => void,
  ) {
    this.tracked = files.map((file) => ({ file, offset: 0, lines: 0, partial: '' }));
  }

  get lines(): number {
    return this.tracked.reduce((sum, t) => sum + t.lines, 0);
  }

  start(): void {
    this.timer ??= setInterval(() => {
      this.polling ??= this.poll().finally(() => (this.polling = undefined));
    }, this.intervalMs);
  }

  /** Stops the timer and takes one last look. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
    await this.poll();
  }

  async poll(): Promise<void> {
    const before = this.lines;
    for (const t of this.tracked) await this.readNew(t);
    const after = this.lines;
    if (after !== before) this.samples.push({ lines: after, atMs: performance.now() });
  }

  private async readNew(t: Tracked): Promise<void> {
    let handle: FileHandle;
    try {
      handle = await open(t.file, 'r');
    } catch {
      return; // not created yet
    }
    try {
      const { size } = await handle.stat();
      if (size < t.offset) {
        t.offset = 0;
        t.lines = 0;
        t.partial = '';
      }
      const atMs = performance.now();
      while (t.offset < size) {
        const { bytesRead } = await handle.read(this.buffer, 0, Math.min(this.buffer.length, size - t.offset), t.offset);
        if (bytesRead === 0) break;
        for (let i = this.buffer.indexOf(10); i !== -1 && i < bytesRead; i = this.buffer.indexOf(10, i + 1)) t.lines++;
        t.offset += bytesRead;
        if (this.onLine !== undefined) {
          const parts = (t.partial + this.buffer.toString('utf8', 0, bytesRead)).split('\n');
          t.partial = parts.pop() ?? '';
          for (const line of parts) this.onLine(line, atMs);
        }
      }
    } finally {
      await handle.close();
    }
  }
}

/** When the line count first reached `k` (linear interpolation between two samples). */
export function timeOfLine(samples: readonly LineSample[], k: number, fromMs: number): number | undefined {
  let prev: LineSample = { lines: 0, atMs: fromMs };
  for (const s of samples) {
    if (s.lines >= k) {
      if (s.lines === prev.lines) return s.atMs;
      return prev.atMs + ((k - prev.lines) / (s.lines - prev.lines)) * (s.atMs - prev.atMs);
    }
    prev = s;
  }
  return undefined;
}
