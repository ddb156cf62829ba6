import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { field61, field127, MERSENNE_61, PrimeField } from '../../src/math/field.js';
import { assertNoWrap, ceilScaled, FixedPointCodec } from '../../src/math/fixedPoint.js';
import { expectCode } from './helpers.js';

const codecs = [
  new FixedPointCodec({ scale: 2 ** 16, bound: 1000 }),
  new FixedPointCodec({ scale: 1_000_000, bound: 1e6 }),
  new FixedPointCodec({ scale: 1_000_000, bound: 1e9, field: field127 }),
];

describe('FixedPointCodec', () => {
  for (const c of codecs) {
    const value = fc.double({ min: -c.bound, max: c.bound, noNaN: true });
    describe(`scale ${c.scale}, bound ${c.bound}, ${c.field.bits}-bit p`, () => {
      it('round-trips within half a unit', () => {
        fc.assert(
          fc.property(value, (v) => {
            const x = c.encode(v);
            expect(c.field.isElement(x)).toBe(true);
            // Half a unit, plus the float rounding of v·scale and q/scale.
            const slack = 1 / (2 * c.scale) + 4 * Number.EPSILON * Math.abs(v);
            expect(Math.abs(c.decode(x) - v)).toBeLessThanOrEqual(slack);
          }),
        );
      });

      it('negative values map to p − |q| and is symmetric', () => {
        fc.assert(
          fc.property(value, (v) => {
            const q = c.toInteger(v);
            expect(c.encode(v)).toBe(q < 0n ? c.field.p + q : q);
            expect(c.toInteger(-v)).toBe(-q);
          }),
        );
      });

      it('the field sum of encodings decodes to the sum of the rounded values', () => {
        fc.assert(
          fc.property(fc.array(value, { minLength: 1, maxLength: 50 }), (vs) => {
            const sum = c.field.sum(vs.map((v) => c.encode(v)));
            const expected = vs.reduce((acc, v) => acc + BigInt(Math.round(v * c.scale)), 0n);
            // Ties are rounded away from zero by the codec: compare with its own integers.
            const rounded = vs.reduce((acc, v) => acc + c.toInteger(v), 0n);
            expect(c.decodeSumInteger(sum, vs.length)).toBe(rounded);
            expect(Math.abs(Number(rounded - expected))).toBeLessThanOrEqual(vs.length);
          }),
        );
      });
    });
  }

  it('rounds to nearest with ties away from zero', () => {
    const c = new FixedPointCodec({ scale: 10, bound: 100 });
    expect(c.toInteger(0.04)).toBe(0n);
    expect(c.toInteger(0.06)).toBe(1n);
    expect(c.toInteger(0.25)).toBe(3n);
    expect(c.toInteger(-0.25)).toBe(-3n);
    expect(c.encode(-1)).toBe(MERSENNE_61 - 10n);
    expect(c.decode(MERSENNE_61 - 10n)).toBe(-1);
  });

  it('out-of-range values throw FIXED_POINT_OUT_OF_RANGE', () => {
    const c = new FixedPointCodec({ scale: 100, bound: 5 });
    expect(c.toInteger(5)).toBe(500n);
    expect(c.toInteger(-5)).toBe(-500n);
    for (const v of [5.000001, -5.01, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectCode(() => c.encode(v), ErrorCode.FIXED_POINT_OUT_OF_RANGE);
    }
    // A field element that no in-range value (or sum of n) encodes to.
    expectCode(() => c.decode(501n), ErrorCode.FIXED_POINT_OUT_OF_RANGE);
    expectCode(() => c.decode(MERSENNE_61 - 501n), ErrorCode.FIXED_POINT_OUT_OF_RANGE);
    expect(c.decodeSum(1000n, 2)).toBe(10);
    expectCode(() => c.decodeSum(1001n, 2), ErrorCode.FIXED_POINT_OUT_OF_RANGE);
    expectCode(() => c.decode(MERSENNE_61), ErrorCode.VALUE_OUT_OF_FIELD);
  });

  it('rejects bad parameters', () => {
    expectCode(() => new FixedPointCodec({ scale: 0.5, bound: 1 }), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => new FixedPointCodec({ scale: 10, bound: 0 }), ErrorCode.INVALID_ARGUMENT);
    expectCode(
      () => new FixedPointCodec({ scale: 2 ** 30, bound: 2 ** 30 }),
      ErrorCode.INVALID_ARGUMENT,
    );
    const tiny = new PrimeField(101n);
    expectCode(
      () => new FixedPointCodec({ scale: 10, bound: 6, field: tiny }),
      ErrorCode.SUM_MAY_WRAP,
    );
    expect(new FixedPointCodec({ scale: 10, bound: 5, field: tiny }).maxSummands).toBe(1n);
  });

  it('decodeSum refuses an n for which the sum may have wrapped', () => {
    const c = new FixedPointCodec({ scale: 1_000_000, bound: 1e6 });
    expect(c.maxSummands).toBe(field61.halfP / 1_000_000_000_000n);
    expect(() => c.decodeSum(0n, c.maxSummands)).not.toThrow();
    expectCode(() => c.decodeSum(0n, c.maxSummands + 1n), ErrorCode.SUM_MAY_WRAP);
  });
});

describe('assertNoWrap', () => {
  it('accepts exactly up to n · ⌈bound·scale⌉ ≤ (p − 1)/2', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 2 ** 20 }),
        fc.constantFrom(MERSENNE_61, field127.p, 65521n),
        (bound, scale, p) => {
          const unit = BigInt(bound) * BigInt(scale);
          const maxN = (p - 1n) / 2n / unit;
          if (maxN > 0n) assertNoWrap(maxN, bound, scale, p);
          try {
            assertNoWrap(maxN + 1n, bound, scale, p);
            expect.unreachable();
          } catch (e) {
            expect((e as { code: string }).code).toBe(ErrorCode.SUM_MAY_WRAP);
            expect((e as { details: Record<string, unknown> }).details.maxSummands).toBe(
              maxN.toString(),
            );
          }
        },
      ),
    );
  });

  it('uses the exact ceiling of a fractional bound·scale', () => {
    expect(ceilScaled(0.1, 10)).toBe(2n); // 0.1 as a double is slightly above 1/10
    expect(ceilScaled(0.5, 3)).toBe(2n);
    expect(ceilScaled(2.5, 2)).toBe(5n);
    // 5 · ⌈1.5·1⌉ = 10 ≤ (23 − 1)/2 = 11; 6 · 2 = 12 > 11.
    assertNoWrap(5, 1.5, 1, 23n);
    expectCode(() => assertNoWrap(6, 1.5, 1, 23n), ErrorCode.SUM_MAY_WRAP);
    expectCode(() => assertNoWrap(-1, 1, 1, 23n), ErrorCode.INVALID_ARGUMENT);
  });
});
