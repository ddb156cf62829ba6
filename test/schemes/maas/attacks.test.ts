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

function run(attacks: AttackKind[], modes = {}) {
  const { params, workload, rounds } = smallSetup({ modes, seed: 'attacks' });
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
    // Good messages of the attacked rounds still count: every device is in every aggregate
    // (even the one that sent one gateway an out-of-range share: the other four hold it,
    // and the gateway that lacks it is left out of the restore instead).
    for (const r of result.rounds) for (const x of r.ians) expect(x.contributors).toHaveLength(8);
    if (kind === 'out-of-range-share') {
      for (const r of result.rounds) {
        for (const x of r.ians) expect(x.reasons.join(' ')).toContain('gateway(s) 1 left out');
      }
    }
  });

  it('malformed input includes an unknown wire version', () => {
    expect(run(['malformed']).result.rejected.UNSUPPORTED_VERSION).toBeGreaterThan(0);
  });

  it('all attacks at once, with a failed and a lying gateway: totals still exact', () => {
    const { params, workload, rounds } = smallSetup({ ians: 3, seed: 'all' });
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
});
