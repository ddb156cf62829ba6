import { describe, expect, it } from 'vitest';
import { composedLdpBudget } from '../../src/dp/ldpBudget.js';
import { squareWaveParameters } from '../../src/dp/ldpSquareWave.js';

describe('composed LDP budget (finding 9: "ε = 1" was really (5ε, 5·2bδ) per device-round)', () => {
  it('ε = 1, δ = 0 over 5 dimensions and 20 rounds: 5 per device-round, 100 per device-run', () => {
    expect(composedLdpBudget({ epsilon: 1, delta: 0 }, 5, 20)).toEqual({
      perDimension: { epsilon: 1, delta: 0 },
      perDeviceRound: { epsilon: 5, delta: 0, dimensions: 5 },
      perDeviceRun: { epsilon: 100, delta: 0, rounds: 20 },
    });
  });

  it('δ > 0 composes as w·2bδ, the δ the mechanism really guarantees, not w·δ', () => {
    const b = composedLdpBudget({ epsilon: 1, delta: 1e-6 }, 5, 10);
    const sw = squareWaveParameters(1, 1e-6);
    const guaranteed = sw.guaranteedDelta;
    expect(guaranteed).toBeCloseTo(2 * sw.b * 1e-6, 18);
    expect(guaranteed).toBeLessThan(1e-6); // 2b ≈ 0.51 at ε = 1
    expect(b.perDeviceRound.delta).toBeCloseTo(5 * guaranteed, 18);
    expect(b.perDeviceRun.delta).toBeCloseTo(50 * guaranteed, 18);
    expect(b.perDeviceRound.delta).not.toBeCloseTo(5e-6, 12);
  });

  it('refuses a non-integer dimension count', () => {
    expect(() => composedLdpBudget({ epsilon: 1, delta: 0 }, 2.5, 1)).toThrow();
  });
});
