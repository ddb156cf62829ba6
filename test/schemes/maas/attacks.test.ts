import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/math/random.js';
import { ATTACK_KINDS, type AttackKind } from '../../../src/sim/maasFaults.js';
import { runMaas } from '../../../src/sim/maasRunner.js';
import { smallSetup } from './helpers.js';

// Each attack on its own, against a deployment with no other fault: the stable code it
// must produce, and the proof that nothing bad entered: every restored total is exact.
const EXPECTED: Record<AttackKind, string> = {
  forged: 'BAD_MAC',
  tampered: 'BAD_MAC',
  replayed: 'REPLAY',
  stale: 'STALE_TIMESTAMP',
  malformed: 'MALFORMED_MESSAGE',
  'unknown-sender': 'UNKNOWN_SENDER',
  'out-of-range-share': 'SHARE_OUT_OF_RANGE',
  'wrong-round': 'WRONG_ROUND',
  'insider-forgery': 'BAD_MAC',
  'forged-partial': 'BAD_MAC',
  'replayed-partial': 'REPLAY',
  'forged-query': 'BAD_MAC',
  'replayed-query': 'REPLAY',
  'unauthorised-query': 'ACCESS_DENIED',
  'over-budget-query': 'BUDGET_EXCEEDED',
};

function run(attacks: AttackKind[], maxLyingGateways?: number) {
  const { params, workload, rounds } = smallSetup({ seed: 'attacks', maxLyingGateways });
  return {
    result: runMaas({ params, workload, rounds, attacks, scenarioRng: seededRandom('a') }),
    workload,
  };
}

function expectExact(
  result: ReturnType<typeof runMaas>,
  workload: ReturnType<typeof smallSetup>['workload'],
) {
  for (const r of result.rounds) {
    for (const x of r.ians) {
      expect(x.status).not.toBe('failed');
      const truth = workload.groundTruthOver(
        x.contributors.map((device) => ({ ian: x.ian, device, round: r.round })),
      );
      expect(x.estimates!.map((e) => e.estimate)).toEqual(truth);
    }
  }
}

describe('every attack is rejected with its code and changes no aggregate', () => {
  it.each(ATTACK_KINDS.map((k) => [k]))('%s', (kind) => {
    const { result, workload } = run([kind]);
    expect(Object.keys(result.rejected)).toContain(EXPECTED[kind]);
    expectExact(result, workload);
    if (kind === 'out-of-range-share') return; // costs devices: see the next test
    // Good messages of the attacked rounds still count: every device is in every aggregate.
    for (const r of result.rounds) for (const x of r.ians) expect(x.contributors).toHaveLength(8);
  });

  it('out-of-range-share: f = 1 leaves the gateway that lacks the device out; the default f = 2 re-sums without it', () => {
    // f = 1: the other four hold the device and can vouch for a total (k + f = 4), so
    // every device is in every aggregate and the gateway that lacks it is left out.
    const outvoted = run(['out-of-range-share'], 1);
    expectExact(outvoted.result, outvoted.workload);
    for (const r of outvoted.result.rounds) {
      for (const x of r.ians) {
        expect(x.contributors).toHaveLength(8);
        expect(x.reasons.join(' ')).toContain('gateway(s) 1 left out');
      }
    }
    // Default f = 2: four cannot vouch (k + f = 5), so all five re-sum over the devices
    // they share — exact, over fewer devices (the no-differencing rule withholds more).
    const resummed = run(['out-of-range-share']);
    expectExact(resummed.result, resummed.workload);
    expect(resummed.result.tolerated.droppedByReconciliation).toBeGreaterThan(0);
  });

  it('malformed input includes an unknown wire version', () => {
    expect(run(['malformed']).result.rejected.UNSUPPORTED_VERSION).toBeGreaterThan(0);
  });

  it('all attacks at once, with a failed and a lying gateway: totals still exact (f = 1)', () => {
    // One dead gateway (IAN 0) and one liar to correct (IAN 1) at m = 5, k = 3 need f = 1:
    // k + f = 4 live gateways suffice and τ = 1 with all five. The default f = 2 fails
    // both IAN-rounds instead (next test).
    const { params, workload, rounds } = smallSetup({ ians: 3, seed: 'all', maxLyingGateways: 1 });
    const result = runMaas({
      params,
      workload,
      rounds,
      attacks: [...ATTACK_KINDS],
      faults: { failedGateways: [{ ian: 0, gateway: 5 }], lyingGateways: [{ ian: 1, gateway: 2 }] },
    });
    expectExact(result, workload);
    expect(result.lyingGatewaysFound.map((g) => [g.ian, g.gateway])).toEqual([[1, 2]]);
    for (const code of new Set(Object.values(EXPECTED)))
      expect(result.rejected[code]).toBeGreaterThan(0);
    const full = result.queries.find((q) => q.number === 3)!;
    for (const [name, value] of Object.entries(result.truth))
      expect(result.totals[name]!.estimate).toBe(value);
    expect(full.ok).toBe(true);
  });

  it('the same with the default f = 2: the IAN-rounds with a dead gateway or a liar fail with their reason, the third is exact', () => {
    const { params, workload, rounds } = smallSetup({ ians: 3, seed: 'all' });
    expect(params.maxLyingGateways).toBe(2);
    const result = runMaas({
      params,
      workload,
      rounds,
      attacks: [...ATTACK_KINDS],
      faults: { failedGateways: [{ ian: 0, gateway: 5 }], lyingGateways: [{ ian: 1, gateway: 2 }] },
    });
    for (const r of result.rounds) {
      const [dead, lying, clean] = r.ians;
      expect(dead!.status).toBe('failed');
      expect(dead!.reasons.join(' ')).toMatch(
        /RESTORE_FAILED: .* k \+ f = 5 over one contributor set needed/,
      );
      expect(lying!.status).toBe('failed');
      expect(lying!.reasons.join(' ')).toMatch(/TOO_MANY_ERRORS: partials disagree/);
      expect(lying!.liars).toEqual([]);
      expect(clean!.status).not.toBe('failed');
      const truth = workload.groundTruthOver(
        clean!.contributors.map((device) => ({ ian: 2, device, round: r.round })),
      );
      expect(clean!.estimates!.map((e) => e.estimate)).toEqual(truth);
    }
    expect(result.lyingGatewaysFound).toEqual([]);
  });
});
