/**
 * Several historical inputs replayed as one stream: a k-way merge of the per-file sources, each
 * already in arrival order, by (arrival, file, position in file). Ties across files go by the
 * order the files were given (after glob expansion), then by file position, so a replay of the
 * same files is the same sequence every time. Memory is one reorder window per file plus one
 * waiting quote per file: files are read side by side, never loaded.
 *
 * Each quote keeps its own file's source id and seq, so acknowledgements, checkpoints and
 * duplicates stay per file (historical-session.ts keeps one checkpoint per file).
 */
import { MinHeap } from './min-heap.ts';
import type { HistoricalSource } from './historical-source.ts';
import type { PacedQuote, ReplaySource, SourceStats } from './replay-source.ts';
import type { HistoricalPosition } from './ack-tracker.ts';

interface Head {
  quote: PacedQuote;
  file: number;
  iterator: AsyncIterator<PacedQuote>;
}

function byArrivalThenFile(a: Head, b: Head): number {
  return (
    a.quote.arrivalUs - b.quote.arrivalUs ||
    (a.quote.arrivalNanos ?? 0) - (b.quote.arrivalNanos ?? 0) ||
    a.file - b.file ||
    a.quote.seq - b.quote.seq
  );
}

export class MergedSource implements ReplaySource {
  readonly mode = 'historical' as const;
  readonly sourceId: string;
  private readonly bySource = new Map<string, HistoricalSource>();

  constructor(readonly files: readonly HistoricalSource[]) {
    for (const file of files) this.bySource.set(file.sourceId, file);
    this.sourceId = files.length === 1 ? (files[0] as HistoricalSource).sourceId : files.map((f) => f.sourceId).join('+');
  }

  /** The files' counters, added up (read on demand: the files keep counting). */
  get stats(): SourceStats {
    const total: SourceStats = { read: 0, rejected: 0, crossed: 0, emitted: 0 };
    for (const file of this.files) {
      total.read += file.stats.read;
      total.rejected += file.stats.rejected;
      total.crossed += file.stats.crossed;
      total.emitted += file.stats.emitted;
    }
    return total;
  }

  get total(): number {
    return this.files.reduce((sum, file) => sum + file.total, 0);
  }

  get done(): number {
    return this.files.reduce((sum, file) => sum + file.done, 0);
  }

  acknowledge(source: string, seq: number): void {
    this.bySource.get(source)?.acknowledge(source, seq);
  }

  /** One file: its position; several: undefined (each file has its own, see `files`). */
  position(): HistoricalPosition | undefined {
    return this.files.length === 1 ? this.files[0]?.position() : undefined;
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((file) => file.close()));
  }

  [Symbol.asyncIterator](): AsyncIterator<PacedQuote> {
    // One file needs no merge: its own iterator, with no heap nor generator step per quote between.
    if (this.files.length === 1) return (this.files[0] as HistoricalSource)[Symbol.asyncIterator]();
    return this.merged();
  }

  private async *merged(): AsyncGenerator<PacedQuote> {
    const heap = new MinHeap<Head>(byArrivalThenFile);
    const iterators = this.files.map((file) => file[Symbol.asyncIterator]());
    try {
      for (let file = 0; file < iterators.length; file++) {
        const iterator = iterators[file] as AsyncIterator<PacedQuote>;
        const first = await iterator.next();
        if (first.done !== true) heap.push({ quote: first.value, file, iterator });
      }
      for (let head = heap.pop(); head !== undefined; head = heap.pop()) {
        yield head.quote;
        const next = await head.iterator.next();
        if (next.done !== true) {
          head.quote = next.value;
          heap.push(head);
        }
      }
    } finally {
      await Promise.all(iterators.map(async (iterator) => iterator.return?.(undefined)));
    }
  }
}
