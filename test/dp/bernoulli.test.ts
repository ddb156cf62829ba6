import { describe, expect, it } from 'vitest';
import { sampleBernoulli, sampleBernoulliExp } from '../../src/dp/bernoulli.js';
import {
  rational,
  rationalFromNumber,
  rationalToNumber,
  toRational,
} from '../../src/dp/rational.js';
import { ErrorCode } from '../../src/errors.js';
import { seededRandom } from '../../src/math/random.js';
import { chiSquareTest, countDraws, SIGNIFICANCE } from './chiSquare.js';

const N = 200_000;

function coinCounts(seed: string, flip: (rng: ReturnType<typeof seededRandom>) => boolean) {
  const rng = seededRandom(seed);
  return countDraws(N, () => (flip(rng) ? 1 : 0));
}

const coinPmf = (p: number) => (k: number) => (k === 1 ? p : 1 - p);

describe('sampleBernoulli (exact rational coin)', () => {
  it.each([
    ['1/3', rational(1, 3)],
    ['7/10 as a decimal string', '0.7'],
    ['a denominator past 2^53 (bigint path)', { num: 2n ** 64n + 1n, den: 3n * 2n ** 64n }],
  ] as const)('fits Bernoulli(p) for p = %s (χ², p-value > 1e−6)', (name, p) => {
    const counts = coinCounts(`bern ${name}`, (rng) => sampleBernoulli(rng, p));
    expect(
      chiSquareTest(counts, coinPmf(rationalToNumber(toRational(p))), 0, 1).pValue,
    ).toBeGreaterThan(SIGNIFICANCE);
  });

  it('is certain at p = 0 and p = 1', () => {
    const rng = seededRandom('edges');
    for (let i = 0; i < 1000; i++) {
      expect(sampleBernoulli(rng, 0)).toBe(false);
      expect(sampleBernoulli(rng, 1)).toBe(true);
    }
  });

  it('rejects p outside [0, 1] with INVALID_ARGUMENT', () => {
    const rng = seededRandom(0);
    for (const p of [-0.1, 1.5, Number.NaN, '2/1', 'x']) {
      expect(() => sampleBernoulli(rng, p)).toThrowError(
        expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
      );
    }
  });
});

describe('sampleBernoulliExp (CKS Alg. 1)', () => {
  it.each([
    ['0', 0],
    ['1/3', rational(1, 3)],
    ['1', 1],
    ['5/2 (integer part by exp(−1) coins)', '5/2'],
    ['7', 7],
    [
      '(2^52−3)/(2^52−1) (den·K passes 2^53 at K = 2)',
      { num: 2n ** 52n - 3n, den: 2n ** 52n - 1n },
    ],
  ] as const)('fits Bernoulli(exp(−γ)) for γ = %s', (name, gamma) => {
    const counts = coinCounts(`bexp ${name}`, (rng) => sampleBernoulliExp(rng, gamma));
    const p = Math.exp(-rationalToNumber(toRational(gamma)));
    expect(chiSquareTest(counts, coinPmf(p), 0, 1).pValue).toBeGreaterThan(SIGNIFICANCE);
  });

  it('is exact with a 2^54 denominator (bigint path): γ = the double nearest 0.3', () => {
    const g = rationalFromNumber(0.3);
    const counts = coinCounts('bexp big', (rng) => sampleBernoulliExp(rng, g));
    expect(
      chiSquareTest(counts, coinPmf(Math.exp(-rationalToNumber(g))), 0, 1).pValue,
    ).toBeGreaterThan(SIGNIFICANCE);
  });

  it('the same test rejects a coin whose γ is 10% off', () => {
    // Pr = e^{−1.1} vs e^{−1}: a gap of 0.035 against a standard error of ~0.001 at N = 2·10^5.
    const counts = coinCounts('bexp off', (rng) => sampleBernoulliExp(rng, 1.1));
    expect(chiSquareTest(counts, coinPmf(Math.exp(-1)), 0, 1).pValue).toBeLessThan(SIGNIFICANCE);
  });

  it('rejects γ < 0 and NaN with INVALID_ARGUMENT', () => {
    const rng = seededRandom(0);
    for (const g of [-1, '-1/3', Number.NaN]) {
      expect(() => sampleBernoulliExp(rng, g)).toThrowError(
        expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
      );
    }
  });
});
