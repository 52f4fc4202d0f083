import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatIsoTimestamp, formatLogTimestamp, parseTimestamp } from '../../../lib/quotes/timestamp.ts';
import type { ParsedTimestamp, Precision } from '../../../lib/quotes/timestamp.ts';
import { seededRandom } from '../../support/seeded-random.ts';

/** 2025-01-01T00:00:00Z in epoch µs, written out so the tests do not share the code's arithmetic. */
const NEW_YEAR_2025_US = 1_735_689_600_000_000;

function parsed(text: string): ParsedTimestamp {
  const result = parseTimestamp(text);
  if (typeof result === 'string') assert.fail(`expected ${text} to parse, got: ${result}`);
  return result;
}

function reason(text: string): string {
  const result = parseTimestamp(text);
  if (typeof result !== 'string') assert.fail(`expected ${text} to be rejected, got ${JSON.stringify(result)}`);
  return result;
}

describe('parseTimestamp: date and time text', () => {
  it('reads a naive "YYYY-MM-DD HH:MM:SS.mmm" as UTC with ms precision', () => {
    assert.deepEqual(parseTimestamp('2025-01-01 00:00:00.120'), { micros: NEW_YEAR_2025_US + 120_000, precision: 3 });
  });

  it('reads a time without fraction as ms precision', () => {
    assert.deepEqual(parseTimestamp('2025-01-01 10:20:30'), {
      micros: NEW_YEAR_2025_US + (10 * 3600 + 20 * 60 + 30) * 1_000_000,
      precision: 3,
    });
  });

  it('reads one or two fraction digits as tenths and hundredths', () => {
    assert.deepEqual(parseTimestamp('2025-01-01 00:00:00.1'), { micros: NEW_YEAR_2025_US + 100_000, precision: 3 });
    assert.deepEqual(parseTimestamp('2025-01-01 00:00:00.25'), { micros: NEW_YEAR_2025_US + 250_000, precision: 3 });
  });

  it('keeps microsecond precision', () => {
    assert.deepEqual(parseTimestamp('2025-01-01 00:00:00.123456'), { micros: NEW_YEAR_2025_US + 123_456, precision: 6 });
    assert.deepEqual(parseTimestamp('2025-01-01 00:00:00.1234'), { micros: NEW_YEAR_2025_US + 123_400, precision: 6 });
  });

  it('keeps 7 to 9 fraction digits as nanoseconds within the microsecond', () => {
    assert.deepEqual(parseTimestamp('2025-01-01 00:00:00.1234567'), { micros: NEW_YEAR_2025_US + 123_456, precision: 9, nanos: 700 });
    assert.deepEqual(parseTimestamp('2025-01-01 00:00:00.999999999'), { micros: NEW_YEAR_2025_US + 999_999, precision: 9, nanos: 999 });
    assert.deepEqual(parseTimestamp('2025-01-01T00:00:00.000000001Z'), { micros: NEW_YEAR_2025_US, precision: 9, nanos: 1 });
  });

  it('rejects more than 9 fraction digits', () => {
    assert.match(reason('2025-01-01 00:00:00.1234567890'), /10 fraction digits; at most 9/);
  });

  it('reads ISO 8601 with T and Z', () => {
    assert.deepEqual(parseTimestamp('2025-01-01T00:00:00.120Z'), { micros: NEW_YEAR_2025_US + 120_000, precision: 3 });
    assert.deepEqual(parseTimestamp('2025-01-01T00:00:00Z'), { micros: NEW_YEAR_2025_US, precision: 3 });
  });

  it('reads ISO 8601 without a zone as UTC', () => {
    assert.equal(parsed('2025-01-01T00:00:00.5').micros, NEW_YEAR_2025_US + 500_000);
  });

  it('converts offsets to UTC', () => {
    assert.equal(parsed('2025-01-01T01:00:00+01:00').micros, NEW_YEAR_2025_US);
    assert.equal(parsed('2025-01-01T01:00:00+0100').micros, NEW_YEAR_2025_US);
    assert.equal(parsed('2024-12-31T18:30:00-05:30').micros, NEW_YEAR_2025_US);
    assert.equal(parsed('2025-01-01T00:00:00+00:00').micros, NEW_YEAR_2025_US);
    assert.equal(parsed('2025-01-01 05:45:00.000123+05:45').micros, NEW_YEAR_2025_US + 123);
  });

  it('moves across midnight and year end when converting an offset', () => {
    assert.equal(formatIsoTimestamp(parsed('2025-01-01T00:30:00.250+01:00').micros, 3), '2024-12-31T23:30:00.250Z');
  });

  it('reads an hour-only offset', () => {
    assert.deepEqual(parseTimestamp('2025-01-01T05:00:00+05'), { micros: NEW_YEAR_2025_US, precision: 3 });
    assert.deepEqual(parseTimestamp('2024-12-31T21:00:00.250-03'), { micros: NEW_YEAR_2025_US + 250_000, precision: 3 });
    assert.equal(parsed('2025-01-01 00:00:00.000001+00').micros, NEW_YEAR_2025_US + 1);
  });

  it('reads a time without seconds as second 0 with ms precision', () => {
    assert.deepEqual(parseTimestamp('2025-01-01T00:00Z'), { micros: NEW_YEAR_2025_US, precision: 3 });
    assert.deepEqual(parseTimestamp('2025-01-01T01:00+01:00'), { micros: NEW_YEAR_2025_US, precision: 3 });
    assert.deepEqual(parseTimestamp('2025-01-01 00:00'), { micros: NEW_YEAR_2025_US, precision: 3 });
    assert.deepEqual(parseTimestamp('2025-01-01T10:20'), { micros: NEW_YEAR_2025_US + (10 * 3600 + 20 * 60) * 1_000_000, precision: 3 });
    assert.equal(parsed('2025-01-01T01:00+0100').micros, NEW_YEAR_2025_US);
    assert.equal(parsed('2024-12-31T21:00-03').micros, NEW_YEAR_2025_US);
  });

  it('still validates a time without seconds', () => {
    assert.match(reason('2025-01-01T24:00Z'), /^invalid time/);
    assert.match(reason('2025-01-01T00:60'), /^invalid time/);
    assert.match(reason('2025-02-30T00:00Z'), /^invalid date/);
    assert.match(reason('2025-01-01T00:00+24'), /invalid UTC offset/);
  });

  it('rejects offsets beyond 23:59', () => {
    assert.match(reason('2025-01-01T00:00:00+24:00'), /invalid UTC offset/);
    assert.match(reason('2025-01-01T00:00:00+01:60'), /invalid UTC offset/);
    assert.match(reason('2025-01-01T00:00:00+24'), /invalid UTC offset/);
  });

  it('ignores surrounding whitespace', () => {
    assert.equal(parsed('  2025-01-01 00:00:00 ').micros, NEW_YEAR_2025_US);
  });

  it('accepts a valid leap day', () => {
    assert.equal(formatIsoTimestamp(parsed('2024-02-29 12:00:00').micros, 3), '2024-02-29T12:00:00.000Z');
    assert.equal(typeof parseTimestamp('2000-02-29 00:00:00'), 'object');
  });

  it('rejects a leap day in a common year', () => {
    assert.match(reason('2023-02-29 00:00:00'), /^invalid date "2023-02-29 00:00:00"/);
    assert.match(reason('1900-02-29 00:00:00'), /^invalid date/);
  });

  it('rejects days that do not exist instead of rolling over', () => {
    assert.match(reason('2025-02-30 00:00:00'), /^invalid date "2025-02-30 00:00:00"/);
    assert.match(reason('2025-04-31 00:00:00'), /^invalid date/);
    assert.match(reason('2025-01-00 00:00:00'), /^invalid date/);
    assert.match(reason('2025-13-01 00:00:00'), /^invalid date .*month 13/);
    assert.match(reason('2025-00-01 00:00:00'), /^invalid date/);
  });

  it('rejects hours, minutes and seconds out of range (no leap second)', () => {
    assert.match(reason('2025-01-01 24:00:00'), /^invalid time/);
    assert.match(reason('2025-01-01 00:60:00'), /^invalid time/);
    assert.match(reason('2025-01-01 00:00:60'), /^invalid time/);
  });

  it('names unsupported formats', () => {
    assert.equal(reason('01/02/2025 10:00'), 'unsupported timestamp format "01/02/2025 10:00"');
    assert.match(reason('2025-01-01'), /^unsupported timestamp format/);
    assert.match(reason('2025-1-1 00:00:00'), /^unsupported timestamp format/);
    assert.match(reason('2025-01-01 00:00:00.'), /^unsupported timestamp format/);
    assert.match(reason('2025-01-01 10'), /^unsupported timestamp format/);
    assert.match(reason('2025-01-01T10:00.5'), /^unsupported timestamp format/);
    assert.match(reason('2025-01-01T10:00:00+5'), /^unsupported timestamp format/);
    assert.match(reason('2025-01-01T10:00:00+053'), /^unsupported timestamp format/);
    assert.match(reason('2025-01-01T10:00:00+05:'), /^unsupported timestamp format/);
    assert.match(reason('yesterday'), /^unsupported timestamp format/);
    assert.match(reason('-1735689600'), /^unsupported timestamp format/);
  });

  it('says so when the timestamp is empty', () => {
    assert.equal(reason(''), 'timestamp is empty');
    assert.equal(reason('   '), 'timestamp is empty');
  });

  it('rejects dates outside the exactly representable range', () => {
    assert.match(reason('2300-01-01 00:00:00'), /out of the supported range/);
    assert.match(reason('0999-01-01 00:00:00'), /out of the supported range/);
    assert.match(reason('0050-01-01 00:00:00'), /out of the supported range/);
  });

  it('accepts dates before 1970', () => {
    assert.deepEqual(parseTimestamp('1969-12-31T23:59:59.999Z'), { micros: -1000, precision: 3 });
  });
});

describe('parseTimestamp: epoch numbers', () => {
  it('reads 9 to 11 integer digits as seconds', () => {
    assert.deepEqual(parseTimestamp('1735689600'), { micros: NEW_YEAR_2025_US, precision: 3 });
    assert.deepEqual(parseTimestamp('100000000'), { micros: 100_000_000_000_000, precision: 3 });
  });

  it('refuses 8 digits or fewer: 20250101 is a date, not a time in 1970', () => {
    assert.match(reason('20250101'), /"20250101" is not an epoch timestamp: epoch numbers have at least 9 integer digits/);
    assert.match(reason('0'), /not an epoch timestamp/);
    assert.match(reason('99999999.5'), /not an epoch timestamp/);
    assert.match(reason('000020250101'), /not an epoch timestamp/);
  });

  it('reads 12 to 14 digits as milliseconds', () => {
    assert.deepEqual(parseTimestamp('1735689600120'), { micros: NEW_YEAR_2025_US + 120_000, precision: 3 });
  });

  it('reads 15 to 17 digits as microseconds', () => {
    assert.deepEqual(parseTimestamp('1735689600123456'), { micros: NEW_YEAR_2025_US + 123_456, precision: 6 });
  });

  it('reads 18 to 20 digits as nanoseconds', () => {
    assert.deepEqual(parseTimestamp('1735689600123456789'), { micros: NEW_YEAR_2025_US + 123_456, precision: 9, nanos: 789 });
    assert.deepEqual(parseTimestamp('1735689600000000001'), { micros: NEW_YEAR_2025_US, precision: 9, nanos: 1 });
  });

  it('ignores leading zeros when choosing the unit', () => {
    assert.deepEqual(parseTimestamp('0001735689600'), { micros: NEW_YEAR_2025_US, precision: 3 });
  });

  it('reads decimal seconds and milliseconds at their precision', () => {
    assert.deepEqual(parseTimestamp('1735689600.5'), { micros: NEW_YEAR_2025_US + 500_000, precision: 3 });
    assert.deepEqual(parseTimestamp('1735689600.123456'), { micros: NEW_YEAR_2025_US + 123_456, precision: 6 });
    assert.deepEqual(parseTimestamp('1735689600123.456'), { micros: NEW_YEAR_2025_US + 123_456, precision: 6 });
    assert.deepEqual(parseTimestamp('1735689600123456.7'), { micros: NEW_YEAR_2025_US + 123_456, precision: 9, nanos: 700 });
  });

  it('rejects epochs finer than nanoseconds or longer than 20 digits', () => {
    assert.match(reason('1735689600123456789.1'), /finer than nanoseconds/);
    assert.match(reason('1735689600.1234567891'), /finer than nanoseconds/);
    assert.match(reason('173568960012345678901'), /more than 20 digits/);
  });

  it('rejects epochs outside the exactly representable range', () => {
    assert.match(reason('99999999999'), /out of the supported range/);
  });
});

describe('formatIsoTimestamp and formatLogTimestamp', () => {
  it('prints ms precision with 3 fraction digits', () => {
    assert.equal(formatIsoTimestamp(NEW_YEAR_2025_US + 120_000, 3), '2025-01-01T00:00:00.120Z');
    assert.equal(formatLogTimestamp(NEW_YEAR_2025_US + 120_000, 3), '2025-01-01 00:00:00.120');
  });

  it('prints µs precision with 6 fraction digits', () => {
    assert.equal(formatIsoTimestamp(NEW_YEAR_2025_US + 123_456, 6), '2025-01-01T00:00:00.123456Z');
    assert.equal(formatLogTimestamp(NEW_YEAR_2025_US + 7, 6), '2025-01-01 00:00:00.000007');
  });

  it('truncates sub-millisecond digits at ms precision', () => {
    assert.equal(formatIsoTimestamp(NEW_YEAR_2025_US + 123_999, 3), '2025-01-01T00:00:00.123Z');
  });

  it('prints the last microsecond of a day and the first of the next', () => {
    assert.equal(formatIsoTimestamp(NEW_YEAR_2025_US - 1, 6), '2024-12-31T23:59:59.999999Z');
    assert.equal(formatIsoTimestamp(NEW_YEAR_2025_US, 6), '2025-01-01T00:00:00.000000Z');
    assert.equal(formatIsoTimestamp(NEW_YEAR_2025_US - 1, 6), '2024-12-31T23:59:59.999999Z');
  });

  it('prints what Date prints to the ms, then the µs and ns digits, for runs inside one second and jumps between seconds alike', () => {
    // The formatter reuses the last second's text for times inside it; runs of nearby times
    // (the common case), jumps across seconds, days and 1970, and both separators interleaved.
    const random = seededRandom(17);
    const pad3 = (n: number): string => String(n).padStart(3, '0');
    const reference = (micros: number, precision: Precision, nanos: number): string => {
      const subMs = ((micros % 1000) + 1000) % 1000;
      const iso = new Date((micros - subMs) / 1000).toISOString();
      const fraction = precision === 3 ? '' : precision === 6 ? pad3(subMs) : pad3(subMs) + pad3(nanos);
      return iso.slice(0, 23) + fraction;
    };
    const starts = [NEW_YEAR_2025_US, NEW_YEAR_2025_US - 1, 0, -1, -86_400_000_000, 9_007_199_254_000_000, -9_007_199_254_000_000];
    let micros = NEW_YEAR_2025_US;
    for (let i = 0; i < 50_000; i++) {
      const step = random();
      if (step < 0.02) micros = starts[Math.floor(random() * starts.length)] as number;
      else if (step < 0.05) micros -= Math.floor(random() * 3_000_000);
      else micros += Math.floor(random() * (step < 0.5 ? 1_000 : 300_000));
      const precision = ([3, 6, 9] as const)[Math.floor(random() * 3)] as Precision;
      const nanos = precision === 9 ? Math.floor(random() * 1000) : 0;
      const expected = reference(micros, precision, nanos);
      assert.equal(formatLogTimestamp(micros, precision, nanos), expected.replace('T', ' '), `${micros}/${precision}`);
      assert.equal(formatIsoTimestamp(micros, precision, nanos), expected + 'Z', `${micros}/${precision}`);
    }
  });

  it('keeps pre-1970 fractions positive', () => {
    assert.equal(formatIsoTimestamp(-1000, 6), '1969-12-31T23:59:59.999000Z');
    assert.equal(formatIsoTimestamp(-1, 6), '1969-12-31T23:59:59.999999Z');
    assert.equal(formatLogTimestamp(-1000, 3), '1969-12-31 23:59:59.999');
    assert.equal(formatIsoTimestamp(-86_400_000_000, 3), '1969-12-31T00:00:00.000Z');
  });

  it('round-trips through parseTimestamp with the same micros and precision', () => {
    const samples = [
      0, -1, -1000, -999_999, 1, 999, 1_000, NEW_YEAR_2025_US, NEW_YEAR_2025_US - 1, NEW_YEAR_2025_US + 86_399_999_999,
      951_782_400_000_000 /* 2000-02-29 */, -2_208_988_800_000_000 /* 1900-01-01 */, 9_007_199_254_740_991 /* 2^53 - 1 */,
      -9_007_199_254_740_000 /* the earliest whole ms */,
    ];
    for (const micros of samples) {
      for (const precision of [3, 6] as Precision[]) {
        const expected = precision === 3 ? micros - (((micros % 1000) + 1000) % 1000) : micros;
        assert.deepEqual(parseTimestamp(formatIsoTimestamp(micros, precision)), { micros: expected, precision }, `${micros}/${precision}`);
        assert.deepEqual(parseTimestamp(formatLogTimestamp(micros, precision)), { micros: expected, precision }, `${micros}/${precision}`);
      }
    }
  });

  it('round-trips times written without seconds or with an hour-only offset', () => {
    for (const text of ['2025-01-01T00:00Z', '2025-01-01 00:00', '2025-01-01T00:00+01:00', '2025-06-30T23:59-03', '2025-01-01T00:00:00.123456+05']) {
      const first = parsed(text);
      assert.deepEqual(parseTimestamp(formatIsoTimestamp(first.micros, first.precision)), first, text);
      assert.deepEqual(parseTimestamp(formatLogTimestamp(first.micros, first.precision)), first, text);
    }
    assert.equal(formatIsoTimestamp(parsed('2025-01-01T00:00+01:00').micros, 3), '2024-12-31T23:00:00.000Z');
    assert.equal(formatIsoTimestamp(parsed('2025-01-01T00:00:00.123456+05').micros, 6), '2024-12-31T19:00:00.123456Z');
  });
});

describe('parseTimestamp: the cached-second path', () => {
  it('gives what the general path gives, results and errors alike', () => {
    // A leading space keeps a text off the cached path (it is trimmed there): both paths, same text.
    const seconds = ['2025-01-02 14:30:00', '2025-01-02T14:30:59', '2024-02-29t23:59:59', '2025-02-29 10:00:00', '2025-01-02 24:00:00', '0999-01-01 00:00:00', '2255-06-05 23:59:59', '2025-01-02 14:30+05'];
    const tails = ['', 'Z', 'z', '.1', '.123', '.123456Z', '.123456789', '.1234567890', '.', '.Z', '.12a', 'ZZ', '+01:00', '.5+01:00', ' '];
    for (let round = 0; round < 2; round++) {
      for (const second of seconds) {
        for (const tail of tails) {
          const text = second + tail;
          assert.deepEqual(parseTimestamp(text), parseTimestamp(' ' + text), JSON.stringify(text));
        }
      }
    }
  });
});

describe('parseTimestamp: the per-second cache against the general path', () => {
  it('parses every cached shape exactly as the general path does (a leading space forces that path)', () => {
    const random = seededRandom(7);
    const seconds = ['2025-01-02 14:30:00', '2025-01-02T14:30:00', '1969-12-31 23:59:59', '2024-02-29T23:59:59', '2025-01-02 14:30:01'];
    for (let i = 0; i < 20_000; i++) {
      const digits = Math.floor(random() * 11);
      const fraction = Array.from({ length: digits }, () => String(Math.floor(random() * 10))).join('');
      const zone = ['', 'Z', 'z'][Math.floor(random() * 3)] as string;
      const text = (seconds[Math.floor(random() * seconds.length)] as string) + (random() < 0.1 && digits === 0 ? '' : '.' + fraction) + zone;
      assert.deepEqual(parseTimestamp(text), parseTimestamp(' ' + text), text);
    }
  });
});

describe('formatIsoTimestamp and formatLogTimestamp: the per-second text cache', () => {
  it('formats runs of nearby times (cache hits) and jumps (misses) exactly as Date does', () => {
    const random = seededRandom(11);
    let micros = Date.UTC(1969, 11, 31, 23, 59, 58) * 1000;
    for (let i = 0; i < 20_000; i++) {
      micros += random() < 0.01 ? Math.floor((random() - 0.5) * 1e15) : Math.floor(random() * 3000);
      const ms = Math.floor(micros / 1000);
      const sub = String(((micros % 1000) + 1000) % 1000).padStart(3, '0');
      const iso = new Date(ms).toISOString();
      assert.equal(formatIsoTimestamp(micros, 3), iso);
      assert.equal(formatIsoTimestamp(micros, 6), iso.slice(0, -1) + sub + 'Z');
      assert.equal(formatLogTimestamp(micros, 6), iso.slice(0, 10) + ' ' + iso.slice(11, -1) + sub);
    }
  });
});
