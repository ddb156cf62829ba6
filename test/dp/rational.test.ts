import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addRational,
  compareRational,
  describeRationalLike,
  divRational,
  floorRational,
  formatRational,
  mulRational,
  rational,
  rationalFromDecimal,
  rationalFromNumber,
  rationalToNumber,
  subRational,
  toRational,
} from '../../src/dp/rational.js';
import { ErrorCode } from '../../src/errors.js';

const r = (n: number | bigint, d: number | bigint = 1) => rational(n, d);

function expectCode(fn: () => unknown, code: string): void {
  expect(fn).toThrowError(expect.objectContaining({ code }));
}

describe('Rational', () => {
  it('is kept in lowest terms with a positive denominator', () => {
    expect(r(6, -4)).toEqual({ num: -3n, den: 2n });
    expect(r(0, 7)).toEqual({ num: 0n, den: 1n });
  });

  it('reads decimals and fractions exactly', () => {
    expect(rationalFromDecimal('0.1')).toEqual(r(1, 10));
    expect(rationalFromDecimal('-2.5e-3')).toEqual(r(-1, 400));
    expect(rationalFromDecimal('1e+21')).toEqual(r(10n ** 21n));
    expect(rationalFromDecimal('.5')).toEqual(r(1, 2));
    expect(rationalFromDecimal('3.')).toEqual(r(3));
    expect(rationalFromDecimal(' 6 / 8 ')).toEqual(r(3, 4));
    expect(rationalFromDecimal('-7/21')).toEqual(r(-1, 3));
  });

  it('reads numbers as typed, or exactly in binary on request', () => {
    expect(toRational(0.1)).toEqual(r(1, 10));
    expect(toRational(3)).toEqual(r(3));
    expect(toRational(5n)).toEqual(r(5));
    expect(rationalFromNumber(0.1)).toEqual(r(3602879701896397n, 2n ** 55n));
    expect(rationalFromNumber(-0.75)).toEqual(r(-3, 4));
    expect(rationalFromNumber(2 ** 60)).toEqual(r(2n ** 60n));
    expect(rationalFromNumber(5e-324)).toEqual(r(1n, 2n ** 1074n));
  });

  it('has exact arithmetic: 0.1 added ten times is 1', () => {
    let s = r(0);
    for (let i = 0; i < 10; i++) s = addRational(s, toRational(0.1));
    expect(s).toEqual(r(1));
    expect(subRational(r(1, 2), r(1, 3))).toEqual(r(1, 6));
    expect(mulRational(r(2, 3), r(9, 4))).toEqual(r(3, 2));
    expect(divRational(r(2, 3), r(4, 9))).toEqual(r(3, 2));
    expect(floorRational(r(-7, 2))).toBe(-4n);
    expect(floorRational(r(7, 2))).toBe(3n);
    expect(floorRational(r(-4, 2))).toBe(-2n);
    expect(compareRational(r(1, 3), r(2, 6))).toBe(0);
    expect(rationalToNumber(r(1, 3))).toBe(1 / 3);
    expect(rationalToNumber({ num: 10n ** 400n, den: 3n * 10n ** 399n })).toBeCloseTo(10 / 3, 12);
    expect(formatRational(r(-3, 4))).toBe('-3/4');
    expect(describeRationalLike(r(5))).toBe('5');
  });

  it('round-trips every double exactly through rationalFromNumber', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const q = rationalFromNumber(x);
        // Subnormals (below 2^−1022) go through a second rounding in toNumber: display only.
        if (Math.abs(x) >= 2 ** -1022 || x === 0) expect(rationalToNumber(q)).toBe(x === 0 ? 0 : x);
        else expect(rationalToNumber(q) / x).toBeCloseTo(1, 10);
        expect(rationalFromDecimal(formatRational(q))).toEqual(q);
      }),
    );
  });

  it('reads String(x) of every double back to x', () => {
    fc.assert(
      fc.property(
        fc
          .double({ noNaN: true, noDefaultInfinity: true, min: -1e300, max: 1e300 })
          .filter((x) => x === 0 || Math.abs(x) > 1e-300),
        (x) => {
          expect(rationalToNumber(toRational(x))).toBe(x === 0 ? 0 : x);
        },
      ),
    );
  });

  it('rejects malformed input with INVALID_ARGUMENT', () => {
    for (const bad of ['', '.', 'abc', '1/0', '0x10', '1e99999', '1.2.3', '--1']) {
      expectCode(() => rationalFromDecimal(bad), ErrorCode.INVALID_ARGUMENT);
    }
    expectCode(() => toRational(Number.NaN), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => toRational(Number.POSITIVE_INFINITY), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => toRational({ num: 1n, den: 0n }), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => toRational({} as never), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => rational(1, 0), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => rational(0.5), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => rational(1, 0.5), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => rationalFromNumber(Number.NaN), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => divRational(r(1), r(0)), ErrorCode.INVALID_ARGUMENT);
  });
});
