/**
 * The KPL aggregated-record format (the one the Kinesis Producer Library, the KCL and the
 * awslabs `aws-kinesis-agg` modules read and write): 4 magic bytes, a protobuf
 *
 *   message AggregatedRecord { repeated string partition_key_table = 1;
 *                              repeated string explicit_hash_key_table = 2;
 *                              repeated Record records = 3; }
 *   message Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
 *                    required bytes data = 3; repeated Tag tags = 4; }
 *
 * then the MD5 of the protobuf bytes. Hand-written (varints and length-delimited fields only)
 * rather than `aws-kinesis-agg`, whose API is callback-based, pins an old protobufjs and ships
 * types that import the v2 `aws-sdk`; test/unit/records/kpl-format.test.ts checks it against bytes
 * that library produced.
 */
import { createHash } from 'node:crypto';
import { TickReplayError } from '../errors.ts';

export const KPL_MAGIC = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);
const DIGEST_BYTES = 16;

export interface UserRecord {
  partitionKey: string;
  explicitHashKey?: string;
  data: Uint8Array;
}

/** An aggregated record that cannot be read: `reason` says why (dead-letter it). */
export class KplFormatError extends TickReplayError {
  constructor(readonly reason: string) {
    super(reason, { reason });
  }
}

/** True when `data` starts with the KPL magic (it may still be corrupt: see `decodeAggregated`). */
export function isAggregated(data: Uint8Array | undefined): boolean {
  return (
    data !== undefined &&
    data.byteLength >= KPL_MAGIC.length &&
    data[0] === KPL_MAGIC[0] &&
    data[1] === KPL_MAGIC[1] &&
    data[2] === KPL_MAGIC[2] &&
    data[3] === KPL_MAGIC[3]
  );
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Protobuf overhead of a length-delimited field with a one-byte tag. */
function fieldSize(length: number): number {
  return 1 + varintSize(length) + length;
}

/**
 * An upper bound of the size of the aggregate of `count` records whose data and partition keys
 * take `entryBytes` together (cheap, for packing): per record at most 12 bytes of protobuf
 * framing (records under 2 MiB, fewer than 2 M keys) plus 3 for its key's table entry (keys are
 * at most 256 bytes), plus the magic and the digest.
 */
export function aggregatedSizeBound(count: number, entryBytes: number): number {
  return KPL_MAGIC.length + DIGEST_BYTES + count * 15 + entryBytes;
}

/** Encodes user records into one aggregated record (magic + protobuf + MD5). */
export function encodeAggregated(records: readonly UserRecord[]): Buffer {
  const pkIndex = new Map<string, number>();
  const ehkIndex = new Map<string, number>();
  const pkTable: Buffer[] = [];
  const ehkTable: Buffer[] = [];
  const recordSizes: number[] = [];
  const indexes: Array<[number, number | undefined]> = [];
  let size = 0;
  /** The key's index in its table, adding it (and its encoded size) on first use. */
  const intern = (key: string, index: Map<string, number>, table: Buffer[]): number => {
    let at = index.get(key);
    if (at === undefined) {
      at = table.length;
      index.set(key, at);
      const bytes = Buffer.from(key, 'utf8');
      table.push(bytes);
      size += fieldSize(bytes.length);
    }
    return at;
  };
  for (const r of records) {
    const pk = intern(r.partitionKey, pkIndex, pkTable);
    const ehk = r.explicitHashKey === undefined ? undefined : intern(r.explicitHashKey, ehkIndex, ehkTable);
    const recordSize = 1 + varintSize(pk) + (ehk === undefined ? 0 : 1 + varintSize(ehk)) + fieldSize(r.data.byteLength);
    recordSizes.push(recordSize);
    indexes.push([pk, ehk]);
    size += fieldSize(recordSize);
  }

  const out = Buffer.allocUnsafe(KPL_MAGIC.length + size + DIGEST_BYTES);
  let at = KPL_MAGIC.copy(out, 0);
  const varint = (value: number): void => {
    while (value >= 0x80) {
      out[at++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    out[at++] = value;
  };
  const bytesField = (tag: number, bytes: Uint8Array): void => {
    out[at++] = tag;
    varint(bytes.byteLength);
    out.set(bytes, at);
    at += bytes.byteLength;
  };
  for (const key of pkTable) bytesField(0x0a, key);
  for (const key of ehkTable) bytesField(0x12, key);
  for (let i = 0; i < records.length; i++) {
    const [pk, ehk] = indexes[i] as [number, number | undefined];
    out[at++] = 0x1a;
    varint(recordSizes[i] as number);
    out[at++] = 0x08;
    varint(pk);
    if (ehk !== undefined) {
      out[at++] = 0x10;
      varint(ehk);
    }
    bytesField(0x1a, (records[i] as UserRecord).data);
  }
  createHash('md5').update(out.subarray(KPL_MAGIC.length, at)).digest().copy(out, at);
  return out;
}

class Reader {
  at: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.at = start;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.at >= this.end) throw new KplFormatError('truncated protobuf varint');
      const byte = this.buf[this.at++] as number;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (!Number.isSafeInteger(value)) throw new KplFormatError('protobuf varint out of range');
        return value;
      }
      scale *= 128;
    }
    throw new KplFormatError('protobuf varint too long');
  }

  bytes(): Buffer {
    const length = this.varint();
    if (length > this.end - this.at) throw new KplFormatError('truncated protobuf field');
    const value = this.buf.subarray(this.at, this.at + length);
    this.at += length;
    return value;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 2) this.bytes();
    else if (wireType === 1 || wireType === 5) {
      const n = wireType === 1 ? 8 : 4;
      if (n > this.end - this.at) throw new KplFormatError('truncated protobuf field');
      this.at += n;
    } else throw new KplFormatError(`unsupported protobuf wire type ${wireType}`);
  }
}

/**
 * Decodes an aggregated record into its user records, in order. Throws KplFormatError when the
 * magic is missing, the MD5 does not match or the protobuf is not a valid AggregatedRecord.
 */
export function decodeAggregated(data: Uint8Array): UserRecord[] {
  if (!isAggregated(data)) throw new KplFormatError('not a KPL aggregated record (no magic)');
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const end = buf.length - DIGEST_BYTES;
  if (end < KPL_MAGIC.length) throw new KplFormatError('KPL aggregated record too short');
  const digest = createHash('md5').update(buf.subarray(KPL_MAGIC.length, end)).digest();
  if (!digest.equals(buf.subarray(end))) throw new KplFormatError('KPL aggregated record: MD5 digest mismatch');

  const pkTable: string[] = [];
  const ehkTable: string[] = [];
  const raw: Array<{ pk: number; ehk: number | undefined; data: Buffer }> = [];
  const reader = new Reader(buf, KPL_MAGIC.length, end);
  while (reader.at < end) {
    const key = reader.varint();
    const field = Math.floor(key / 8);
    const wireType = key & 7;
    if (field >= 1 && field <= 3 && wireType !== 2) throw new KplFormatError(`AggregatedRecord field ${field} has wire type ${wireType}`);
    if (field === 1) pkTable.push(reader.bytes().toString('utf8'));
    else if (field === 2) ehkTable.push(reader.bytes().toString('utf8'));
    else if (field === 3) {
      const body = reader.bytes();
      const inner = new Reader(body, 0, body.length);
      let pk: number | undefined;
      let ehk: number | undefined;
      let payload: Buffer | undefined;
      while (inner.at < body.length) {
        const k = inner.varint();
        const f = Math.floor(k / 8);
        const w = k & 7;
        if ((f === 1 || f === 2) && w !== 0) throw new KplFormatError(`Record field ${f} has wire type ${w}`);
        if (f === 3 && w !== 2) throw new KplFormatError(`Record field 3 has wire type ${w}`);
        if (f === 1) pk = inner.varint();
        else if (f === 2) ehk = inner.varint();
        else if (f === 3) payload = inner.bytes();
        else inner.skip(w);
      }
      if (pk === undefined) throw new KplFormatError('Record without partition_key_index');
      if (payload === undefined) throw new KplFormatError('Record without data');
      raw.push({ pk, ehk, data: payload });
    } else reader.skip(wireType);
  }

  return raw.map((r, i) => {
    const partitionKey = pkTable[r.pk];
    if (partitionKey === undefined) throw new KplFormatError(`record ${i}: partition_key_index ${r.pk} out of range`);
    const record: UserRecord = { partitionKey, data: r.data };
    if (r.ehk !== undefined) {
      const ehk = ehkTable[r.ehk];
      if (ehk === undefined) throw new KplFormatError(`record ${i}: explicit_hash_key_index ${r.ehk} out of range`);
      record.explicitHashKey = ehk;
    }
    return record;
  });
}

/**
 * The data of the first user record of an aggregated record, read without checking the digest
 * or the rest of the protobuf (a cheap peek for filters); undefined when it cannot be read.
 */
export function firstAggregatedData(data: Uint8Array): Buffer | undefined {
  if (!isAggregated(data)) return undefined;
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const end = buf.length - DIGEST_BYTES;
  if (end < KPL_MAGIC.length) return undefined;
  try {
    const reader = new Reader(buf, KPL_MAGIC.length, end);
    while (reader.at < end) {
      const key = reader.varint();
      if (key !== 0x1a) {
        reader.skip(key & 7);
        continue;
      }
      const body = reader.bytes();
      const inner = new Reader(body, 0, body.length);
      while (inner.at < body.length) {
        const k = inner.varint();
        if (k === 0x1a) return inner.bytes();
        inner.skip(k & 7);
      }
      return undefined;
    }
  } catch (error) {
    if (error instanceof KplFormatError) return undefined;
    throw error;
  }
  return undefined;
}
