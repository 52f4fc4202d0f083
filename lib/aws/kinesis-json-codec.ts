/**
 * The Kinesis client's JSON protocol with blobs (a record's `Data`) converted to and from base64
 * by Node's native codec instead of smithy's JavaScript.
 *
 * smithy's JSON serializer writes base64 one byte at a time in JavaScript, and its deserializer
 * checks every base64 string with a regular expression before decoding it. For aggregated records
 * (≈ 46 KB each, every quote's bytes go through both) those two loops were ≈ 10 % of the replayer
 * process's CPU in a profile of the benchmark's aggregation-on variant. Everything else is the
 * SDK's own code (AwsJson1_1Protocol, JsonCodec2), and the results are the same bytes and values:
 * test/unit/aws/kinesis-json-codec.test.ts runs requests and answers through a client with the
 * default protocol and one with this one and compares them.
 */
import { AwsJson1_1Protocol } from '@aws-sdk/core/protocols';
import { JsonCodec2, JsonShapeDeserializer2, JsonShapeSerializer2, type JsonSettings } from '@smithy/core/protocols';
import { NormalizedSchema } from '@smithy/core/schema';
import { fromBase64 } from '@smithy/core/serde';
import type { Schema, ShapeDeserializer, ShapeSerializer } from '@smithy/types';

const QUOTE = 0x22;

/**
 * `fromBase64` of smithy (the same bytes, the same errors), fast for canonical base64 (what every
 * AWS service and emulator sends): when re-encoding the decoded bytes gives back the text, the
 * text is padded base64 of the alphabet smithy's check accepts, and smithy would decode it to
 * these bytes. Anything else (bad characters, missing padding, non-zero padding bits) goes to
 * smithy's function, which decides.
 */
export function decodeBase64(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) return fromBase64(text);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The serializer's output buffer and position: class fields that its type declares private. */
interface SerializerState {
  json: unknown;
  i: unknown;
}

class NativeBase64Serializer extends JsonShapeSerializer2 {
  /** Quoted base64 of `data` at the serializer's position, written by Node's encoder. */
  protected override writeBase64(data: Uint8Array): void {
    const state = this as unknown as SerializerState;
    const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
    this.ensure(text.length + 2);
    // A later smithy may keep its buffer elsewhere: then its own writer does the work.
    if (!(state.json instanceof Uint8Array) || typeof state.i !== 'number') {
      super.writeBase64(data);
      return;
    }
    const out = Buffer.from(state.json.buffer, state.json.byteOffset, state.json.byteLength);
    let at = state.i;
    out[at++] = QUOTE;
    at += out.write(text, at, 'latin1');
    out[at++] = QUOTE;
    state.i = at;
  }
}

class NativeBase64Deserializer extends JsonShapeDeserializer2 {
  protected override _read(schema: Schema, value: unknown): unknown {
    // smithy's own rule for blobs (a string under a blob schema is base64), with the faster decoder.
    if (typeof value === 'string' && NormalizedSchema.of(schema).isBlobSchema()) return decodeBase64(value);
    return super._read(schema, value) as unknown;
  }
}

class NativeBase64JsonCodec extends JsonCodec2 {
  override createSerializer(): ShapeSerializer<Uint8Array> {
    const serializer = new NativeBase64Serializer(this.settings);
    if (this.serdeContext !== undefined) serializer.setSerdeContext(this.serdeContext);
    return serializer;
  }

  override createDeserializer(): ShapeDeserializer<string> {
    const deserializer = new NativeBase64Deserializer(this.settings);
    if (this.serdeContext !== undefined) deserializer.setSerdeContext(this.serdeContext);
    return deserializer;
  }
}

/** The settings AwsJson1_1Protocol gives its default JsonCodec2 (the test holds the two together). */
const AWS_JSON_SETTINGS: JsonSettings = { timestampFormat: { useTrait: true, default: 7 }, jsonName: false };

/** Give it to KinesisClient as `protocol` (the client constructs it with its own settings). */
export class KinesisJsonProtocol extends AwsJson1_1Protocol {
  constructor(settings: ConstructorParameters<typeof AwsJson1_1Protocol>[0]) {
    super({ ...settings, jsonCodec: new NativeBase64JsonCodec(AWS_JSON_SETTINGS) });
  }
}
