import { describe, expect, it } from 'vitest';
import {
  estimateSum,
  perturbSquareWave,
  plugInSumVariance,
  publicSumStandardError,
  squareWaveParameters,
  sumVarianceGivenInputs,
} from '../../src/dp/ldpSquareWave.js';
import { seededRandom, uniformUnit } from '../../src/math/random.js';
import { defaultMaasParams } from '../../src/schemes/maas/params.js';
import { ReadingCodec } from '../../src/schemes/maas/readingCodec.js';

/**
 * Finding 9 of issue 10: the reported standard errors ran 3–14 % low (95 % intervals
 * covering 0.924–0.942): the plug-in at the mean leaves out the spread of the readings.
 * And a review of the first fix: any standard error computed from the aggregate is released
 * with the answer outside the noise, so a querier can solve it for the noise-free sum. The
 * published one (publicSumStandardError) depends on n alone.
 *
 * Statistics: 4,000 trials with a fixed seed; at a true coverage of 0.95 the sample
 * coverage has a standard deviation of 0.0034, so ≥ 0.94 fails with probability < 0.2 %
 * for a sound interval, while the plug-in's true coverage at the extremes is about 0.92.
 */
const TRIALS = 4000;
const Z95 = 1.959964;

function coverage(readings: number[], seed: string) {
  const params = squareWaveParameters(1, 0);
  const rng = seededRandom(seed);
  const n = readings.length;
  const truth = readings.reduce((a, b) => a + b, 0);
  const published = publicSumStandardError(params, n);
  let covered = 0;
  let plugIn = 0;
  let widthRatio = 0;
  for (let t = 0; t < TRIALS; t++) {
    let sumY = 0;
    for (const x of readings) sumY += perturbSquareWave(rng, params, x);
    const est = estimateSum(params, sumY, n);
    const seP = Math.sqrt(plugInSumVariance(params, n, sumY));
    if (Math.abs(est - truth) <= Z95 * published) covered++;
    if (Math.abs(est - truth) <= Z95 * seP) plugIn++;
    widthRatio += published / seP;
  }
  return { covered: covered / TRIALS, plugIn: plugIn / TRIALS, widthRatio: widthRatio / TRIALS };
}

describe('LDP standard errors cover at their nominal rate and carry nothing of the data', () => {
  it('readings at the extremes (half 0, half 1; n = 60): the published SE covers ≥ 0.94, the plug-in did not', () => {
    const readings = Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? 0 : 1));
    const c = coverage(readings, 'coverage extremes');
    expect(c.covered).toBeGreaterThanOrEqual(0.94);
    expect(c.plugIn).toBeLessThan(0.94);
  });

  it('alike readings (all 0.3; n = 60): still ≥ 0.94, intervals at most 30 % wider than the plug-in', () => {
    const c = coverage(
      Array.from({ length: 60 }, () => 0.3),
      'coverage alike',
    );
    expect(c.covered).toBeGreaterThanOrEqual(0.94);
    expect(c.widthRatio).toBeLessThan(1.3);
  });

  it('is never below the true standard deviation, for any readings', () => {
    const params = squareWaveParameters(1, 0);
    const rng = seededRandom('bound');
    for (let t = 0; t < 500; t++) {
      const n = 1 + Math.floor(uniformUnit(rng) * 40);
      const xs = Array.from({ length: n }, () => uniformUnit(rng));
      const s = xs.reduce((a, b) => a + b, 0);
      const truth = sumVarianceGivenInputs(
        params,
        n,
        s,
        xs.reduce((a, b) => a + b * b, 0),
      );
      expect(publicSumStandardError(params, n) ** 2).toBeGreaterThanOrEqual(truth * (1 - 1e-12));
    }
  });

  it('the review attack: 24 restored sums, 24 distinct values, one standard error (0 of 24 recoverable)', () => {
    const params = defaultMaasParams({
      deployment: 'se-leak',
      dimensions: ['a'],
      maxReading: [5],
      devicesPerIan: 25,
      ldp: { epsilon: 1, delta: 0 },
    });
    const codec = new ReadingCodec(params);
    // 24 aggregates of 25 reports (fixed-point integers spread over the output range).
    const errors = new Set<number>();
    const estimates = new Set<number>();
    for (let k = 0; k < 24; k++) {
      const [d] = codec.decode([BigInt(k * 1_000_003)], 25, false);
      errors.add(d!.standardError);
      estimates.add(d!.estimate);
    }
    expect(estimates.size).toBe(24);
    expect(errors.size).toBe(1);
  });
});
