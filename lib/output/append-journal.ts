/**
 * The undo journal of an output directory (pure: its text and what it says to undo; append-lock.ts
 * does the I/O). A journal names every file the writers append to, with its size before and after
 * one batch. It is kept in two slot files written in turn, each journal numbered one more than the
 * last, and each slot's text carries a digest: a slot cut short by a crash (torn, or empty after
 * being created) fails its digest, and the other slot — the previous journal, durable — decides.
 *
 * Why a batch's journal may be written alongside its data, not before it: the journal of batch k
 * ends where batch k+1 begins (its "after" sizes are the files as batch k+1 finds them, checked
 * under the lock before anything is appended). So after a crash, whichever of the two is the
 * latest valid journal describes what is on disk:
 * - batch k+1's own journal: files between its "before" and "after" sizes → a partial batch k+1;
 * - batch k's: files beyond its "after" sizes → batch k+1 had begun, its journal not yet written.
 * Either way every file goes back to where batch k+1 began. A batch is acknowledged (its
 * checkpoint may move) only once its data and its journal are both durable, so nothing
 * acknowledged is ever undone.
 */
import { createHash } from 'node:crypto';

/** The two slot files; the first has the name the single journal of earlier versions had. */
export const JOURNAL_FILES = ['.append.journal', '.append.journal.1'] as const;

/** One file: its size before the batch and the size the batch brings it to. */
export interface JournalEntry {
  file: string;
  before: number;
  after: number;
}

export interface Journal {
  /** One more than the journal before it; the slot it lives in is `seq % 2`. */
  seq: number;
  entries: JournalEntry[];
  /** Written by an earlier version (one file, emptied after each batch, no digest): never a starting point. */
  legacy?: boolean;
}

/** A file cut back to `size` bytes. */
export interface Truncation {
  file: string;
  size: number;
}

const digest = (json: string): string => createHash('sha256').update(json).digest('hex').slice(0, 32);

/** The slot text: the journal as one JSON line, then its digest. Bytes after it are ignored. */
export function formatJournal(journal: Journal): string {
  const json = JSON.stringify({ seq: journal.seq, files: journal.entries });
  return `${json}\n${digest(json)}\n`;
}

/** The journal in a slot's text, or undefined (empty, torn, or not a journal). */
export function parseJournal(text: string): Journal | undefined {
  const end = text.indexOf('\n');
  if (end > 0) {
    const json = text.slice(0, end);
    if (text.slice(end + 1, end + 33) === digest(json)) {
      const value = JSON.parse(json) as { seq: number; files: JournalEntry[] };
      return { seq: value.seq, entries: value.files };
    }
  }
  return parseLegacy(text);
}

/** An earlier version's journal: `files` (before and after), or `sizes` (before only: any growth is its batch). */
function parseLegacy(text: string): Journal | undefined {
  try {
    const value = JSON.parse(text) as { seq?: number; files?: JournalEntry[]; sizes?: Record<string, number> };
    // This version's JSON line without its digest is a slot cut short, not an old journal.
    if (value.seq !== undefined) return undefined;
    if (Array.isArray(value.files)) return { seq: -1, entries: value.files, legacy: true };
    if (value.sizes !== undefined) {
      return { seq: -1, entries: Object.entries(value.sizes).map(([file, before]) => ({ file, before, after: Infinity })), legacy: true };
    }
  } catch {
    // Empty (emptied after its batch), or cut short while being written: before any append.
  }
  return undefined;
}

/** The journal with the highest number among the slots' texts (undefined: a missing slot). */
export function latestJournal(texts: ReadonlyArray<string | undefined>): Journal | undefined {
  let latest: Journal | undefined;
  for (const text of texts) {
    const journal = text === undefined ? undefined : parseJournal(text);
    if (journal !== undefined && (latest === undefined || journal.seq > latest.seq)) latest = journal;
  }
  return latest;
}

/**
 * What to cut back, given the latest journal and the files' sizes now (a missing file counts as
 * empty). Every file at its "after" size: nothing. None below "after", some beyond: the batch after
 * this journal's had begun → back to "after". None outside [before, after], some short of "after":
 * this journal's batch stopped part-way → every file that grew back to "before". Anything else
 * (files emptied by a new run, edited by hand) is not what the journal describes: nothing.
 */
export function rollbackPlan(entries: readonly JournalEntry[], sizes: ReadonlyMap<string, number | undefined>): Truncation[] {
  const now = (entry: JournalEntry): number => sizes.get(entry.file) ?? 0;
  if (entries.every((e) => now(e) >= e.after)) return entries.filter((e) => now(e) > e.after).map((e) => ({ file: e.file, size: e.after }));
  if (entries.every((e) => now(e) >= e.before && now(e) <= e.after)) {
    return entries.filter((e) => now(e) > e.before).map((e) => ({ file: e.file, size: e.before }));
  }
  return [];
}

/**
 * Whether `journal` ends where the next batch begins: it is of this version and names every file
 * of `files` at its size now. Then a crash in the next batch is undone by it, and no journal need
 * be written before that batch's first byte.
 */
export function endsAt(journal: Journal, files: readonly string[], sizes: ReadonlyMap<string, number>): boolean {
  if (journal.legacy === true) return false;
  return files.every((file) => journal.entries.some((e) => e.file === file && e.after === (sizes.get(file) ?? 0)));
}
