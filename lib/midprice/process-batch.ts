/**
 * The mid-price processor's logic, free of I/O: decode each record, then either a mid-price
 * line, a latency error line (historical records over the threshold), or a dead letter with the
 * reason. Lines keep record order, which is per-shard arrival order. KPL aggregated records
 * (lib/records/kpl-format.ts) are expanded into their user records, in order; one whose digest or
 * protobuf is bad is dead-lettered whole with that reason.
 */
import { decodeAggregated, isAggregated, KplFormatError, type UserRecord } from '../records/kpl-format.ts';
import { midPrice } from '../quotes/decimal.ts';
import { decodeQuote, RecordDecodeError } from '../records/quote-record.ts';
import { parseTimestamp } from '../quotes/timestamp.ts';
import { latencyErrorLine, midPriceLine } from '../output/lines.ts';
import type { BatchLines } from '../output/output-sink.ts';

export interface BatchRecord {
  /** Kinesis sequence number (the batch item identifier). */
  id: string;
  partitionKey: string;
  data: Uint8Array;
}

/** One mid price as a point (for charts): the quote's ticker, time (µs since the epoch) and mid. */
export interface MidPoint {
  ticker: string;
  micros: number;
  mid: string;
}

export interface BatchResult extends BatchLines {
  /** The mids of `midLines`, in the same order, with their tickers. */
  mids: MidPoint[];
  deadLetters: number;
  /** First few dead-letter reasons, for the log. */
  deadLetterReasons: string[];
  /** Quotes (user records) seen: more than the Kinesis records when some were KPL aggregates. */
  userRecords: number;
  /**
   * The arrival (µs since the epoch) of each live quote given a mid line: a live quote's arrival is
   * when its frame came off the feed socket, so the handler can time its delivery. Historical
   * arrivals are in the data's own time, not the replay's, and are not listed.
   */
  liveArrivalsUs: number[];
}

/** How long a written batch took (the handler measures it; the local dashboard's histograms). */
export interface BatchTiming {
  /** Seconds from the handler receiving the batch to its lines being written. */
  handledSeconds: number;
  /** Per live quote given a mid line: seconds from its arrival (off the feed socket) to its line written. */
  deliverySeconds: number[];
}

/**
 * `thresholdMs`: a record stamped `mode: historical` whose latency is strictly greater gets an
 * error line instead of a mid. The mode stamped on the record decides, not the mode at consume time.
 */
export function processBatch(records: readonly BatchRecord[], thresholdMs: number): BatchResult {
  const midLines: string[] = [];
  const mids: MidPoint[] = [];
  const errorLines: string[] = [];
  const deadLetterLines: string[] = [];
  const deadLetterReasons: string[] = [];
  const liveArrivalsUs: number[] = [];
  let userRecords = 0;
  const deadLetter = (record: BatchRecord, reason: string, data: Uint8Array, sub?: { index: number; partitionKey: string }): void => {
    if (deadLetterReasons.length < 5) deadLetterReasons.push(reason);
    deadLetterLines.push(
      JSON.stringify({
        sequenceNumber: record.id,
        ...(sub === undefined ? { partitionKey: record.partitionKey } : { subSequence: sub.index, partitionKey: sub.partitionKey }),
        reason,
        data: Buffer.from(data).toString('base64'),
      }),
    );
  };
  const processQuote = (record: BatchRecord, data: Uint8Array, sub?: { index: number; partitionKey: string }): void => {
    userRecords++;
    try {
      const { quote, time } = decodeQuote(data);
      const latency = quote.latencyMs;
      if (quote.mode === 'historical' && latency !== undefined && latency > thresholdMs) {
        errorLines.push(latencyErrorLine(time, latency, thresholdMs));
      } else {
        const mid = midPrice(quote.bid, quote.ask);
        midLines.push(midPriceLine(time, mid));
        mids.push({ ticker: quote.ticker, micros: time.micros, mid });
        if (quote.mode === 'live') {
          // decodeQuote validated it; parsed again here because it keeps only the timestamp's parse.
          const arrival = parseTimestamp(quote.arrival);
          if (typeof arrival !== 'string') liveArrivalsUs.push(arrival.micros);
        }
      }
    } catch (error) {
      if (!(error instanceof RecordDecodeError)) throw error;
      deadLetter(record, error.reason, data, sub);
    }
  };
  for (const record of records) {
    if (!isAggregated(record.data)) {
      processQuote(record, record.data);
      continue;
    }
    // A KPL aggregate: its user records, in order. One that cannot be read (bad digest, bad
    // protobuf) is dead-lettered whole, like any malformed record: it never blocks the shard.
    let contained: UserRecord[];
    try {
      contained = decodeAggregated(record.data);
    } catch (error) {
      if (!(error instanceof KplFormatError)) throw error;
      deadLetter(record, error.reason, record.data);
      continue;
    }
    contained.forEach((user, index) => processQuote(record, user.data, { index, partitionKey: user.partitionKey }));
  }
  return { midLines, mids, errorLines, deadLetterLines, deadLetters: deadLetterLines.length, deadLetterReasons, userRecords, liveArrivalsUs };
}
