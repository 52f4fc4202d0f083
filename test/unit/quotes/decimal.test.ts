import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  bigIntMidPrice,
  compareCanonical,
  isPlainDecimal,
  compareDecimal,
  formatDecimal,
  isNegative,
  midPrice,
  normaliseDecimalString,
  parseDecimal,
} from '../../../lib/quotes/decimal.ts';
import { seededRandom } from '../../support/seeded-random.ts';
import type { Decimal } from '../../../lib/quotes/decimal.ts';

function dec(text: string): Decimal {
  const value = parseDecimal(text);
  assert.ok(value !== undefined, `expected ${text} to parse`);
  return value;
}

describe('parseDecimal', () => {
  it('reads integers, fractions and the shorthand forms .5 and 12.', () => {
    assert.deepEqual(parseDecimal('12'), { units: 12n, scale: 0 });
    assert.deepEqual(parseDecimal('12.5'), { units: 125n, scale: 1 });
    assert.deepEqual(parseDecimal('.5'), { units: 5n, scale: 1 });
    assert.deepEqual(parseDecimal('12.'), { units: 12n, scale: 0 });
    assert.deepEqual(parseDecimal('0.000'), { units: 0n, scale: 3 });
  });

  it('reads an optional sign', () => {
    assert.deepEqual(parseDecimal('-3.25'), { units: -325n, scale: 2 });
    assert.deepEqual(parseDecimal('+7'), { units: 7n, scale: 0 });
    assert.deepEqual(parseDecimal('-.5'), { units: -5n, scale: 1 });
  });

  it('reads exponents in either case and either sign', () => {
    assert.deepEqual(parseDecimal('1.5e3'), { units: 1500n, scale: 0 });
    assert.deepEqual(parseDecimal('2E-2'), { units: 2n, scale: 2 });
    assert.deepEqual(parseDecimal('1.25e+1'), { units: 125n, scale: 1 });
    assert.deepEqual(parseDecimal('-4e0'), { units: -4n, scale: 0 });
  });

  it('ignores surrounding whitespace', () => {
    assert.deepEqual(parseDecimal('  42.1 \t'), { units: 421n, scale: 1 });
  });

  it('keeps every digit of long prices (no float on the way)', () => {
    assert.deepEqual(parseDecimal('123456789012345678901234567890.123456789'), {
      units: 123456789012345678901234567890123456789n,
      scale: 9,
    });
  });

  for (const text of ['', '   ', 'NaN', 'Infinity', '-Infinity', '1,5', '0x10', '1.2.3', '.', '-', '+', 'e5', '1e', '1e+', '1 2', '12a', '1_000', '١٢', '１２', '--1', '1e1001', '1e-1001']) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.equal(parseDecimal(text), undefined);
    });
  }

  it('accepts exponents up to ±1000', () => {
    assert.equal(parseDecimal('1e1000')?.units, 10n ** 1000n);
    assert.deepEqual(parseDecimal('1e-1000'), { units: 1n, scale: 1000 });
  });
});

describe('formatDecimal', () => {
  it('prints without exponent and without trailing fraction zeros or dot', () => {
    assert.equal(formatDecimal({ units: 1500n, scale: 3 }), '1.5');
    assert.equal(formatDecimal({ units: 1200n, scale: 2 }), '12');
    assert.equal(formatDecimal({ units: 100n, scale: 0 }), '100');
    assert.equal(formatDecimal({ units: 5n, scale: 3 }), '0.005');
    assert.equal(formatDecimal({ units: -5n, scale: 3 }), '-0.005');
  });

  it('prints zero in any scale as 0, never -0', () => {
    assert.equal(formatDecimal({ units: 0n, scale: 3 }), '0');
    assert.equal(formatDecimal({ units: -0n, scale: 0 }), '0');
    assert.equal(formatDecimal(dec('-0.000')), '0');
  });

  it('handles a negative scale as trailing zeros', () => {
    assert.equal(formatDecimal({ units: 5n, scale: -2 }), '500');
  });
});

describe('normaliseDecimalString', () => {
  const cases: [string, string][] = [
    ['001.2300', '1.23'],
    ['-0012.50', '-12.5'],
    ['+3', '3'],
    ['0.0', '0'],
    ['-0.000', '0'],
    ['-0', '0'],
    ['.5', '0.5'],
    ['12.', '12'],
    ['1.5e3', '1500'],
    ['1e-3', '0.001'],
    ['12.345e-1', '1.2345'],
    ['0.00e5', '0'],
    [' 100.0700 ', '100.07'],
  ];
  for (const [input, expected] of cases) {
    it(`stores ${JSON.stringify(input)} as ${JSON.stringify(expected)}`, () => {
      assert.equal(normaliseDecimalString(input), expected);
    });
  }

  it('returns undefined for text that is not a decimal', () => {
    assert.equal(normaliseDecimalString('abc'), undefined);
    assert.equal(normaliseDecimalString('1,5'), undefined);
  });

  it('agrees with parse + format', () => {
    for (const text of ['0.1', '-7.250', '3e2', '000', '.0001', '9.99e-5']) {
      assert.equal(normaliseDecimalString(text), formatDecimal(dec(text)), text);
    }
  });
});

describe('midPrice', () => {
  it('prints the exact mid of 0.1 and 0.2 as 0.15', () => {
    assert.equal(midPrice('0.1', '0.2'), '0.15');
  });

  it('adds a digit when the sum is odd in the last place', () => {
    assert.equal(midPrice('100.07', '100.08'), '100.075');
    assert.equal(midPrice('200', '201'), '200.5');
  });

  it('prints a whole mid without a fraction', () => {
    assert.equal(midPrice('100', '100'), '100');
    assert.equal(midPrice('99.5', '100.5'), '100');
  });

  it('works across different scales and notations', () => {
    assert.equal(midPrice('0.1', '0.25'), '0.175');
    assert.equal(midPrice('1e2', '1'), '50.5');
    assert.equal(midPrice('1.10', '1.2'), '1.15');
  });

  it('is exact for many prices where doubles are not', () => {
    for (let i = 1; i <= 500; i++) {
      const bid = `${i}.${String((i * 37) % 1000).padStart(3, '0')}`;
      const ask = `${i + 1}.${String((i * 91) % 100).padStart(2, '0')}`;
      const mid = dec(midPrice(bid, ask));
      // 2 × mid == bid + ask, checked in integers at a common scale of 10.
      const at10 = (d: Decimal): bigint => d.units * 10n ** BigInt(10 - d.scale);
      assert.equal(2n * at10(mid), at10(dec(bid)) + at10(dec(ask)), `${bid} ${ask}`);
    }
  });

  it('throws a TypeError naming the side that is not a decimal', () => {
    assert.throws(() => midPrice('abc', '1'), { name: 'TypeError', message: /bid "abc" is not a decimal number/ });
    assert.throws(() => midPrice('1', ''), { name: 'TypeError', message: /ask "" is not a decimal number/ });
  });
});

describe('compareDecimal and isNegative', () => {
  it('compares values, not spellings', () => {
    assert.equal(compareDecimal(dec('1.50'), dec('1.5')), 0);
    assert.equal(compareDecimal(dec('2'), dec('10')), -1);
    assert.equal(compareDecimal(dec('10'), dec('9.999')), 1);
    assert.equal(compareDecimal(dec('-1'), dec('0')), -1);
    assert.equal(compareDecimal(dec('1e3'), dec('999.9999')), 1);
  });

  it('treats -0 as not negative', () => {
    assert.equal(isNegative(dec('-0')), false);
    assert.equal(isNegative(dec('-0.01')), true);
    assert.equal(isNegative(dec('0.01')), false);
  });
});

describe('plain decimals (the path without the regex)', () => {
  it('give what the general path gives for the same text', () => {
    // A leading space keeps a text off the plain path (it is trimmed there): both paths, same text.
    const texts = ['0', '00', '7', '12.', '.5', '0.0', '000.000', '100.25', '1.50', '.', '..', '1..2', '1.2.3', '', '123456789012345678901234567890.123'];
    for (let i = 0; i < 300; i++) texts.push(String(Math.floor(Math.random() * 1e6) / 10 ** Math.floor(Math.random() * 6)));
    for (const text of texts) {
      assert.deepEqual(parseDecimal(text), parseDecimal(' ' + text), JSON.stringify(text));
      assert.equal(normaliseDecimalString(text), normaliseDecimalString(' ' + text), JSON.stringify(text));
    }
  });
});

describe('isPlainDecimal', () => {
  it('accepts exactly the non-negative decimals written with digits and at most one dot', () => {
    for (const text of ['0', '12', '1.5', '.5', '2.', '0.000']) assert.equal(isPlainDecimal(text), true, text);
    for (const text of ['', '.', '-1', '+1', '1e3', ' 1', '1 ', '1.2.3', '1,5', '١']) assert.equal(isPlainDecimal(text), false, text);
  });
});

describe('compareCanonical', () => {
  it('orders canonical non-negative decimals exactly as compareDecimal does', () => {
    const texts = ['0', '0.5', '0.05', '0.50001', '1', '1.5', '1.05', '9', '10', '10.1', '99.99', '100', '100.25', '1000000000000000.000000000001'];
    for (let i = 0; i < 200; i++) texts.push(normaliseDecimalString(String(Math.floor(Math.random() * 1e7) / 10 ** Math.floor(Math.random() * 8))) as string);
    for (const a of texts) {
      for (const b of texts) {
        assert.equal(compareCanonical(a, b), compareDecimal(parseDecimal(a) as Decimal, parseDecimal(b) as Decimal), `${a} vs ${b}`);
      }
    }
  });
});

describe('midPrice on plain decimals (integer doubles, no BigInt)', () => {
  /** A plain decimal of up to `maxInt` integer and `maxFrac` fraction digits, leading/trailing zeros and bare dots included. */
  function plainDecimal(random: () => number, maxInt: number, maxFrac: number): string {
    const digits = (n: number): string => Array.from({ length: n }, () => String(Math.floor(random() * 10))).join('');
    const int = digits(Math.floor(random() * (maxInt + 1)));
    const frac = digits(Math.floor(random() * (maxFrac + 1)));
    const shape = random();
    if (shape < 0.1) return int.length > 0 ? int : '0';
    if (shape < 0.15) return (int.length > 0 ? int : '1') + '.';
    return (int.length > 0 || frac.length > 0 ? int : '0') + '.' + (frac.length > 0 || int.length > 0 ? frac : '5');
  }

  it('gives exactly the BigInt result for random values of every length around the double limit', () => {
    const random = seededRandom(3);
    for (let i = 0; i < 50_000; i++) {
      const bid = plainDecimal(random, 1 + Math.floor(random() * 16), Math.floor(random() * 12));
      const ask = random() < 0.3 ? bid : plainDecimal(random, 1 + Math.floor(random() * 16), Math.floor(random() * 12));
      assert.equal(midPrice(bid, ask), bigIntMidPrice(bid, ask), `${bid} / ${ask}`);
    }
  });

  it('gives exactly the BigInt result at the edges: zeros, odd sums, the largest exact units, beyond them', () => {
    const edges = ['0', '0.0', '.1', '1.', '0.2', '0.3', '1', '3', '00012.3400', '99999999999999', '99999999999999.9', '9999999999999.9', '0.00000000000001', '0.000000000000001', '1.0000000000001', '9007199254740993', '123456789012345678901234567890.5'];
    for (const bid of edges) {
      for (const ask of edges) assert.equal(midPrice(bid, ask), bigIntMidPrice(bid, ask), `${bid} / ${ask}`);
    }
    assert.equal(midPrice('99999999999999', '99999999999999'), '99999999999999');
    assert.equal(midPrice('99999999999999', '99999999999998'), '99999999999998.5');
  });
});

describe('normaliseDecimalString on text already canonical', () => {
  it('returns what the BigInt round trip gives, for every text of up to 5 characters from 0, 1, 5, 9 and the dot', () => {
    const alphabet = ['0', '1', '5', '9', '.'];
    const texts: string[] = [''];
    for (let length = 1; length <= 5; length++) {
      for (const prefix of texts.filter((t) => t.length === length - 1)) for (const c of alphabet) texts.push(prefix + c);
    }
    for (const text of texts) {
      const parsed = parseDecimal(text);
      assert.equal(normaliseDecimalString(text), parsed === undefined ? undefined : formatDecimal(parsed), JSON.stringify(text));
    }
  });
});
