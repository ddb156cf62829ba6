import { describe, expect, it } from 'vitest';
import { discreteGaussianVariance, sampleDiscreteGaussian } from '../../src/dp/discreteGaussian.js';
import {
  type RationalLike,
  rationalFromNumber,
  rationalToNumber,
  toRational,
} from '../../src/dp/rational.js';
import { ErrorCode } from '../../src/errors.js';
import { seededRandom } from '../../src/math/random.js';
import { chiSquareTest, countDraws, discreteGaussianPmf, SIGNIFICANCE } from './chiSquare.js';

const N = 200_000;
/** |k| ≤ 12σ + 2: the tail beyond holds < e^{−72}. */
const bound = (sigma2: number) => Math.ceil(12 * Math.sqrt(sigma2)) + 2;

describe('sampleDiscreteGaussian (CKS Alg. 3)', () => {
  it.each<[string, RationalLike]>([
    ['1/2 (t = 1)', '1/2'],
    ['4', 4],
    ['2.25 (σ = 1.5)', '2.25'],
    ['100', 100],
    ['the double nearest π (denominators past 2^53: bigint path)', rationalFromNumber(Math.PI)],
  ])('fits exp(−k²/2σ²)/Z for σ² = %s', (name, sigma2) => {
    const s2 = rationalToNumber(toRational(sigma2));
    const rng = seededRandom(`dgauss ${name}`);
    const counts = countDraws(N, () => sampleDiscreteGaussian(rng, sigma2));
    const r = chiSquareTest(counts, discreteGaussianPmf(s2), -bound(s2), bound(s2));
    expect(r.pValue).toBeGreaterThan(SIGNIFICANCE);
  });

  it('the same test rejects σ 10% off (σ² = 4.84 against 4)', () => {
    const rng = seededRandom('dgauss off');
    const counts = countDraws(N, () => sampleDiscreteGaussian(rng, '4.84'));
    expect(chiSquareTest(counts, discreteGaussianPmf(4), -bound(4), bound(4)).pValue).toBeLessThan(
      SIGNIFICANCE,
    );
  });

  it('variance is just below σ² for small σ and σ² from σ² = 4 on', () => {
    for (const s2 of [0.25, 0.5, 1, 2, 4]) {
      const pmf = discreteGaussianPmf(s2);
      let m2 = 0;
      for (let k = -bound(s2); k <= bound(s2); k++) m2 += k * k * pmf(k);
      expect(discreteGaussianVariance(s2) / m2).toBeCloseTo(1, 12);
      expect(discreteGaussianVariance(s2)).toBeLessThanOrEqual(s2);
    }
    expect(discreteGaussianVariance(4)).toBe(4);
    expect(discreteGaussianVariance('1/4')).toBeLessThan(0.25);
  });

  it('rejects σ² ≤ 0 and NaN with INVALID_ARGUMENT', () => {
    const rng = seededRandom(0);
    for (const s2 of [0, -4, '-1/2', Number.NaN]) {
      expect(() => sampleDiscreteGaussian(rng, s2)).toThrowError(
        expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
      );
      expect(() => discreteGaussianVariance(s2)).toThrowError(
        expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
      );
    }
  });
});
