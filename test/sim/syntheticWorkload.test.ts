import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { seededRandom } from '../../src/math/random.js';
import {
  SyntheticWorkload,
  type SyntheticWorkloadConfig,
} from '../../src/sim/syntheticWorkload.js';
import { allReadingRefs, type Workload } from '../../src/sim/workload.js';

const shape = { ians: 3, devicesPerIan: 8, rounds: 12, dimensions: 4 };

function make(seed: number, extra: Partial<SyntheticWorkloadConfig> = {}): SyntheticWorkload {
  return new SyntheticWorkload({ ...shape, rng: seededRandom(seed), ...extra });
}

function allReadings(w: Workload): number[][] {
  return [...allReadingRefs(w)].map(({ ian, device, round }) => w.reading(ian, device, round));
}

describe('SyntheticWorkload', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    expect(allReadings(make(7))).toEqual(allReadings(make(7)));
    expect(allReadings(make(7))).not.toEqual(allReadings(make(8)));
  });

  it('keeps integer readings within [0, maxReading]', () => {
    const w = make(1, { maxReading: [1, 3, 10, 50], startRate: 0.3, endRate: 0.9 });
    expect(w.maxReading).toEqual([1, 3, 10, 50]);
    expect(w.dimensionNames).toEqual(['d1', 'd2', 'd3', 'd4']);
    for (const r of allReadings(w)) {
      r.forEach((x, j) => {
        expect(Number.isInteger(x) && x >= 0 && x <= w.maxReading[j]!).toBe(true);
      });
    }
  });

  it('has ground truth equal to the sum of readings, per IAN and round and over subsets', () => {
    const w = make(2);
    for (let ian = 0; ian < shape.ians; ian++) {
      for (let round = 0; round < shape.rounds; round++) {
        const summed = new Array(shape.dimensions).fill(0);
        for (let i = 0; i < shape.devicesPerIan; i++) {
          w.reading(ian, i, round).forEach((x, j) => {
            summed[j] += x;
          });
        }
        expect(w.groundTruth(ian, round)).toEqual(summed);
      }
    }
    const subset = [...allReadingRefs(w)].filter((_, t) => t % 3 === 0);
    const expected = new Array(shape.dimensions).fill(0);
    for (const { ian, device, round } of subset) {
      w.reading(ian, device, round).forEach((x, j) => {
        expected[j] += x;
      });
    }
    expect(w.groundTruthOver(subset)).toEqual(expected);
    expect(() => w.groundTruthOver([subset[0]!, subset[0]!])).toThrow(ErrorCode.INVALID_ARGUMENT);
  });

  it('follows the configured upward trend over rounds', () => {
    const w = new SyntheticWorkload({
      ians: 4,
      devicesPerIan: 50,
      rounds: 10,
      dimensions: 1,
      maxReading: 20,
      startRate: 0.05,
      endRate: 0.25,
      rng: seededRandom('trend'),
    });
    const perRound = (r: number) => [0, 1, 2, 3].reduce((s, v) => s + w.groundTruth(v, r)[0]!, 0);
    const expected = (r: number) =>
      [0, 1, 2, 3].reduce((s, v) => s + w.expectedGroundTruth(v, r)[0]!, 0);
    expect(perRound(9)).toBeGreaterThan(2 * perRound(0));
    for (let r = 0; r < 10; r++) {
      // Each round total is a sum of 200 binomials with variance ≤ 200·20/4 = 1000,
      // so sd ≤ 32; 5 sd bounds the deviation for this fixed seed with ample room.
      expect(Math.abs(perRound(r) - expected(r))).toBeLessThan(5 * Math.sqrt(1000));
    }
  });

  it('validates its configuration', () => {
    expect(() => make(1, { dimensions: 0 })).toThrow(ErrorCode.INVALID_ARGUMENT);
    expect(() => make(1, { maxReading: 0 })).toThrow(ErrorCode.INVALID_ARGUMENT);
    expect(() => make(1, { maxReading: [1, 2] })).toThrow(ErrorCode.INVALID_ARGUMENT);
    expect(() => make(1, { startRate: 1.5 })).toThrow(ErrorCode.INVALID_ARGUMENT);
    expect(() => make(1, { endRate: Number.NaN })).toThrow(ErrorCode.INVALID_ARGUMENT);
    expect(() => make(1, { ianSpread: -0.1 })).toThrow(ErrorCode.INVALID_ARGUMENT);
    expect(() => make(1, { dimensionNames: ['a'] })).toThrow(ErrorCode.INVALID_ARGUMENT);
    expect(() => make(1, { rounds: 0 })).toThrow(ErrorCode.INVALID_ARGUMENT);
    expect(() => make(1).reading(0, 0, 12)).toThrow(ErrorCode.INVALID_ARGUMENT);
  });
});
