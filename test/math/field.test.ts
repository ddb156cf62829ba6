import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import {
  field61,
  field127,
  isProbablePrime,
  MERSENNE_61,
  MERSENNE_127,
  PrimeField,
  reduceMersenne,
} from '../../src/math/field.js';
import { seededRandom } from '../../src/math/random.js';
import { expectCode } from './helpers.js';

const small = new PrimeField(65521n);
const fields = [field61, field127, small];
const element = (f: PrimeField) => fc.bigInt({ min: 0n, max: f.p - 1n });

describe('PrimeField', () => {
  it('rejects non-primes and even numbers', () => {
    expectCode(() => new PrimeField(2n ** 61n), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => new PrimeField(15n), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => new PrimeField(2n), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => new PrimeField(561n), ErrorCode.INVALID_ARGUMENT); // Carmichael
    expect(isProbablePrime(MERSENNE_61)).toBe(true);
    expect(isProbablePrime(MERSENNE_127)).toBe(true);
    expect(isProbablePrime((1n << 67n) - 1n)).toBe(false);
  });

  it('assertElement throws VALUE_OUT_OF_FIELD outside [0, p)', () => {
    expectCode(() => field61.assertElement(MERSENNE_61), ErrorCode.VALUE_OUT_OF_FIELD);
    expectCode(() => field61.assertElement(-1n), ErrorCode.VALUE_OUT_OF_FIELD);
    expect(field61.assertElement(MERSENNE_61 - 1n)).toBe(MERSENNE_61 - 1n);
    expect(field61.assertElement(0n)).toBe(0n);
  });

  it('inverse of 0 throws NOT_INVERTIBLE', () => {
    expectCode(() => field61.inv(0n), ErrorCode.NOT_INVERTIBLE);
    expectCode(() => field61.inv(MERSENNE_61), ErrorCode.NOT_INVERTIBLE);
    expectCode(() => field61.div(1n, 0n), ErrorCode.NOT_INVERTIBLE);
  });

  for (const f of fields) {
    describe(`p has ${f.bits} bits`, () => {
      it('x · x^{-1} = 1 and agrees with Fermat', () => {
        fc.assert(
          fc.property(element(f), (x) => {
            fc.pre(x !== 0n);
            const inv = f.inv(x);
            expect(f.mul(x, inv)).toBe(1n);
            expect(inv).toBe(f.pow(x, f.p - 2n));
          }),
        );
      });

      it('ring laws match plain bigint arithmetic', () => {
        fc.assert(
          fc.property(element(f), element(f), (a, b) => {
            const p = f.p;
            const mod = (x: bigint) => ((x % p) + p) % p;
            expect(f.add(a, b)).toBe(mod(a + b));
            expect(f.sub(a, b)).toBe(mod(a - b));
            expect(f.neg(a)).toBe(mod(-a));
            expect(f.mul(a, b)).toBe(mod(a * b));
            expect(f.add(a, f.neg(a))).toBe(0n);
            expect(f.toSigned(a)).toBe(a > (p - 1n) / 2n ? a - p : a);
          }),
        );
      });

      it('sum and the split-limb sumPacked equal the naive % sum', () => {
        fc.assert(
          fc.property(fc.array(element(f), { maxLength: 300 }), (xs) => {
            const naive = xs.reduce((acc, x) => (acc + x) % f.p, 0n);
            expect(f.sum(xs)).toBe(naive);
            const packed = f.pack(xs);
            expect(packed.length).toBe(xs.length * f.limbsPerElement);
            expect(f.sumPacked(packed)).toBe(naive);
            expect(f.unpack(packed)).toEqual(xs);
          }),
        );
      });

      it('sums of the largest elements (worst case for overflow) are exact', () => {
        const xs = new Array<bigint>(5000).fill(f.p - 1n);
        const expected = (5000n * (f.p - 1n)) % f.p;
        expect(f.sum(xs)).toBe(expected);
        expect(f.sumPacked(f.pack(xs))).toBe(expected);
      });

      it('random elements are in range and not constant', () => {
        const rng = seededRandom(`field-${f.bits}`);
        const seen = new Set<bigint>();
        for (let i = 0; i < 200; i++) {
          const x = f.random(rng);
          expect(f.isElement(x)).toBe(true);
          seen.add(x);
        }
        expect(seen.size).toBeGreaterThan(150);
      });
    });
  }

  it('random rejection sampling is unbiased on a tiny field', () => {
    const f = new PrimeField(5n); // 3 bits drawn, 3 of 8 values rejected
    const rng = seededRandom('tiny');
    const counts = [0, 0, 0, 0, 0];
    for (let i = 0; i < 50_000; i++) counts[Number(f.random(rng))]!++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500); // > 5σ
  });

  it('sums past the float64 chunk (2^21 elements) stay exact', () => {
    const n = 2 ** 21 + 5;
    const limbs = new Uint32Array(2 * n).fill(0xffffffff);
    for (let i = 1; i < limbs.length; i += 2) limbs[i] = 0x1ffffffe; // below 2^61 − 1
    const x = (0x1ffffffen << 32n) | 0xffffffffn;
    expect(field61.sumPacked(limbs)).toBe((BigInt(n) * x) % MERSENNE_61);
  });

  it('sum returns the residue of the integer sum for any bigints', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: -(1n << 200n), max: 1n << 200n }), { maxLength: 40 }),
        (xs) => {
          const total = xs.reduce((a, x) => a + x, 0n);
          for (const f of fields) expect(f.sum(xs)).toBe(((total % f.p) + f.p) % f.p);
        },
      ),
    );
  });

  it('pack and sumPacked reject values outside the field', () => {
    expectCode(() => field61.pack([MERSENNE_61]), ErrorCode.VALUE_OUT_OF_FIELD);
    // p itself and 2^64 − 1 smuggled in as raw limbs.
    expectCode(
      () => field61.sumPacked(new Uint32Array([0xffffffff, 0x1fffffff])),
      ErrorCode.VALUE_OUT_OF_FIELD,
    );
    expectCode(
      () => field61.sumPacked(new Uint32Array([0, 0xffffffff])),
      ErrorCode.VALUE_OUT_OF_FIELD,
    );
    expectCode(
      () => field127.sumPacked(new Uint32Array([0, 0, 0, 0x80000000])),
      ErrorCode.VALUE_OUT_OF_FIELD,
    );
    expectCode(() => field61.sumPacked(new Uint32Array(3)), ErrorCode.INVALID_ARGUMENT);
    expectCode(
      () => field61.unpack(new Uint32Array([0xffffffff, 0xffffffff])),
      ErrorCode.VALUE_OUT_OF_FIELD,
    );
  });

  it('reduceMersenne agrees with %', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 130n) - 1n }), (x) => {
        expect(reduceMersenne(x, 61n)).toBe(x % MERSENNE_61);
        expect(reduceMersenne(x, 127n)).toBe(x % MERSENNE_127);
      }),
    );
  });

  it('pow handles edge exponents', () => {
    expect(field61.pow(5n, 0n)).toBe(1n);
    expect(field61.pow(0n, 0n)).toBe(1n);
    expect(field61.pow(3n, MERSENNE_61 - 1n)).toBe(1n);
    expectCode(() => field61.pow(3n, -1n), ErrorCode.INVALID_ARGUMENT);
  });
});
