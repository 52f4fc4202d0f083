/**
 * Validation of a `POST /mode` body, as a pure function (no I/O, no exceptions):
 *
 *   {"mode": "live"}  {"mode": "historical"}  {"mode": "historical", "from": "start"}
 *
 * Strict: at most {@link MAX_BODY_BYTES} bytes of UTF-8 JSON, a plain object with no key other
 * than `mode` and `from`. `JSON.parse` turns `"__proto__"` into an own key (it never touches the
 * prototype), so it is rejected like any other unknown key; nothing here reads a property that is
 * not an own, known key. Every rejection says what was wrong in one line.
 */
import { isMode, type Mode } from './control-store.ts';

export const MAX_BODY_BYTES = 1024;

export type ModeRequestError = { ok: false; status: 400 | 413; error: string; message: string };
export type ModeRequestResult = { ok: true; mode: Mode; fromStart: boolean } | ModeRequestError;

const ALLOWED_KEYS = new Set(['mode', 'from']);
const USAGE = 'expected {"mode": "historical" | "live"} with optional "from": "start" for historical';
/** Longest base64 text that can decode to MAX_BODY_BYTES (padding included). */
const MAX_BASE64_CHARS = 4 * Math.ceil(MAX_BODY_BYTES / 3);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function reject(status: 400 | 413, error: string, message: string): ModeRequestError {
  return { ok: false, status, error, message };
}

/** A value for an error message: JSON, cut short, so a hostile body cannot flood the logs. */
function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function tooLarge(): ModeRequestError {
  return reject(413, 'payload_too_large', `request body is larger than ${MAX_BODY_BYTES} bytes`);
}

/** The body as text, or the reason it cannot be one. */
function bodyText(body: string, isBase64Encoded: boolean): string | ModeRequestError {
  if (!isBase64Encoded) {
    // A string's UTF-8 size is at least its length in UTF-16 units: no need to measure a huge one.
    if (body.length > MAX_BODY_BYTES || Buffer.byteLength(body, 'utf8') > MAX_BODY_BYTES) return tooLarge();
    return body;
  }
  if (body.length > MAX_BASE64_CHARS) return tooLarge();
  if (!BASE64.test(body)) return reject(400, 'invalid_encoding', 'request body is marked base64 but is not valid base64');
  const bytes = Buffer.from(body, 'base64');
  if (bytes.length > MAX_BODY_BYTES) return tooLarge();
  try {
    return utf8.decode(bytes);
  } catch {
    return reject(400, 'invalid_encoding', 'request body is not valid UTF-8');
  }
}

export function parseModeRequest(body: string | null, isBase64Encoded: boolean): ModeRequestResult {
  if (body === null) return reject(400, 'missing_body', `request body is required: ${USAGE}`);
  if (typeof body !== 'string') return reject(400, 'invalid_body', `request body must be text: ${USAGE}`);
  const text = bodyText(body, isBase64Encoded);
  if (typeof text !== 'string') return text;
  if (text.trim() === '') return reject(400, 'missing_body', `request body is empty: ${USAGE}`);

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return reject(400, 'invalid_json', `request body is not valid JSON: ${USAGE}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return reject(400, 'invalid_body', `request body must be a JSON object, got ${typeName(value)}: ${USAGE}`);
  }

  const keys = Object.keys(value);
  const unknown = keys.filter((key) => !ALLOWED_KEYS.has(key));
  if (unknown.length > 0) {
    const names = unknown.slice(0, 3).map(show).join(', ') + (unknown.length > 3 ? ', ...' : '');
    return reject(400, 'unknown_field', `unknown field${unknown.length > 1 ? 's' : ''} ${names}: only "mode" and "from" are allowed`);
  }

  // Only own keys from here on (a plain-object lookup could reach Object.prototype).
  const fields = new Map<string, unknown>(Object.entries(value));
  if (!fields.has('mode')) return reject(400, 'missing_mode', `field "mode" is required: ${USAGE}`);
  const mode = fields.get('mode');
  if (typeof mode !== 'string') return reject(400, 'invalid_mode', `field "mode" must be a string, got ${typeName(mode)}`);
  if (!isMode(mode)) return reject(400, 'invalid_mode', `field "mode" must be "historical" or "live", got ${show(mode)}`);

  if (!fields.has('from')) return { ok: true, mode, fromStart: false };
  const from = fields.get('from');
  if (mode !== 'historical') {
    return reject(400, 'invalid_from', 'field "from" is only allowed with mode "historical" (live always starts now)');
  }
  if (typeof from !== 'string') return reject(400, 'invalid_from', `field "from" must be the string "start", got ${typeName(from)}`);
  if (from !== 'start') return reject(400, 'invalid_from', `field "from" must be "start", got ${show(from)}`);
  return { ok: true, mode, fromStart: true };
}
