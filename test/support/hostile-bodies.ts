/**
 * Hostile bodies for the mode API (POST /mode): wrong types, extra and prototype keys, broken and
 * non-object JSON, oversize, random Unicode, bad base64. None of them is a valid request. `rounds`
 * repeats the randomised families (each round draws new values): 1 gives about 330 bodies.
 */
import { MAX_BODY_BYTES } from '../../lib/control/mode-request.ts';

export interface HostileBody {
  body: string | null;
  base64: boolean;
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

export function hostileModeBodies(random: () => number, rounds = 1): HostileBody[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const oddValues: unknown[] = [
    null, true, false, 0, -1, 1e308, 'LIVE', 'Live', 'historical ', ' historical', 'live\u0000', 'hist',
    'historicaI', 'lіve' /* Cyrillic і */, '', [], ['live'], {}, { mode: 'live' }, 'start', 'START', 'Start',
  ];
  const keys = ['__proto__', 'constructor', 'prototype', 'Mode', 'MODE', 'mode ', 'from ', 'From', 'toString', 'hasOwnProperty', 'x', ''];
  const bodies: HostileBody[] = [];
  const add = (body: string | null, base64 = false): void => {
    bodies.push({ body, base64 });
  };

  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < 80; i++) add(JSON.stringify({ mode: pick(oddValues) }));
    for (let i = 0; i < 60; i++) {
      const mode = pick(['historical', 'live'] as const);
      add(JSON.stringify({ mode, [pick(keys)]: pick(oddValues) }));
    }
    for (let i = 0; i < 40; i++) add(JSON.stringify({ mode: 'historical', from: pick(oddValues.filter((v) => v !== 'start')) }));
    for (let i = 0; i < 20; i++) add(JSON.stringify({ mode: 'live', from: pick(oddValues) }));
    for (let i = 0; i < 30; i++) {
      const size = MAX_BODY_BYTES + 1 + Math.floor(random() * 5000);
      add(`{"mode":"live","pad":"${'a'.repeat(size)}"}`);
      add(`{"mode":"live"}${' '.repeat(size)}`);
    }
    for (let i = 0; i < 40; i++) {
      const raw = Array.from({ length: 1 + Math.floor(random() * 60) }, () => String.fromCharCode(Math.floor(random() * 0x3000))).join('');
      add(raw);
    }
  }
  for (const key of ['__proto__', 'constructor', 'prototype']) {
    add(`{"mode":"live","${key}":{"mode":"historical","polluted":true}}`);
    add(`{"${key}":{"mode":"live"}}`);
    add(`{"mode":"historical","from":"start","${key}":null}`);
  }
  const broken = ['{', '}', '{"mode":"live"', '{"mode":"live",}', '{mode:"live"}', '{"mode":live}', 'NaN', 'undefined',
    '{"mode":"live"} {"mode":"live"}', '\uFEFF{"mode":"live"}', '// c\n{"mode":"live"}', '{"mode":"live"/*c*/}', '\u0000', 'live'];
  for (const body of broken) add(body);
  for (const top of ['[]', '[{"mode":"live"}]', '"live"', '42', 'true', 'false', 'null', '0.5', '-0']) add(top);
  add('x'.repeat(10 * 1024 * 1024));
  add(`{"mode":"${'€'.repeat(350)}"}`);
  for (const body of ['{"mode":"live","x":1}', '[]', '{"mode":"LIVE"}', `{"mode":"live","p":"${'a'.repeat(2000)}"}`]) add(b64(body), true);
  for (const body of ['!!!!', 'e30', 'e30===', '{"mode":"live"}']) add(body, true);
  add(null);
  add('');
  return bodies;
}
