import { describe, expect, it } from 'vitest';
import { chiSquarePValue, chiSquareTest, lnGamma } from './chiSquare.js';

describe('chi-square helper', () => {
  it('lnGamma matches factorials', () => {
    expect(lnGamma(1)).toBeCloseTo(0, 12);
    expect(lnGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(lnGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
  });

  it('p-values match closed forms and tables', () => {
    // df = 2: Q = e^{−x/2}.
    for (const x of [0.1, 1, 5, 30, 60])
      expect(chiSquarePValue(x, 2)).toBeCloseTo(Math.exp(-x / 2), 12);
    // 1e−6 critical values (scipy chi2.isf): df 1 → 23.928, df 5 → 35.888, df 30 → 82.044.
    expect(chiSquarePValue(23.928, 1)).toBeCloseTo(1e-6, 8);
    expect(chiSquarePValue(35.888, 5)).toBeCloseTo(1e-6, 8);
    expect(chiSquarePValue(82.04414313704284, 30) / 1e-6).toBeCloseTo(1, 6);
  });

  it('merges bins to an expected count of at least 5', () => {
    const counts = new Map([
      [0, 50],
      [1, 30],
      [2, 15],
      [3, 4],
      [4, 1],
    ]);
    const pmf = (k: number) => [0.5, 0.3, 0.15, 0.04, 0.01][k]!;
    const r = chiSquareTest(counts, pmf, 0, 4);
    expect(r.bins).toBe(4); // {0}, {1}, {2}, {3,4}
    expect(r.statistic).toBeCloseTo(0, 12);
  });
});
