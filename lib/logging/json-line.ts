/**
 * Turns a log entry into one line of valid JSON, whatever the context holds. Pure and total: it
 * never throws (a logger that throws turns a logged failure into a crash).
 *
 * Errors are written the way Powertools' `LogFormatter.formatError` writes them (name, location,
 * message, stack, cause, then the error's other enumerable keys: our errors' `context`, an AWS SDK
 * error's `$fault` and `$metadata` with `requestId` and `httpStatusCode`, Node's `code`, `errno`,
 * `syscall`), so one log pipeline reads the CLI's lines and the Lambda handlers' alike. Where
 * Powertools would loop or grow without bound, this does not: the cause chain stops at a depth
 * limit, a cycle is written as "[Circular]", long strings and arrays are cut, and a line that is
 * still too big is replaced by one that says so.
 */

export const LIMITS = {
  /** Errors in one cause chain (the first included). */
  causeDepth: 8,
  /** Nesting of plain objects and arrays below a context key. */
  objectDepth: 8,
  /** Characters of one string value (a stack counts as one). */
  stringChars: 8_192,
  /** Items of one array (or keys of one object). */
  items: 100,
  /** Characters of a whole line; past this only the fixed fields and a note are kept. */
  lineChars: 256 * 1024,
} as const;

export const CIRCULAR = '[Circular]';

/**
 * Keys of an error never copied: the raw HTTP response an AWS SDK error may carry holds the
 * socket and an unread body stream; what a reader needs from it is in `$metadata`.
 */
const SKIPPED_ERROR_KEYS: ReadonlySet<string> = new Set(['name', 'message', 'stack', 'cause', '$response']);

/** The first `file:line` of a stack, as Powertools' `getCodeLocation` finds it. */
export function codeLocation(stack: string | undefined): string {
  if (stack === undefined) return '';
  for (const line of stack.split('\n')) {
    const match = /\(([^()]*?):(\d+?):(\d+?)\)\\?$/.exec(line);
    if (match !== null) return `${match[1]}:${Number(match[2])}`;
  }
  return '';
}

function cut(text: string): string {
  return text.length <= LIMITS.stringChars ? text : `${text.slice(0, LIMITS.stringChars)}…(+${text.length - LIMITS.stringChars} chars)`;
}

function unreadable(error: unknown): string {
  try {
    return `[unserialisable: ${error instanceof Error ? error.message : String(error)}]`;
  } catch {
    return '[unserialisable]';
  }
}

/** The walk's state: the containers on the path from the root (cycles), and the errors' depth. */
interface Path {
  readonly ancestors: object[];
  readonly causeDepth: number;
}

/** Reads one property; a getter that throws gives a note instead of an exception. */
function read(object: object, key: string): unknown {
  try {
    return (object as Record<string, unknown>)[key];
  } catch (error) {
    return unreadable(error);
  }
}

function formatErrorAt(error: Error, path: Path): Record<string, unknown> {
  const rawStack = read(error, 'stack');
  const stack = typeof rawStack === 'string' ? rawStack : undefined;
  const out: Record<string, unknown> = {
    name: toJsonValue(read(error, 'name'), path, 0),
    location: codeLocation(stack),
    message: toJsonValue(read(error, 'message'), path, 0),
    stack: stack === undefined ? undefined : cut(stack),
  };
  const inner: Path = { ancestors: [...path.ancestors, error], causeDepth: path.causeDepth + 1 };
  if ('cause' in error) {
    const cause = read(error, 'cause');
    out.cause =
      cause instanceof Error && inner.causeDepth >= LIMITS.causeDepth
        ? `[cause chain cut at ${LIMITS.causeDepth} errors]`
        : toJsonValue(cause, inner, 0);
  }
  // AggregateError keeps its errors in a non-enumerable own property (Node's connect errors do).
  if (error instanceof AggregateError) out.errors = toJsonValue(read(error, 'errors'), inner, 0);
  // for…in like Powertools: own and inherited enumerable keys (a class field such as `context`).
  for (const key in error) {
    if (SKIPPED_ERROR_KEYS.has(key) || key in out) continue;
    const value = toJsonValue(read(error, key), inner, 0);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** An Error as Powertools' `formatError` writes it, bounded and cycle-safe. */
export function formatError(error: Error): Record<string, unknown> {
  try {
    return formatErrorAt(error, { ancestors: [], causeDepth: 0 });
  } catch (failure) {
    return { name: 'Error', message: unreadable(failure) };
  }
}

/**
 * A JSON-safe copy of `value`: errors formatted, BigInt as a decimal string (as Powertools does),
 * binary data as its size, `toJSON` honoured (Date, URL), functions and symbols dropped (as
 * `JSON.stringify` does), cycles and excess marked. Undefined means "leave the key out".
 */
function toJsonValue(value: unknown, path: Path, depth: number): unknown {
  switch (typeof value) {
    case 'string':
      return cut(value);
    case 'number':
      // JSON has no NaN or Infinity; a string says what it was instead of a silent null.
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return null;
  const object = value as object;
  if (path.ancestors.includes(object)) return CIRCULAR;
  if (object instanceof Error) return formatErrorAt(object, path);
  if (ArrayBuffer.isView(object)) return `[${object.constructor.name} ${object.byteLength} bytes]`;
  if (object instanceof ArrayBuffer) return `[ArrayBuffer ${object.byteLength} bytes]`;
  const toJSON = read(object, 'toJSON');
  if (typeof toJSON === 'function') {
    try {
      return toJsonValue((toJSON as () => unknown).call(object), path, depth);
    } catch (error) {
      return unreadable(error);
    }
  }
  if (depth >= LIMITS.objectDepth) return Array.isArray(object) ? '[Array]' : '[Object]';
  const inner: Path = { ancestors: [...path.ancestors, object], causeDepth: path.causeDepth };
  if (Array.isArray(object) || object instanceof Set) {
    const all: unknown[] = Array.isArray(object) ? object : [...(object as Set<unknown>)];
    const items = all.slice(0, LIMITS.items).map((item) => toJsonValue(item, inner, depth + 1) ?? null);
    if (all.length > LIMITS.items) items.push(`…(+${all.length - LIMITS.items} items)`);
    return items;
  }
  const map = object instanceof Map ? (object as Map<unknown, unknown>) : undefined;
  const keys = map === undefined ? Object.keys(object) : [...map.keys()];
  const out: Record<string, unknown> = {};
  for (const key of keys.slice(0, LIMITS.items)) {
    const json = toJsonValue(map === undefined ? read(object, key as string) : map.get(key), inner, depth + 1);
    if (json !== undefined) out[String(key)] = json;
  }
  if (keys.length > LIMITS.items) out['…'] = `+${keys.length - LIMITS.items} keys`;
  return out;
}

/** A JSON-safe copy of any value (see `toJsonValue`); never throws. */
export function toLogValue(value: unknown): unknown {
  try {
    return toJsonValue(value, { ancestors: [], causeDepth: 0 }, 0);
  } catch (error) {
    return unreadable(error);
  }
}

/**
 * One JSON line: `fixed` keys first (timestamp, level, service, message), then the `contexts` in
 * order (a later one's key replaces an earlier one's). A context key never overwrites a fixed one:
 * a colliding key is kept as `context.<key>`.
 */
export function jsonLine(fixed: Record<string, unknown>, ...contexts: ReadonlyArray<Record<string, unknown> | undefined>): string {
  const entry: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fixed)) entry[key] = toLogValue(value);
  try {
    for (const context of contexts) {
      if (context === undefined) continue;
      for (const key of Object.keys(context)) {
        const value = toLogValue(read(context, key));
        const at = key in fixed ? `context.${key}` : key;
        if (value === undefined) delete entry[at];
        else entry[at] = value;
      }
    }
  } catch (error) {
    entry.logError = unreadable(error);
  }
  let line = JSON.stringify(entry);
  if (line.length > LIMITS.lineChars) {
    const kept: Record<string, unknown> = {};
    for (const key of Object.keys(fixed)) kept[key] = entry[key];
    kept.truncated = `the context made a ${line.length}-character line; over ${LIMITS.lineChars} only these fields are kept`;
    line = JSON.stringify(kept);
  }
  return line;
}
