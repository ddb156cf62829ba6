import { describe, expect, it } from 'vitest';
import { seededRandom, systemRandom } from '../../../src/math/random.js';
import { findBadTags } from '../../../src/schemes/maas/batchVerify.js';
import { createMaasDeployment } from '../../../src/schemes/maas/deployment.js';
import { PAPER_MODES } from '../../../src/schemes/maas/params.js';
import { buildQuery, dimensionMask } from '../../../src/schemes/maas/query.js';
import { runMaas } from '../../../src/sim/maasRunner.js';
import { smallSetup } from './helpers.js';

/**
 * The four weak points of the paper's construction (docs/SCHEMES.md §1). Each test runs the
 * same scenario in the paper's mode, where it goes wrong, and in privagg's default
 * mode, where it does not.
 */
const T0 = Date.UTC(2026, 0, 1);

function exactOver(
  result: ReturnType<typeof runMaas>,
  workload: ReturnType<typeof smallSetup>['workload'],
) {
  return result.rounds.every((r) =>
    r.ians.every((x) => {
      if (!x.estimates) return false;
      const truth = workload.groundTruthOver(
        x.contributors.map((device) => ({ ian: x.ian, device, round: r.round })),
      );
      return x.estimates.every((e, j) => e.estimate === truth[j]);
    }),
  );
}

describe('soundness beyond the paper', () => {
  it('a gateway forging a device message: accepted with the paper MAC, rejected with HMAC', () => {
    // Only the MAC differs between the two runs (no AEAD, vector layout, each-tag check,
    // the paper's restore: with > k partials Berlekamp–Welch would otherwise out-vote the
    // gateway that accepted the forgery and mask the problem).
    const base = { aead: false, batch: 'each' as const, restore: 'paper' as const };
    const paper = smallSetup({ modes: { ...base, mac: 'paper-hash' }, seed: 'forge' });
    const ours = smallSetup({ modes: { ...base, mac: 'hmac' }, seed: 'forge' });
    const paperRun = runMaas({ ...paper, attacks: ['insider-forgery'] });
    const oursRun = runMaas({ ...ours, attacks: ['insider-forgery'] });
    // Paper: the forged report (raced ahead of the genuine one) is accepted — no BAD_MAC —,
    // the genuine one becomes a "replay", and the total is wrong.
    expect(paperRun.rejected.BAD_MAC).toBeUndefined();
    expect(paperRun.rejected.REPLAY).toBeGreaterThan(0);
    expect(exactOver(paperRun, paper.workload)).toBe(false);
    // HMAC: gateway 2 holds no key of the device↔gateway-1 link, so its forgery fails.
    expect(oursRun.rejected.BAD_MAC).toBe(ours.params.ians * ours.rounds);
    expect(exactOver(oursRun, ours.workload)).toBe(true);
  });

  it("two messages with swapped MACs pass the paper's batch check, not ours", () => {
    for (const mode of ['paper-sum', 'each'] as const) {
      const { params } = smallSetup({
        modes: { batch: mode, mac: 'paper-hash', aead: false },
        seed: 'swap',
      });
      const dep = createMaasDeployment(params, {
        oems: [],
        registeredAtMs: T0,
        rng: seededRandom(1),
      });
      const gw = dep.gateway(0, 1);
      gw.beginRound(0);
      const a = dep.device(0, 0).report(0, [1, 2, 3], T0, systemRandom)[0]!.bytes;
      const b = dep.device(0, 1).report(0, [4, 5, 6], T0, systemRandom)[0]!.bytes;
      const tagA = Buffer.from(a.subarray(a.length - 32));
      a.set(b.subarray(b.length - 32), a.length - 32);
      b.set(tagA, b.length - 32);
      const verdicts = [gw.ingest(a, T0), gw.ingest(b, T0)];
      const res = gw.closeRound(T0);
      // Rejections come from ingest (verified at once) or from the round's batch check.
      const codes = [
        ...verdicts.flatMap((v) => (v.ok ? [] : [v.code])),
        ...res.rejected.map((r) => r.code),
      ];
      if (mode === 'paper-sum') {
        expect(codes).toEqual([]);
        expect(res.contributors).toEqual([0, 1]);
      } else {
        expect(codes).toEqual(['BAD_MAC', 'BAD_MAC']);
        expect(res.contributors).toEqual([]);
      }
    }
  });

  it("the paper's batch check localises ordinary bad tags by bisection", () => {
    const good = Array.from({ length: 16 }, (_, i) => Buffer.alloc(32, i));
    const items = good.map((t, i) => ({
      received: i === 3 || i === 11 ? Buffer.alloc(32, 0xee) : t,
      expected: () => t,
    }));
    expect(findBadTags(items, 'paper-sum')).toEqual([3, 11]);
    expect(findBadTags(items, 'each')).toEqual([3, 11]);
  });

  it('a gateway that missed one device corrupts the paper restore; reconciliation keeps it exact', () => {
    // Device 5's message to gateway 1 is lost (link loss on one link only is emulated by a
    // corrupt share: gateway 1 drops it while the others count it).
    const paper = smallSetup({ modes: { restore: 'paper' }, seed: 'missed' });
    const ours = smallSetup({ modes: { restore: 'reconcile' }, seed: 'missed' });
    const paperRun = runMaas({ ...paper, attacks: ['out-of-range-share'] });
    const oursRun = runMaas({ ...ours, attacks: ['out-of-range-share'] });
    expect(exactOver(paperRun, paper.workload)).toBe(false);
    expect(exactOver(oursRun, ours.workload)).toBe(true);
    // Default f = 2: the four gateways that hold the device cannot vouch for a total
    // (k + f = 5 needed), so all five re-sum over the devices they share: exact, over
    // fewer devices.
    expect(oursRun.tolerated.droppedByReconciliation).toBeGreaterThan(0);
    // f = 1: the four out-vote the one that lacks the device; nothing is dropped.
    const outvote = smallSetup({
      modes: { restore: 'reconcile' },
      seed: 'missed',
      maxLyingGateways: 1,
    });
    const outvoteRun = runMaas({ ...outvote, attacks: ['out-of-range-share'] });
    expect(exactOver(outvoteRun, outvote.workload)).toBe(true);
    expect(outvoteRun.tolerated.droppedByReconciliation).toBe(0);
    for (const r of outvoteRun.rounds)
      for (const x of r.ians) expect(x.contributors).toHaveLength(8);
  });

  it('repeating a query averages its noise away in the paper mode, not in ours', () => {
    const errors: Record<string, number[]> = {};
    for (const queryNoise of ['paper-fresh', 'derived'] as const) {
      const { params, workload } = smallSetup({
        ians: 4,
        modes: { queryNoise },
        seed: 'avg',
      });
      const oem = {
        name: 'oem',
        dimensions: [0, 1, 2],
        budget: { epsilon: 3, delta: 0 },
        epsilonPerDimension: [1, 1, 1],
      };
      const dep = createMaasDeployment(params, {
        oems: [oem],
        registeredAtMs: T0,
        rng: seededRandom(2),
      });
      // Run one round through this deployment's roles to get a ledger we can query repeatedly.
      const { contract, queries } = dep.ledger();
      for (let v = 0; v < params.ians; v++) {
        const gws = Array.from({ length: params.gateways }, (_, l) => dep.gateway(v, l + 1));
        for (const g of gws) g.beginRound(0);
        for (let i = 0; i < params.devicesPerIan; i++) {
          for (const msg of dep
            .device(v, i)
            .report(0, workload.reading(v, i, 0), T0, systemRandom)) {
            gws[msg.gateway - 1]!.ingest(msg.bytes, T0);
          }
        }
        for (const g of gws) contract.add(g.closeRound(T0).partial, T0);
        expect(contract.restore(v, 0).status).toBe('restored');
      }
      const key = dep.registry.oemKey(0);
      const truth = (ians: number[]) =>
        ians.reduce((s, v) => s + workload.groundTruth(v, 0)[0]!, 0);
      const answers: number[] = [];
      let target: number | undefined;
      for (let rep = 0; rep < 400; rep++) {
        const q = buildQuery(params, key, {
          number: 1,
          startRound: 0,
          endRound: 0,
          dimensionMask: dimensionMask([0]),
          timestamp: T0 + rep,
        });
        const res = queries.query(q, T0 + rep, seededRandom(`fresh-${rep}`));
        expect(res.ok).toBe(true);
        if (!res.ok) return;
        // Average only the answers about the same IAN (the paper picks IANs at random).
        const ian = res.answer.ians[0]!;
        target ??= ian;
        if (ian === target) answers.push(res.answer.dimensions[0]!.total);
      }
      const mean = answers.reduce((s, x) => s + x, 0) / answers.length;
      errors[queryNoise] = [
        Math.abs(mean - truth([target!])),
        answers.length,
        new Set(answers).size,
      ];
      // The query noise here has scale Δ/ε = 6: a single answer is off by ~6·√2·(1−1/z) on average.
    }
    // Paper: ~100 fresh answers about one IAN average to within ~1 of the truth.
    expect(errors['paper-fresh']![0]).toBeLessThan(2.5);
    expect(errors['paper-fresh']![2]).toBeGreaterThan(10);
    // Derived: all 400 answers are one answer, so the average is that answer.
    expect(errors.derived![1]).toBe(400);
    expect(errors.derived![2]).toBe(1);
  });

  it('each distinct query window spends the OEM budget; past it the ledger refuses', () => {
    const { params, workload, rounds } = smallSetup({ ians: 2, seed: 'budget' });
    const oem = {
      name: 'oem',
      dimensions: [0, 1, 2],
      budget: { epsilon: 3, delta: 0 },
      epsilonPerDimension: [1, 1, 1],
    };
    const result = runMaas({ params, workload, rounds, oems: [oem], attacks: [] });
    // number = 1 spends ε = 3, the whole budget; number = 2 is a new window and is refused.
    expect(result.queries[0]).toMatchObject({
      ok: true,
      answer: { spent: { epsilon: '3' }, remaining: { epsilon: '0' } },
    });
    expect(result.queries[1]).toMatchObject({ ok: false, code: 'BUDGET_EXCEEDED' });
    expect(result.rejected.BUDGET_EXCEEDED).toBe(1);
  });

  it('the paper modes together still run end to end (for comparison)', () => {
    const { params, workload, rounds } = smallSetup({ modes: PAPER_MODES, seed: 'paper' });
    const result = runMaas({ params, workload, rounds });
    expect(exactOver(result, workload)).toBe(true);
  });
});
