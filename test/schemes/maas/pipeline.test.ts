import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/math/random.js';
import { defaultMaasParams } from '../../../src/schemes/maas/params.js';
import { loadAi4iWorkload } from '../../../src/sim/ai4iWorkload.js';
import { runMaas } from '../../../src/sim/maasRunner.js';

// The default demo scenario on the real data: 4 IANs × 25 devices × 20 rounds, m = 5, k = 3.
const workload = loadAi4iWorkload({ ians: 4, devicesPerIan: 25, rounds: 20 });
const CSV_TOTALS = { TWF: 46, HDF: 115, PWF: 95, OSF: 98, RNF: 19 };

/**
 * `maxLyingGateways` (f) trades crashed gateways for tolerated liars: a restore needs
 * k + f partials. The default f = 2 at m = 5, k = 3 needs all five (liars.test.ts), so
 * the scenarios below that crash or correct gateways name the f they need.
 */
function exactParams(maxLyingGateways?: number) {
  return defaultMaasParams({
    maxReading: workload.maxReading,
    ldp: null,
    ...(maxLyingGateways === undefined ? {} : { maxLyingGateways }),
  });
}

function expectEveryIanRoundExact(result: ReturnType<typeof runMaas>) {
  let checked = 0;
  for (const r of result.rounds) {
    for (const x of r.ians) {
      expect(x.status).not.toBe('failed');
      // Independently from the CSV: the truth over exactly the devices that entered the aggregate.
      const truth = workload.groundTruthOver(
        x.contributors.map((device) => ({ ian: x.ian, device, round: r.round })),
      );
      expect(x.estimates!.map((e) => e.estimate)).toEqual(truth);
      checked++;
    }
  }
  expect(checked).toBe(4 * 20);
}

describe('MaaS end to end on AI4I 2020, LDP off', () => {
  it('recovers every per-IAN, per-round, per-type total exactly; all-IAN totals equal the CSV', () => {
    const result = runMaas({
      params: exactParams(),
      workload,
      rounds: 20,
      scenarioRng: seededRandom(1),
    });
    expectEveryIanRoundExact(result);
    expect(result.truth).toEqual(CSV_TOTALS);
    for (const [name, v] of Object.entries(CSV_TOTALS))
      expect(result.totals[name]!.estimate).toBe(v);
    expect(result.rejected).toEqual({});
    expect(result.rounds.every((r) => r.ians.every((x) => x.status === 'complete'))).toBe(true);
  });

  it('stays exact with m − k = 2 gateways failed in every IAN (f = 0: all redundancy spent on crashes)', () => {
    const failedGateways = [0, 1, 2, 3].flatMap((ian) => [
      { ian, gateway: 1 + ian },
      { ian, gateway: 1 + ((ian + 2) % 5) },
    ]);
    const result = runMaas({
      params: exactParams(0),
      workload,
      rounds: 20,
      faults: { failedGateways },
    });
    expectEveryIanRoundExact(result);
    expect(result.truth).toEqual(CSV_TOTALS);
    expect(result.totals.HDF!.estimate).toBe(115);
    expect(result.rounds[0]!.ians[0]!.status).toBe('degraded');
    expect(result.rounds[0]!.ians[0]!.reasons.join(' ')).toContain('down');
  });

  it('corrects a lying gateway with Berlekamp–Welch and names it (f = 1: τ = min(1, 5−3−1) = 1)', () => {
    // The default f = 2 would detect this lie and fail the IAN-round instead (τ = 0):
    // correcting one liar at m = 5, k = 3 means tolerating no more than one.
    const result = runMaas({
      params: exactParams(1),
      workload,
      rounds: 20,
      faults: { lyingGateways: [{ ian: 2, gateway: 4 }] },
    });
    expectEveryIanRoundExact(result);
    expect(result.lyingGatewaysFound).toEqual([
      { ian: 2, gateway: 4, rounds: Array.from({ length: 20 }, (_, i) => i) },
    ]);
    expect(result.totals).toEqual(
      Object.fromEntries(
        Object.entries(CSV_TOTALS).map(([k, v]) => [k, { estimate: v, standardError: 0 }]),
      ),
    );
  });

  it('excludes failed devices and stays exact over the rest', () => {
    const result = runMaas({
      params: exactParams(),
      workload,
      rounds: 20,
      faults: { failedDevices: [{ ian: 0, device: 3 }], deviceFailureProbability: 0.1 },
      scenarioRng: seededRandom('devices'),
    });
    expectEveryIanRoundExact(result);
    expect(result.tolerated.failedDeviceReports).toBeGreaterThan(20);
    for (const r of result.rounds) expect(r.ians[0]!.contributors).not.toContain(3);
    // Fewer reports than the CSV, and the totals track exactly the ones that came in.
    expect(result.truth.HDF).toBeLessThanOrEqual(115);
    expect(result.totals.HDF!.estimate).toBe(result.truth.HDF);
  });

  it('marks an IAN-round failed, with the reason, when more than m − k gateways are down; the others still work', () => {
    const result = runMaas({
      params: exactParams(),
      workload,
      rounds: 3,
      faults: { failedGateways: [1, 2, 3].map((gateway) => ({ ian: 1, gateway })) },
    });
    for (const r of result.rounds) {
      const ian1 = r.ians.find((x) => x.ian === 1)!;
      expect(ian1.status).toBe('failed');
      expect(ian1.reasons.join(' ')).toMatch(/2 of the k \+ f = 5 partials/);
      for (const x of r.ians.filter((y) => y.ian !== 1)) expect(x.status).toBe('complete');
    }
    // The all-IAN query still answers over what was restored, and says which IANs are missing.
    const full = result.queries.find((q) => q.number === 4)!;
    expect(full.answer!.dimensions[0]!.series[0]!.missingIans).toEqual([1]);
  });
});

describe('MaaS end to end on AI4I 2020, LDP on', () => {
  it('per-type totals lie within 4 standard errors of the truth', () => {
    // f = 1: IAN 0 restores from the four live gateways (k + f = 4) and IAN 3 corrects
    // its liar (τ = 1 with all five); the default f = 2 would fail both.
    const params = defaultMaasParams({
      maxReading: workload.maxReading,
      ldp: { epsilon: 1, delta: 1e-3 },
      maxLyingGateways: 1,
    });
    const result = runMaas({
      params,
      workload,
      rounds: 20,
      faults: { failedGateways: [{ ian: 0, gateway: 2 }], lyingGateways: [{ ian: 3, gateway: 1 }] },
      cryptoRng: seededRandom('ldp-e2e'),
    });
    for (const name of Object.keys(CSV_TOTALS)) {
      const { estimate, standardError } = result.totals[name]!;
      expect(standardError).toBeGreaterThan(0);
      // 5 checks at 4 SE: a correct estimator fails with probability ≈ 5 · 6e−5 (fixed seed: never).
      expect(Math.abs(estimate - result.truth[name]!)).toBeLessThan(4 * standardError);
    }
    // Per IAN-round too: the fraction outside 2 SE should be near 5% (allow up to 15% of 400).
    let outside = 0;
    let total = 0;
    for (const r of result.rounds) {
      for (const x of r.ians) {
        for (const [j, e] of x.estimates!.entries()) {
          total++;
          if (Math.abs(e.estimate - x.truth![j]!) > 2 * e.standardError) outside++;
        }
      }
    }
    expect(total).toBe(400);
    expect(outside / total).toBeLessThan(0.15);
  });
});
