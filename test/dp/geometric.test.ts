import { describe, expect, it } from 'vitest';
import { sampleGeometric } from '../../src/dp/geometric.js';
import {
  type RationalLike,
  rationalFromNumber,
  rationalToNumber,
  toRational,
} from '../../src/dp/rational.js';
import { ErrorCode } from '../../src/errors.js';
import { seededRandom } from '../../src/math/random.js';
import { chiSquareTest, countDraws, SIGNIFICANCE } from './chiSquare.js';

const N = 200_000;

function geometricPmf(gamma: number) {
  const rho = Math.exp(-gamma);
  return (y: number) => (1 - rho) * rho ** y;
}

/** Support 0..hi with tail mass e^{−γ(hi+1)} < e^{−40}: nothing is lost at N = 2·10^5. */
const upper = (gamma: number) => Math.ceil(40 / gamma);

describe('sampleGeometric (CKS Alg. 2, U + tV then ⌊X/s⌋)', () => {
  it.each<[string, RationalLike]>([
    ['1/2 (t = 2)', '1/2'],
    ['1 (t = 1, U = 0)', 1],
    ['7/3', '7/3'],
    ['5 (large s: Y is mostly 0)', 5],
    ['1/20 (t = 20, mean ≈ 19.5)', 0.05],
    [
      'the double nearest 0.7 (2^52 denominator and s·t past 2^53: bigint path)',
      rationalFromNumber(0.7),
    ],
  ])('fits (1 − e^{−γ})e^{−γy} for γ = %s', (name, gamma) => {
    const g = rationalToNumber(toRational(gamma));
    const rng = seededRandom(`geometric ${name}`);
    const counts = countDraws(N, () => sampleGeometric(rng, gamma));
    expect(chiSquareTest(counts, geometricPmf(g), 0, upper(g)).pValue).toBeGreaterThan(
      SIGNIFICANCE,
    );
  });

  it('the same test rejects a geometric with γ 10% off', () => {
    const rng = seededRandom('geometric off');
    const counts = countDraws(N, () => sampleGeometric(rng, '0.55'));
    expect(chiSquareTest(counts, geometricPmf(0.5), 0, upper(0.5)).pValue).toBeLessThan(
      SIGNIFICANCE,
    );
  });

  it('is deterministic under a seeded source', () => {
    const a = seededRandom('same');
    const b = seededRandom('same');
    const xs = Array.from({ length: 1000 }, () => sampleGeometric(a, '3/7'));
    expect(Array.from({ length: 1000 }, () => sampleGeometric(b, '3/7'))).toEqual(xs);
  });

  it('rejects γ ≤ 0 and NaN with INVALID_ARGUMENT', () => {
    const rng = seededRandom(0);
    for (const g of [0, -1, '0/5', Number.NaN, Number.NEGATIVE_INFINITY]) {
      expect(() => sampleGeometric(rng, g)).toThrowError(
        expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
      );
    }
  });
});
