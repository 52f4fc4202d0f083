/**
 * Watches output files grow: on every change the kernel reports in their directory (inotify via
 * fs.watch) and at the latest every `intervalMs`, it reads the bytes appended since the last look
 * and counts newlines, recording (lines so far, time) whenever the count changed. Handles a file
 * being truncated (a run empties its outputs when it starts). With `onLine`, each complete line is
 * also handed over with the time of the look that first saw it.
 *
 * Why notifications and open handles rather than a fast timer: the watcher runs in the process it
 * measures (it must see the quotes sent), and polling every 2 ms with open/stat/close cost that
 * process ~1,500 file-system round trips a second through its own event loop — enough to delay
 * the very lines being timed. A notification arrives right after the write that caused it.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

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
  /** Kept open once the file exists (a truncation keeps the inode). */
  handle?: FileHandle;
}

export class LinePoller {
  readonly samples: LineSample[] = [];
  private readonly tracked: Tracked[];
  private timer: NodeJS.Timeout | undefined;
  private watchers: FSWatcher[] = [];
  private polling: Promise<void> | undefined;
  /** A change reported while a look was in progress: look again when it ends. */
  private again = false;
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
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.look(), this.intervalMs);
    const names = new Set(this.tracked.map((t) => path.basename(t.file)));
    for (const dir of new Set(this.tracked.map((t) => path.dirname(t.file)))) {
      this.watchers.push(watch(dir, (_event, name) => (name === null || names.has(name) ? this.look() : undefined)));
    }
  }

  private look(): void {
    if (this.polling !== undefined) {
      this.again = true;
      return;
    }
    this.polling = this.poll().finally(() => {
      this.polling = undefined;
      if (this.again && this.timer !== undefined) {
        this.again = false;
        this.look();
      }
    });
  }

  /** Stops watching and takes one last look. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    await this.polling;
    await this.poll();
    for (const t of this.tracked) await t.handle?.close();
  }

  async poll(): Promise<void> {
    const before = this.lines;
    for (const t of this.tracked) await this.readNew(t);
    const after = this.lines;
    if (after !== before) this.samples.push({ lines: after, atMs: performance.now() });
  }

  private async readNew(t: Tracked): Promise<void> {
    if (t.handle === undefined) {
      try {
        t.handle = await open(t.file, 'r');
      } catch {
        return; // not created yet
      }
    }
    const handle = t.handle;
    {
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
