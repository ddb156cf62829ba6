import { describe, expect, it } from 'vitest';
import { polyaShareShape, samplePolya, samplePolyaShare } from '../../src/dp/polya.js';
import {
  type RationalLike,
  rational,
  rationalFromNumber,
  rationalToNumber,
  toRational,
} from '../../src/dp/rational.js';
import { ErrorCode } from '../../src/errors.js';
import { seededRandom } from '../../src/math/random.js';
import {
  chiSquareTest,
  countDraws,
  negativeBinomialPmf,
  SIGNIFICANCE,
  twoSidedGeometricPmf,
} from './chiSquare.js';

const asNumber = (x: RationalLike) => rationalToNumber(toRational(x));

describe('samplePolya: exact NB(r, e^{−γ})', () => {
  it.each<[string, RationalLike, RationalLike]>([
    ['r = 1/3, γ = 1/2', rational(1, 3), '1/2'],
    ['r = 5/2, γ = 1 (two geometrics + a fractional part)', '5/2', 1],
    ['r = 1/100, γ = 1 (mass ≈ 0.995 at 0)', '0.01', 1],
    ['r = 1/10, γ = 1/10 (ρ ≈ 0.905: long factory loop and rejections)', '0.1', '0.1'],
    ['r = 2, γ = 3/10 (integer shape only)', 2, '0.3'],
    ['r = the double nearest 0.3, γ = 1/2 (bigint path)', rationalFromNumber(0.3), '1/2'],
    [
      'r = (2^50+3)/(2^52−1) ≈ 1/4, γ = 1/2 (safe parts; b·i and b·(j+1) pass 2^53 from 3 on)',
      { num: 2n ** 50n + 3n, den: 2n ** 52n - 1n },
      '1/2',
    ],
  ])('fits the NB pmf for %s', (name, shape, gamma) => {
    const r = asNumber(shape);
    const g = asNumber(gamma);
    const rng = seededRandom(`polya ${name}`);
    const counts = countDraws(200_000, () => samplePolya(rng, shape, gamma));
    // NB tails decay like ρ^y: beyond (60 + 10r)/γ the lost mass is below e^{−60}.
    const yMax = Math.ceil((60 + 10 * r) / g);
    const res = chiSquareTest(counts, negativeBinomialPmf(r, Math.exp(-g), yMax), 0, yMax);
    expect(res.pValue).toBeGreaterThan(SIGNIFICANCE);
  });

  it('the same test rejects a shape 10% off', () => {
    const rng = seededRandom('polya off');
    const counts = countDraws(200_000, () => samplePolya(rng, '0.33', '1/2'));
    const res = chiSquareTest(counts, negativeBinomialPmf(0.3, Math.exp(-0.5), 200), 0, 200);
    expect(res.pValue).toBeLessThan(SIGNIFICANCE);
  });
});

/** Σ over `devices` shares of one aggregate, `rounds` times. */
function shareSums(rounds: number, devices: number, draw: () => number) {
  return countDraws(rounds, () => {
    let s = 0;
    for (let i = 0; i < devices; i++) s += draw();
    return s;
  });
}

describe('Pólya shares for distributed noise', () => {
  const bound = 60; // |k| ≤ 60 at γ = 1: the two-sided tail beyond holds < e^{−60}

  it('n = 10 shares sum to exactly the two-sided geometric Geom(e^{ε/Δ})', () => {
    const rng = seededRandom('shares 10');
    const params = { epsilon: 1, sensitivity: 1, devices: 10 };
    const counts = shareSums(100_000, 10, () => samplePolyaShare(rng, params));
    expect(chiSquareTest(counts, twoSidedGeometricPmf(1), -bound, bound).pValue).toBeGreaterThan(
      SIGNIFICANCE,
    );
  });

  it('with failureFraction f = 1/5, any 8 of 10 shares sum to the two-sided geometric', () => {
    const rng = seededRandom('shares f');
    const params = { epsilon: '1/2', sensitivity: '1/2', devices: 10, failureFraction: '1/5' };
    expect(polyaShareShape(10, '1/5')).toEqual(rational(1, 8));
    const counts = shareSums(100_000, 8, () => samplePolyaShare(rng, params));
    expect(chiSquareTest(counts, twoSidedGeometricPmf(1), -bound, bound).pValue).toBeGreaterThan(
      SIGNIFICANCE,
    );
  });

  it('the same test rejects the sum when all 10 report with shares shaped for 8 (noise 25% too large)', () => {
    const rng = seededRandom('shares off');
    const params = { epsilon: 1, sensitivity: 1, devices: 10, failureFraction: '1/5' };
    const counts = shareSums(100_000, 10, () => samplePolyaShare(rng, params));
    expect(chiSquareTest(counts, twoSidedGeometricPmf(1), -bound, bound).pValue).toBeLessThan(
      SIGNIFICANCE,
    );
  });

  it('the shape is 1/((1−f)·n)', () => {
    expect(polyaShareShape(100)).toEqual(rational(1, 100));
    expect(polyaShareShape(7, 0.3)).toEqual(rational(10, 49));
    expect(polyaShareShape(1)).toEqual(rational(1));
  });

  it('rejects bad parameters with INVALID_ARGUMENT', () => {
    const rng = seededRandom(0);
    const ok = { epsilon: 1, sensitivity: 1, devices: 10 };
    const bad: (() => unknown)[] = [
      () => samplePolya(rng, 0, 1),
      () => samplePolya(rng, -1, 1),
      () => samplePolya(rng, 1, 0),
      () => samplePolya(rng, Number.NaN, 1),
      () => samplePolya(rng, 1, Number.NaN),
      () => samplePolyaShare(rng, { ...ok, devices: 0 }),
      () => samplePolyaShare(rng, { ...ok, devices: 2.5 }),
      () => samplePolyaShare(rng, { ...ok, devices: Number.NaN }),
      () => samplePolyaShare(rng, { ...ok, epsilon: 0 }),
      () => samplePolyaShare(rng, { ...ok, sensitivity: -1 }),
      () => samplePolyaShare(rng, { ...ok, failureFraction: 1 }),
      () => samplePolyaShare(rng, { ...ok, failureFraction: -0.1 }),
      () => polyaShareShape(0),
    ];
    for (const f of bad) {
      expect(f).toThrowError(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    }
  });
});
