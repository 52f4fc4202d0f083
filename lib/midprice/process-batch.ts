/**
 * The mid-price processor's logic, free of I/O: decode each record, then either a mid-price
 * line, a latency error line (historical records over the threshold), or a dead letter with the
 * reason. Lines keep record order, which is per-shard arrival order.
 */
import { midPrice } from '../quotes/decimal.ts';
import { decodeQuote, RecordDecodeError } from '../quotes/record.ts';
import { latencyErrorLine, midPriceLine } from '../output/lines.ts';
import type { BatchLines } from '../output/log-files.ts';

export interface BatchRecord {
  /** Kinesis sequence number (the batch item identifier). */
  id: string;
  partitionKey: string;
  data: Uint8Array;
}

export interface BatchResult extends BatchLines {
  deadLetters: number;
  /** First few dead-letter reasons, for the log. */
  deadLetterReasons: string[];
}

/**
 * `thresholdMs`: a record stamped `mode: historical` whose latency is strictly greater gets an
 * error line instead of a mid. The mode stamped on the record decides, not the mode at consume time.
 */
export function processBatch(records: readonly BatchRecord[], thresholdMs: number): BatchResult {
  const midLines: string[] = [];
  const errorLines: string[] = [];
  const deadLetterLines: string[] = [];
  const deadLetterReasons: string[] = [];
  for (const record of records) {
    try {
      const { quote, time } = decodeQuote(record.data);
      const latency = quote.latencyMs;
      if (quote.mode === 'historical' && latency !== undefined && latency > thresholdMs) {
        errorLines.push(latencyErrorLine(time, latency, thresholdMs));
      } else {
        midLines.push(midPriceLine(time, midPrice(quote.bid, quote.ask)));
      }
    } catch (error) {
      if (!(error instanceof RecordDecodeError)) throw error;
      if (deadLetterReasons.length < 5) deadLetterReasons.push(error.reason);
      deadLetterLines.push(
        JSON.stringify({
          sequenceNumber: record.id,
          partitionKey: record.partitionKey,
          reason: error.reason,
          data: Buffer.from(record.data).toString('base64'),
        }),
      );
    }
  }
  return { midLines, errorLines, deadLetterLines, deadLetters: deadLetterLines.length, deadLetterReasons };
}
