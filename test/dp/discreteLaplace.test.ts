import { describe, expect, it } from 'vitest';
import {
  discreteLaplaceVariance,
  sampleDiscreteLaplace,
  sampleTwoSidedGeometric,
  twoSidedGeometricVariance,
} from '../../src/dp/discreteLaplace.js';
import { rationalFromNumber, rationalToNumber } from '../../src/dp/rational.js';
import { ErrorCode } from '../../src/errors.js';
import { seededRandom } from '../../src/math/random.js';
import { chiSquareTest, countDraws, SIGNIFICANCE, twoSidedGeometricPmf } from './chiSquare.js';

const N = 200_000;
/** |k| ≤ 40·scale + 10 keeps the lost tail below e^{−40}. */
const bound = (scale: number) => Math.ceil(40 * scale) + 10;

describe('discrete Laplace / two-sided geometric (CKS Alg. 2)', () => {
  it.each([
    [1, 1, 1],
    [1, 3, 1 / 3],
    ['1/2', 1, 0.5],
    [2, 5, 0.4],
  ] as const)('fits (α−1)/(α+1)·α^{−|k|} for ε = %s, Δ = %s', (epsilon, sensitivity, gamma) => {
    const rng = seededRandom(`tsg ${epsilon} ${sensitivity}`);
    const counts = countDraws(N, () => sampleTwoSidedGeometric(rng, epsilon, sensitivity));
    const r = chiSquareTest(
      counts,
      twoSidedGeometricPmf(gamma),
      -bound(1 / gamma),
      bound(1 / gamma),
    );
    expect(r.pValue).toBeGreaterThan(SIGNIFICANCE);
  });

  it('fits with scale given as a decimal string and on the bigint path', () => {
    for (const [name, scale] of [
      ['2.5', '2.5'],
      ['the double nearest 1.3', rationalFromNumber(1.3)],
    ] as const) {
      const s = typeof scale === 'string' ? Number(scale) : rationalToNumber(scale);
      const rng = seededRandom(`dlap ${name}`);
      const counts = countDraws(N, () => sampleDiscreteLaplace(rng, scale));
      const r = chiSquareTest(counts, twoSidedGeometricPmf(1 / s), -bound(s), bound(s));
      expect(r.pValue, name).toBeGreaterThan(SIGNIFICANCE);
    }
  });

  it('the same test rejects a scale 10% off (1.1 instead of 1)', () => {
    const rng = seededRandom('dlap off');
    const counts = countDraws(N, () => sampleDiscreteLaplace(rng, '1.1'));
    expect(chiSquareTest(counts, twoSidedGeometricPmf(1), -bound(1), bound(1)).pValue).toBeLessThan(
      SIGNIFICANCE,
    );
  });

  it('variance is 2α/(α−1)², matching the pmf', () => {
    for (const [eps, sens] of [
      [1, 1],
      [0.1, 1],
      [3, 2],
    ] as const) {
      const pmf = twoSidedGeometricPmf(eps / sens);
      let m2 = 0;
      for (let k = -bound(sens / eps); k <= bound(sens / eps); k++) m2 += k * k * pmf(k);
      const alpha = Math.exp(eps / sens);
      expect(twoSidedGeometricVariance(eps, sens)).toBeCloseTo((2 * alpha) / (alpha - 1) ** 2, 9);
      expect(twoSidedGeometricVariance(eps, sens) / m2).toBeCloseTo(1, 9);
    }
    expect(discreteLaplaceVariance(4)).toBeCloseTo(twoSidedGeometricVariance(1, 4), 12);
  });

  it('never returns −0 and is symmetric in sign', () => {
    const rng = seededRandom('sign');
    let positive = 0;
    let negative = 0;
    let negativeZero = 0;
    for (let i = 0; i < 100_000; i++) {
      const k = sampleTwoSidedGeometric(rng, 1, 1);
      if (Object.is(k, -0)) negativeZero++;
      if (k > 0) positive++;
      if (k < 0) negative++;
    }
    expect(negativeZero).toBe(0);
    // Pr[k ≠ 0] = 2ρ/(1+ρ) ≈ 0.538 at ε = 1, so ~53.8k non-zero draws with fair signs: the
    // difference has standard deviation √53.8k ≈ 232; 6 of them ≈ 1392 (exceeded w.p. 2e−9).
    expect(Math.abs(positive - negative)).toBeLessThan(1400);
  });

  it('rejects ε ≤ 0, Δ ≤ 0, scale ≤ 0 and NaN with INVALID_ARGUMENT', () => {
    const rng = seededRandom(0);
    const bad: (() => unknown)[] = [
      () => sampleTwoSidedGeometric(rng, 0, 1),
      () => sampleTwoSidedGeometric(rng, -1, 1),
      () => sampleTwoSidedGeometric(rng, Number.NaN, 1),
      () => sampleTwoSidedGeometric(rng, 1, 0),
      () => sampleTwoSidedGeometric(rng, 1, -2),
      () => sampleDiscreteLaplace(rng, 0),
      () => sampleDiscreteLaplace(rng, '-1/2'),
      () => twoSidedGeometricVariance(0, 1),
      () => discreteLaplaceVariance(-1),
    ];
    for (const f of bad) {
      expect(f).toThrowError(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    }
  });
});
