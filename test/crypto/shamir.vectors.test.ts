import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  reconstructSecret,
  ShamirParams,
  ShamirReconstructor,
  sharesFromCoefficients,
} from '../../src/crypto/shamir.js';
import { PrimeField } from '../../src/math/field.js';
import { evaluatePolynomial } from '../../src/math/polynomial.js';

interface VectorCase {
  name: string;
  p: string;
  k: number;
  m: number;
  secret: string;
  coefficients: string[];
  shares: { x: number; y: string }[];
}

const file = new URL('../vectors/shamir.json', import.meta.url);
const { cases } = JSON.parse(readFileSync(file, 'utf8')) as { cases: VectorCase[] };

function* subsets<T>(items: readonly T[], size: number, start = 0): Generator<T[]> {
  if (size === 0) {
    yield [];
    return;
  }
  for (let i = start; i <= items.length - size; i++) {
    for (const rest of subsets(items, size - 1, i + 1)) yield [items[i]!, ...rest];
  }
}

describe('Shamir known-answer vectors (test/vectors/shamir.json)', () => {
  it('has cases', () => expect(cases.length).toBeGreaterThanOrEqual(5));
  for (const c of cases) {
    it(c.name, () => {
      const field = new PrimeField(BigInt(c.p));
      const params = new ShamirParams(c.k, c.m, field);
      const coefficients = c.coefficients.map(BigInt);
      const expected = c.shares.map((s) => ({ x: s.x, y: BigInt(s.y) }));
      expect(coefficients[0]).toBe(BigInt(c.secret));
      // Evaluating the polynomial gives the shares, through both evaluators.
      expect(sharesFromCoefficients(params, coefficients)).toEqual(expected);
      for (const s of expected)
        expect(evaluatePolynomial(field, coefficients, BigInt(s.x))).toBe(s.y);
      // Any k shares (every subset, capped for the large cases) give the secret.
      let checked = 0;
      for (const subset of subsets(expected, c.k)) {
        expect(reconstructSecret(params, subset)).toBe(BigInt(c.secret));
        const r = new ShamirReconstructor(
          params,
          subset.map((s) => s.x),
        );
        expect(r.reconstruct(subset.map((s) => s.y))).toBe(BigInt(c.secret));
        if (++checked >= 200) break;
      }
      // And all m together (consistency-checked).
      expect(reconstructSecret(params, expected)).toBe(BigInt(c.secret));
    });
  }
});
