/**
 * Which rows of the input a replay sends: `--from` / `--to` (a window on effective arrival:
 * from inclusive, to exclusive, so consecutive windows tile) and `--tickers`, plus the
 * `--max-disorder` plausibility bound. Applied to each row before it is buffered or sent.
 * A replay with a selection is a different replay of the same file: its source id (and so its
 * checkpoint) carries a digest of the selection, and the default selection has none, so plain
 * replays keep the ids they always had.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.ts';
import { DEFAULT_MAX_DISORDER_US } from './disorder-gate.ts';

export interface Selection {
  /** Arrival ≥ this (epoch µs), when set. */
  fromUs?: number;
  /** Arrival < this (epoch µs), when set. */
  toUs?: number;
  /** Only these tickers, when set. */
  tickers?: ReadonlySet<string>;
  maxDisorderUs: number;
}

export const DEFAULT_SELECTION: Selection = { maxDisorderUs: DEFAULT_MAX_DISORDER_US };

/** Whether a row with this ticker and arrival is sent. */
export function isSelected(selection: Selection, ticker: string, arrivalUs: number): boolean {
  if (selection.fromUs !== undefined && arrivalUs < selection.fromUs) return false;
  if (selection.toUs !== undefined && arrivalUs >= selection.toUs) return false;
  return selection.tickers === undefined || selection.tickers.has(ticker);
}

/**
 * Whether no later row can be selected any more: every row still to come has arrival ≥ its
 * timestamp ≥ latest − maxDisorder (the gate rejects the others), so once that is past `--to`
 * the rest of the file can be left unread.
 */
export function isPastWindow(selection: Selection, latestTimestampUs: number): boolean {
  return selection.toUs !== undefined && latestTimestampUs - selection.maxDisorderUs >= selection.toUs;
}

/** A short digest identifying a non-default selection; undefined for the default. */
export function selectionKey(selection: Selection): string | undefined {
  const parts: string[] = [];
  if (selection.fromUs !== undefined) parts.push(`from=${selection.fromUs}`);
  if (selection.toUs !== undefined) parts.push(`to=${selection.toUs}`);
  if (selection.tickers !== undefined) parts.push(`tickers=${[...selection.tickers].sort().join(',')}`);
  if (selection.maxDisorderUs !== DEFAULT_MAX_DISORDER_US) parts.push(`maxDisorder=${selection.maxDisorderUs}`);
  if (parts.length === 0) return undefined;
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 8);
}

/** Checks a selection made from flags (from < to). */
export function checkSelection(selection: Selection): Selection {
  if (selection.fromUs !== undefined && selection.toUs !== undefined && selection.fromUs >= selection.toUs) {
    throw new ConfigError('--from must be before --to', { name: '--from' });
  }
  if (selection.tickers !== undefined && selection.tickers.size === 0) throw new ConfigError('--tickers names no ticker', { name: '--tickers' });
  return selection;
}
