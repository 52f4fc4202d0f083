import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_BODY_BYTES, parseModeRequest, type ModeRequestResult } from '../../../lib/control/mode-request.ts';
import { mulberry32 as prng } from '../../../data/generate.ts';
import { hostileModeBodies } from '../../support/hostile-bodies.ts';

function rejected(result: ModeRequestResult): Extract<ModeRequestResult, { ok: false }> {
  assert.equal(result.ok, false, `expected a rejection, got ${JSON.stringify(result)}`);
  return result;
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

describe('parseModeRequest', () => {
  describe('accepts exactly the three valid requests', () => {
    const valid: Array<[string, { mode: string; fromStart: boolean }]> = [
      ['{"mode":"live"}', { mode: 'live', fromStart: false }],
      ['{"mode":"historical"}', { mode: 'historical', fromStart: false }],
      ['{"mode":"historical","from":"start"}', { mode: 'historical', fromStart: true }],
      ['{"from":"start","mode":"historical"}', { mode: 'historical', fromStart: true }],
      [' \n\t{ "mode" : "live" }\r\n ', { mode: 'live', fromStart: false }],
      ['{"mode":"\\u006cive"}', { mode: 'live', fromStart: false }],
    ];
    for (const [body, expected] of valid) {
      it(`accepts ${JSON.stringify(body)}`, () => {
        assert.deepEqual(parseModeRequest(body, false), { ok: true, ...expected });
      });
    }

    it('decodes a base64 body (API Gateway binary media types)', () => {
      assert.deepEqual(parseModeRequest(b64('{"mode":"historical","from":"start"}'), true), {
        ok: true,
        mode: 'historical',
        fromStart: true,
      });
    });

    it(`accepts a body of exactly ${MAX_BODY_BYTES} bytes`, () => {
      const core = '{"mode":"live"}';
      const body = core + ' '.repeat(MAX_BODY_BYTES - core.length);
      assert.equal(Buffer.byteLength(body), MAX_BODY_BYTES);
      assert.equal(parseModeRequest(body, false).ok, true);
      assert.equal(parseModeRequest(b64(body), true).ok, true);
    });
  });

  describe('rejects each rule with a specific message', () => {
    const cases: Array<[string, string | null, boolean, 400 | 413, string, RegExp]> = [
      ['a missing body', null, false, 400, 'missing_body', /body is required/],
      ['an empty body', '', false, 400, 'missing_body', /body is empty/],
      ['a blank body', '  \n ', false, 400, 'missing_body', /body is empty/],
      ['invalid JSON', '{"mode":', false, 400, 'invalid_json', /not valid JSON/],
      ['single quotes', "{'mode':'live'}", false, 400, 'invalid_json', /not valid JSON/],
      ['a JSON array', '["live"]', false, 400, 'invalid_body', /must be a JSON object, got an array/],
      ['JSON null', 'null', false, 400, 'invalid_body', /got null/],
      ['a JSON string', '"live"', false, 400, 'invalid_body', /got a string/],
      ['a JSON number', '1', false, 400, 'invalid_body', /got a number/],
      ['an object without mode', '{}', false, 400, 'missing_mode', /"mode" is required/],
      ['mode null', '{"mode":null}', false, 400, 'invalid_mode', /must be a string, got null/],
      ['mode a number', '{"mode":1}', false, 400, 'invalid_mode', /must be a string, got a number/],
      ['mode an array', '{"mode":["live"]}', false, 400, 'invalid_mode', /got an array/],
      ['mode an object', '{"mode":{"live":true}}', false, 400, 'invalid_mode', /got an object/],
      ['an unknown mode', '{"mode":"replay"}', false, 400, 'invalid_mode', /"historical" or "live", got "replay"/],
      ['mode in capitals', '{"mode":"LIVE"}', false, 400, 'invalid_mode', /got "LIVE"/],
      ['mode with spaces', '{"mode":" live"}', false, 400, 'invalid_mode', /got " live"/],
      ['an unknown key', '{"mode":"live","speed":2}', false, 400, 'unknown_field', /unknown field "speed"/],
      ['__proto__', '{"mode":"live","__proto__":{"admin":true}}', false, 400, 'unknown_field', /"__proto__"/],
      ['constructor', '{"mode":"live","constructor":{"prototype":{}}}', false, 400, 'unknown_field', /"constructor"/],
      ['several unknown keys', '{"a":1,"b":2,"c":3,"d":4}', false, 400, 'unknown_field', /unknown fields "a", "b", "c", \.\.\./],
      ['from with live', '{"mode":"live","from":"start"}', false, 400, 'invalid_from', /only allowed with mode "historical"/],
      ['from not a string', '{"mode":"historical","from":true}', false, 400, 'invalid_from', /must be the string "start", got a boolean/],
      ['from null', '{"mode":"historical","from":null}', false, 400, 'invalid_from', /got null/],
      ['from another position', '{"mode":"historical","from":"end"}', false, 400, 'invalid_from', /must be "start", got "end"/],
      ['invalid base64', '@@@@', true, 400, 'invalid_encoding', /not valid base64/],
      ['base64 of invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64'), true, 400, 'invalid_encoding', /UTF-8/],
      ['a body over the limit', `{"mode":"live"}${' '.repeat(MAX_BODY_BYTES)}`, false, 413, 'payload_too_large', /larger than 1024 bytes/],
      ['a body over the limit in bytes, not characters', `{"mode":"${'€'.repeat(400)}"}`, false, 413, 'payload_too_large', /1024/],
      ['a base64 body over the limit', b64(`{"mode":"live"}${' '.repeat(MAX_BODY_BYTES)}`), true, 413, 'payload_too_large', /1024/],
    ];
    for (const [what, body, base64, status, error, message] of cases) {
      it(`rejects ${what} with ${status} ${error}`, () => {
        const result = rejected(parseModeRequest(body, base64));
        assert.equal(result.status, status);
        assert.equal(result.error, error);
        assert.match(result.message, message);
      });
    }

    it('cuts a long echoed value short', () => {
      const result = rejected(parseModeRequest(JSON.stringify({ mode: 'x'.repeat(500) }), false));
      assert.ok(result.message.length < 200, result.message);
    });
  });

  it('rejects a few hundred generated hostile bodies with a 4xx and accepts only valid ones', () => {
    const bodies = hostileModeBodies(prng(20251128));
    assert.ok(bodies.length >= 300, `generated ${bodies.length} bodies`);
    for (const { body, base64 } of bodies) {
      const result = parseModeRequest(body, base64);
      const shown = body === null ? 'null' : JSON.stringify(body.slice(0, 80));
      assert.equal(result.ok, false, `accepted hostile body ${shown}`);
      if (result.ok) continue;
      assert.ok(result.status === 400 || result.status === 413, `status ${result.status} for ${shown}`);
      assert.ok(result.error.length > 0 && result.message.length > 0 && result.message.length < 300, `message for ${shown}`);
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
    assert.equal(({} as Record<string, unknown>).mode, undefined, 'Object.prototype untouched');
  });
});
