/**
 * The Kinesis record contract: one JSON quote per record, `v: 1`, prices as decimal strings.
 * Decoding validates everything the handler relies on, so a malformed record is rejected with a
 * reason (and dead-lettered) instead of producing a wrong line. It lives in lib/records/ with the
 * KPL aggregation format because it is what the producer side (replayer) and the consumer side
 * (handler, event source mapping filter) share: the two meet only here and in Kinesis.
 */
import { isAscii } from 'node:buffer';
import { writeAsciiRecord } from './ascii-record-writer.ts';
import { readCanonicalRecord } from './canonical-record.ts';
import { firstAggregatedData, isAggregated } from './kpl-format.ts';
import { TickReplayError } from '../errors.ts';
import { isPlainDecimal, parseDecimal } from '../quotes/decimal.ts';
import type { Quote } from '../quotes/quote.ts';
import { parseTimestamp, type ParsedTimestamp } from '../quotes/timestamp.ts';

export const RECORD_VERSION = 1;

/** A Kinesis record that is not a valid quote: dead-lettered with `reason`, never retried. */
export class RecordDecodeError extends TickReplayError {
  constructor(readonly reason: string) {
    super(reason, { reason });
  }
}

export interface RecordEnvelope {
  /**
   * The replay run that produced the record. A consumer that must see only its own run's records
   * (a one-shot `run` sharing a stream) filters on it; the handler ignores it.
   */
  run?: string;
}

/** The bytes every record of `run` starts with (see `encodeQuote`): a cheap, exact filter. */
export function recordPrefixForRun(run: string): Buffer {
  return Buffer.from(`{"v":${RECORD_VERSION},"run":${JSON.stringify(run)},`, 'utf8');
}

/** The bytes every record stamped with some run starts with. */
export const RUN_STAMPED_PREFIX = Buffer.from(`{"v":${RECORD_VERSION},"run":`, 'utf8');

export function hasPrefix(data: Uint8Array | undefined, prefix: Buffer): boolean {
  return data !== undefined && data.byteLength >= prefix.length && prefix.equals(data.subarray(0, prefix.length));
}

/**
 * `hasPrefix` for a Kinesis record that may be a KPL aggregate: an aggregate's bytes start with
 * the KPL magic, so it is judged by its first user record (all records of one aggregate come
 * from one producer, hence one run). An aggregate whose first record cannot be read does not
 * match (a `run` consumer skips it; the `up` consumer, filtering on "not run-stamped", passes it
 * to the handler, which dead-letters it).
 */
export function recordHasPrefix(data: Uint8Array | undefined, prefix: Buffer): boolean {
  if (data === undefined || !isAggregated(data)) return hasPrefix(data, prefix);
  return hasPrefix(firstAggregatedData(data), prefix);
}

/**
 * A value as JSON.stringify writes it inside an object (undefined: the key is left out). Strings
 * without characters JSON must escape (`"`, `\\`, controls, lone surrogates) are quoted as they
 * are: every field of a quote is such a string in practice, and checking is cheaper than
 * JSON.stringify's generic path.
 */
function jsonValue(value: unknown): string | undefined {
  if (typeof value !== 'string') return JSON.stringify(value);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(value);
  }
  return '"' + value + '"';
}

/** `,"key":value` for a value JSON.stringify would write (`key` given as `,"key":`); nothing for undefined. */
function member(key: string, value: unknown): string {
  const json = jsonValue(value);
  return json === undefined ? '' : key + json;
}

/**
 * The start of a record up to `"seq":`, for the last (run, mode, source) seen: the same for every
 * quote of a replay, so it is built once, not from seven pieces per quote.
 */
let headRun: string | undefined;
let headMode: unknown;
let headSource: unknown;
let headText = '';
/** `headText`'s bytes when it is all ASCII (JSON escapes included): writeAsciiRecord copies them as they are. */
let headBytes: Uint8Array | undefined;

function recordHead(run: string | undefined, mode: unknown, source: unknown): string {
  if (run !== headRun || mode !== headMode || source !== headSource || headText === '') {
    headText = '{"v":' + RECORD_VERSION + member(',"run":', run) + member(',"mode":', mode) + member(',"source":', source);
    const bytes = Buffer.from(headText, 'utf8');
    headBytes = isAscii(bytes) ? bytes : undefined;
    headRun = run;
    headMode = mode;
    headSource = source;
  }
  return headText;
}

export function encodeQuote(quote: Quote, envelope: RecordEnvelope = {}): Uint8Array {
  // Fixed key order keeps records byte-identical for identical quotes (handy when diffing dumps)
  // and puts `run` right after `v`, where recordPrefixForRun expects it. Built as text: exactly
  // JSON.stringify of {v, run, mode, source, seq, ticker, timestamp, arrival, bid, ask,
  // bidAmount, askAmount, latencyMs}, without the intermediate object.
  const head = recordHead(envelope.run, quote.mode, quote.source);
  const plain = headBytes === undefined ? undefined : writeAsciiRecord(headBytes, quote);
  if (plain !== undefined) return plain;
  const text =
    head +
    member(',"seq":', quote.seq) +
    member(',"ticker":', quote.ticker) +
    member(',"timestamp":', quote.timestamp) +
    member(',"arrival":', quote.arrival) +
    member(',"bid":', quote.bid) +
    member(',"ask":', quote.ask) +
    member(',"bidAmount":', quote.bidAmount) +
    member(',"askAmount":', quote.askAmount) +
    member(',"latencyMs":', quote.latencyMs) +
    '}';
  return Buffer.from(text, 'utf8');
}

export interface DecodedQuote {
  quote: Quote;
  /** The quote's timestamp, parsed once for formatting output lines. */
  time: ParsedTimestamp;
}

type Json = Record<string, unknown>;

function requireString(obj: Json, key: string): string {
  const value = obj[key];
  if (typeof value !== 'string' || value === '') throw new RecordDecodeError(`field "${key}" must be a non-empty string`);
  return value;
}

function requireDecimal(obj: Json, key: string, optional: boolean): string | undefined {
  const value = obj[key];
  if (value === undefined && optional) return undefined;
  if (typeof value !== 'string') throw new RecordDecodeError(`field "${key}" must be a decimal string`);
  // Digits with at most one dot (what the replayer writes) are non-negative decimals: no parse.
  if (isPlainDecimal(value)) return value;
  const parsed = parseDecimal(value);
  if (parsed === undefined) throw new RecordDecodeError(`field "${key}" is not a decimal number: "${value}"`);
  if (parsed.units < 0n) throw new RecordDecodeError(`field "${key}" is negative: "${value}"`);
  return value;
}

function requireTime(obj: Json, key: string): ParsedTimestamp {
  const text = requireString(obj, key);
  const parsed = parseTimestamp(text);
  if (typeof parsed === 'string') throw new RecordDecodeError(`field "${key}": ${parsed}`);
  return parsed;
}

/** Decodes and validates one record's data; throws RecordDecodeError with the reason. */
export function decodeQuote(data: Uint8Array): DecodedQuote {
  // A Buffer (the replayer's records, KPL user records) is read as it is: a view made per record
  // only to call toString cost as much as the decoding of a record's text.
  const bytes = data instanceof Buffer ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const text = bytes.toString('utf8');
  // Records as encodeQuote writes them (all of ours): read directly, no JSON object in between.
  return readCanonicalRecord(text) ?? decodeRecordJson(text);
}

/** decodeQuote's general path: any JSON text, parsed with JSON.parse, then checked field by field. */
export function decodeRecordJson(text: string): DecodedQuote {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (error) {
    throw new RecordDecodeError(`not JSON: ${(error as Error).message}`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new RecordDecodeError('not a JSON object');
  const json = obj as Json;
  if (json.v !== RECORD_VERSION) throw new RecordDecodeError(`unsupported record version ${JSON.stringify(json.v)}`);
  const mode = json.mode;
  if (mode !== 'historical' && mode !== 'live') throw new RecordDecodeError(`field "mode" must be "historical" or "live"`);
  const seq = json.seq;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
    throw new RecordDecodeError('field "seq" must be a positive integer');
  }
  const latency = json.latencyMs;
  if (latency !== undefined && (typeof latency !== 'number' || !Number.isFinite(latency) || latency < 0)) {
    throw new RecordDecodeError('field "latencyMs" must be a non-negative number');
  }
  const time = requireTime(json, 'timestamp');
  requireTime(json, 'arrival');
  const quote: Quote = {
    mode: mode,
    source: requireString(json, 'source'),
    seq,
    ticker: requireString(json, 'ticker'),
    timestamp: requireString(json, 'timestamp'),
    arrival: requireString(json, 'arrival'),
    bid: requireDecimal(json, 'bid', false) as string,
    ask: requireDecimal(json, 'ask', false) as string,
  };
  const bidAmount = requireDecimal(json, 'bidAmount', true);
  const askAmount = requireDecimal(json, 'askAmount', true);
  if (bidAmount !== undefined) quote.bidAmount = bidAmount;
  if (askAmount !== undefined) quote.askAmount = askAmount;
  if (latency !== undefined) quote.latencyMs = latency;
  return { quote, time };
}
