import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { field61, field127, PrimeField } from '../../src/math/field.js';
import {
  batchInverse,
  interpolateAt,
  LagrangeAtZero,
  lagrangeCoefficients,
} from '../../src/math/lagrange.js';
import { solveLinearSystem } from '../../src/math/linearAlgebra.js';
import {
  addPolynomials,
  degree,
  dividePolynomials,
  evaluatePolynomial,
  multiplyPolynomials,
  subtractPolynomials,
} from '../../src/math/polynomial.js';
import { expectCode } from './helpers.js';

const poly = (f: PrimeField, maxLength = 6) =>
  fc.array(fc.bigInt({ min: 0n, max: f.p - 1n }), { maxLength });

describe('polynomials', () => {
  for (const f of [field61, field127]) {
    it(`evaluation is a ring homomorphism (${f.bits} bits)`, () => {
      fc.assert(
        fc.property(poly(f), poly(f), fc.bigInt({ min: 0n, max: f.p - 1n }), (a, b, x) => {
          const ea = evaluatePolynomial(f, a, x);
          const eb = evaluatePolynomial(f, b, x);
          expect(evaluatePolynomial(f, addPolynomials(f, a, b), x)).toBe(f.add(ea, eb));
          expect(evaluatePolynomial(f, subtractPolynomials(f, a, b), x)).toBe(f.sub(ea, eb));
          expect(evaluatePolynomial(f, multiplyPolynomials(f, a, b), x)).toBe(f.mul(ea, eb));
        }),
      );
    });

    it(`division: a = q·b + r, deg r < deg b (${f.bits} bits)`, () => {
      fc.assert(
        fc.property(poly(f, 8), poly(f, 4), (a, b) => {
          fc.pre(degree(b) >= 0);
          const { quotient, remainder } = dividePolynomials(f, a, b);
          expect(degree(remainder)).toBeLessThan(degree(b));
          expect(addPolynomials(f, multiplyPolynomials(f, quotient, b), remainder)).toEqual(
            addPolynomials(f, a, []),
          );
        }),
      );
    });
  }

  it('division by the zero polynomial throws NOT_INVERTIBLE', () => {
    expectCode(() => dividePolynomials(field61, [1n, 2n], [0n]), ErrorCode.NOT_INVERTIBLE);
  });
});

describe('Lagrange', () => {
  it('interpolates any polynomial of degree < k at any point', () => {
    fc.assert(
      fc.property(
        poly(field61, 8).filter((a) => a.length > 0),
        fc.uniqueArray(fc.bigInt({ min: 0n, max: field61.p - 1n }), { minLength: 8, maxLength: 8 }),
        fc.bigInt({ min: 0n, max: field61.p - 1n }),
        (a, xs, at) => {
          const pts = xs.slice(0, a.length);
          const ys = pts.map((x) => evaluatePolynomial(field61, a, x));
          expect(interpolateAt(field61, pts, ys, at)).toBe(evaluatePolynomial(field61, a, at));
          if (!pts.includes(0n)) {
            expect(new LagrangeAtZero(field61, pts).combine(ys)).toBe(a[0]);
          }
        },
      ),
    );
  });

  it('rejects repeated x-coordinates and mismatched lengths', () => {
    expectCode(
      () => lagrangeCoefficients(field61, [1n, 2n, 1n], 0n),
      ErrorCode.DUPLICATE_SHARE_INDEX,
    );
    expectCode(() => interpolateAt(field61, [1n, 2n], [1n], 0n), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => lagrangeCoefficients(field61, [], 0n), ErrorCode.INVALID_ARGUMENT);
  });

  it('batchInverse inverts each element', () => {
    const xs = [1n, 2n, 3n, field61.p - 1n];
    expect(batchInverse(field61, xs)).toEqual(xs.map((x) => field61.inv(x)));
    expectCode(() => batchInverse(field61, [1n, 0n]), ErrorCode.NOT_INVERTIBLE);
  });
});

describe('solveLinearSystem', () => {
  const f = new PrimeField(101n);
  it('solves square, under- and over-determined systems', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.bigInt({ min: 0n, max: 100n }), { minLength: 25, maxLength: 25 }),
        fc.array(fc.bigInt({ min: 0n, max: 100n }), { minLength: 5, maxLength: 5 }),
        (rows, cols, entries, z) => {
          const a = Array.from({ length: rows }, (_, i) => entries.slice(i * 5, i * 5 + cols));
          const b = a.map((row) => row.reduce((acc, v, j) => f.add(acc, f.mul(v, z[j]!)), 0n));
          const sol = solveLinearSystem(f, a, b);
          expect(sol).toBeDefined();
          const back = a.map((row) =>
            row.reduce((acc, v, j) => f.add(acc, f.mul(v, sol![j]!)), 0n),
          );
          expect(back).toEqual(b);
        },
      ),
    );
  });

  it('reports an inconsistent system', () => {
    expect(
      solveLinearSystem(
        f,
        [
          [1n, 1n],
          [2n, 2n],
        ],
        [1n, 3n],
      ),
    ).toBeUndefined();
  });
});
