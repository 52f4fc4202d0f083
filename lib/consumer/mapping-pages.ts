/**
 * Pure helpers of the event source mapping's shard loop (event-source-mapping.ts): the idle pause
 * between empty polls, when to read the next page ahead, and what a batch holds or asks to retry.
 */
import type { _Record as KinesisRecord } from '@aws-sdk/client-kinesis';
import type { KinesisStreamBatchResponse } from 'aws-lambda';
import { decodeAggregated, isAggregated } from '../records/kpl-format.ts';

/**
 * The next page is read ahead only while pages are this small. Small pages are where the round
 * trip dominates and reading ahead pays; a large page (aggregated records: up to 1,000 × 50 KB
 * here, since kinesalite has no 10 MB per-call cap) already carries enough work to amortise it,
 * and a second one in memory would double the consumer's largest buffer for nothing (in one pair of
 * runs with aggregation at 1 M quotes: +130 MB peak RSS, the same throughput).
 */
export const READ_AHEAD_MAX_PAGE_BYTES = 1024 * 1024;

/** The first pause after an empty poll (see idlePollMs): short, since records usually follow soon. */
const IDLE_FIRST_MS = 10;

/**
 * Empty polls in a row that keep the first pause before it starts doubling. A paced replay puts
 * on a shard about every linger (10 ms) and stops for 50–150 ms at a mode switch; doubling from
 * the first empty poll grows the pause to 20–80 ms within such a gap, which the first records
 * after it then wait out. Five short polls (50 ms of an empty shard) cost a few calls per idle
 * stretch; a shard idle for longer backs off as before, to the same bound.
 */
const IDLE_SHORT_POLLS = 5;

/** The pause after `emptyPolls` empty GetRecords in a row (1 for the first). */
export function idlePause(emptyPolls: number, idlePollMs: number): number {
  return Math.min(idlePollMs, IDLE_FIRST_MS * 2 ** Math.min(Math.max(emptyPolls - IDLE_SHORT_POLLS, 0), 20));
}

export function pageBytes(records: readonly KinesisRecord[]): number {
  let bytes = 0;
  for (const record of records) bytes += record.Data?.byteLength ?? 0;
  return bytes;
}

/** A GetRecords call's outcome (the call itself never rejects, see `getPage`). */
export type PageOutcome =
  | { ok: true; records: KinesisRecord[]; next: string | undefined; millisBehind: number | undefined }
  | { ok: false; error: unknown };

/** Quotes in `records`: a KPL aggregate carries many (what a duplicate count is measured in). */
export function quotesIn(records: readonly KinesisRecord[]): number {
  let quotes = 0;
  for (const record of records) {
    const data = record.Data ?? new Uint8Array();
    if (!isAggregated(data)) quotes++;
    else {
      try {
        quotes += decodeAggregated(data).length;
      } catch {
        quotes++;
      }
    }
  }
  return quotes;
}

/** Index of the first record Lambda would retry from, or undefined when the batch succeeded. */
export function firstFailureIndex(
  response: KinesisStreamBatchResponse | void | undefined,
  records: readonly Pick<KinesisRecord, 'SequenceNumber'>[],
): number | undefined {
  const failures = response?.batchItemFailures ?? [];
  if (failures.length === 0) return undefined;
  let first = Infinity;
  for (const failure of failures) {
    const index = records.findIndex((r) => r.SequenceNumber === failure.itemIdentifier);
    // Lambda treats an empty or unknown identifier as a failure of the whole batch.
    if (index < 0) return 0;
    first = Math.min(first, index);
  }
  return first;
}
