/**
 * JSON parsed with its numbers kept as the text they were written in. Kraken's WebSocket v2
 * sends prices as JSON numbers (`"bid": 0.10025`); JSON.parse would turn `0.10025` into a binary
 * float, and a price must never pass through one. Strings, objects and arrays come out as
 * JSON.parse makes them; each number is a JsonNumber holding its literal. Strict RFC 8259 syntax,
 * a depth limit, and `__proto__` is an ordinary key (objects have no prototype).
 */
export class JsonNumber {
  constructor(readonly text: string) {}
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | { [key: string]: JsonValue };

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const MAX_DEPTH = 32;

class Parser {
  private i = 0;
  constructor(private readonly text: string) {}

  parse(): JsonValue {
    const value = this.value(0);
    this.space();
    if (this.i !== this.text.length) this.fail('unexpected text after the JSON value');
    return value;
  }

  private fail(what: string): never {
    throw new SyntaxError(`${what} at position ${this.i}`);
  }

  private space(): void {
    const t = this.text;
    while (this.i < t.length) {
      const c = t.charCodeAt(this.i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.i++;
    }
  }

  private value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    this.space();
    const c = this.text[this.i];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    if (this.text.startsWith('true', this.i)) return this.literal(4, true);
    if (this.text.startsWith('false', this.i)) return this.literal(5, false);
    if (this.text.startsWith('null', this.i)) return this.literal(4, null);
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.text);
    if (m === null) this.fail(c === undefined ? 'unexpected end of JSON' : `unexpected ${JSON.stringify(c)}`);
    this.i += m[0].length;
    return new JsonNumber(m[0]);
  }

  private literal<T>(length: number, value: T): T {
    this.i += length;
    return value;
  }

  private string(): string {
    const start = this.i;
    let j = start + 1;
    const t = this.text;
    while (j < t.length && t[j] !== '"') j += t[j] === '\\' ? 2 : 1;
    if (j >= t.length) this.fail('unterminated string');
    this.i = j + 1;
    // JSON.parse of the literal alone: escapes and control characters judged by the engine's rules.
    return JSON.parse(t.slice(start, j + 1)) as string;
  }

  private array(depth: number): JsonValue[] {
    this.i++;
    const out: JsonValue[] = [];
    this.space();
    if (this.text[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1));
      this.space();
      const c = this.text[this.i++];
      if (c === ']') return out;
      if (c !== ',') this.fail('expected , or ] in an array');
    }
  }

  private object(depth: number): { [key: string]: JsonValue } {
    this.i++;
    const out = Object.create(null) as { [key: string]: JsonValue };
    this.space();
    if (this.text[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.space();
      if (this.text[this.i] !== '"') this.fail('expected a string key');
      const key = this.string();
      this.space();
      if (this.text[this.i++] !== ':') this.fail('expected : after a key');
      out[key] = this.value(depth + 1);
      this.space();
      const c = this.text[this.i++];
      if (c === '}') return out;
      if (c !== ',') this.fail('expected , or } in an object');
    }
  }
}

/** Parses `text`; throws SyntaxError with the position of the problem. */
export function parseJsonText(text: string): JsonValue {
  return new Parser(text).parse();
}

export type JsonObject = { [key: string]: JsonValue };

export function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof JsonNumber);
}

/** A decimal given as a string or a JSON number, as its text; undefined when it is neither. */
export function decimalText(value: JsonValue | undefined): string | undefined {
  if (typeof value === 'string') return value.trim();
  if (value instanceof JsonNumber) return value.text;
  return undefined;
}
