import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DisorderGate, MAX_UNCONFIRMED_JUMP_US } from '../../../lib/replay/disorder-gate.ts';

const S = 1_000_000;
const T0 = Date.UTC(2025, 0, 1) * 1000;

/** The gate's verdicts for timestamps (seconds after T0), in decision order: `t` or `!t`. */
function verdicts(seconds: number[], maxDisorderS = 60): string[] {
  const out: string[] = [];
  const gate = new DisorderGate<{ timestampUs: number; s: number }>(maxDisorderS * S, (row, rejected) => out.push(rejected === undefined ? `${row.s}` : `!${row.s}`));
  for (const s of seconds) gate.offer({ timestampUs: T0 + s * S, s });
  gate.finish();
  return out;
}

describe('DisorderGate (--max-disorder)', () => {
  it('passes rows within the bound, in file order, even when they step back', () => {
    assert.deepEqual(verdicts([0, 5, 3, 10, -40, 11]), ['0', '5', '3', '10', '-40', '11']);
  });

  it('rejects a row further behind the latest accepted timestamp than the bound (a row dated 1700)', () => {
    const y1700 = (Date.UTC(1700, 0, 1) * 1000 - T0) / S;
    assert.deepEqual(verdicts([0, 1, y1700, 2, -61, 3]), ['0', '1', `!${y1700}`, '2', '!-61', '3']);
  });

  it('rejects a row far ahead when the next row is back in the old window (a row dated 2250)', () => {
    const y2250 = (Date.UTC(2250, 0, 1) * 1000 - T0) / S;
    assert.deepEqual(verdicts([0, 1, y2250, 2, 3]), ['0', '1', `!${y2250}`, '2', '3']);
  });

  it('accepts a real gap: the row after the jump confirms it', () => {
    assert.deepEqual(verdicts([0, 1, 3_600, 3_601, 3_602]), ['0', '1', '3600', '3601', '3602']);
  });

  it('catches an outlier in the first row too', () => {
    const y2250 = (Date.UTC(2250, 0, 1) * 1000 - T0) / S;
    assert.deepEqual(verdicts([y2250, 0, 1, 2]), [`!${y2250}`, '0', '1', '2']);
  });

  it('keeps a last row after a gap of up to a day, and rejects one further ahead', () => {
    assert.deepEqual(verdicts([0, 1, 7_200]), ['0', '1', '7200']);
    const far = MAX_UNCONFIRMED_JUMP_US / S + 10;
    assert.deepEqual(verdicts([0, 1, far]), ['0', '1', `!${far}`]);
  });

  it('says why, in words', () => {
    const reasons: string[] = [];
    const gate = new DisorderGate<{ timestampUs: number }>(60 * S, (_row, rejected) => rejected !== undefined && reasons.push(rejected));
    for (const us of [T0, T0 + S, Date.UTC(1700, 0, 1) * 1000]) gate.offer({ timestampUs: us });
    gate.finish();
    assert.match(reasons[0] ?? '', /^timestamp 1700-01-01T00:00:00\.000Z is 325 years behind the latest before it \(more than --max-disorder 60 s\)$/);
  });

  it('restarts from a resume point with the latest timestamp before it, deciding as before', () => {
    const all = verdicts([0, 1, -70, 2]);
    const out: string[] = [];
    const gate = new DisorderGate<{ timestampUs: number; s: number }>(60 * S, (row, r) => out.push(r === undefined ? `${row.s}` : `!${row.s}`), T0 + S);
    for (const s of [-70, 2]) gate.offer({ timestampUs: T0 + s * S, s });
    gate.finish();
    assert.deepEqual(out, all.slice(2));
  });
});
