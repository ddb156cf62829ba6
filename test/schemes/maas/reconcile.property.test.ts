import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/math/random.js';
import { createMaasDeployment } from '../../../src/schemes/maas/deployment.js';
import { defaultMaasParams } from '../../../src/schemes/maas/params.js';
import {
  decideResum,
  privateTarget,
  recordResum,
  startHistory,
} from '../../../src/schemes/maas/resumRule.js';
import { isolatable } from './spanCheck.js';

/**
 * The no-differencing rule as a property: whatever sequence of re-sum requests a gateway
 * is sent, the sets it answers (its first partial's set included) never let anyone compute
 * one device's share: the unit vector of no device lies in the span of their indicator
 * vectors. Checked with exact linear algebra (spanCheck.ts), and through the structure the
 * rule promises (a chain; differences of ≥ d devices; at most maxReaggregations re-sums).
 * A round whose own contributor set is one device gives that device's share with its
 * first partial: that is the round, not a re-sum, so it is the baseline compared against.
 */
const T0 = Date.UTC(2026, 0, 1);

const setOf = (n: number) => fc.subarray(Array.from({ length: n }, (_, i) => i));

describe('re-sums never isolate a device', () => {
  it('the span checker finds the attacks it must find (so the property below can fail)', () => {
    const S = [0, 1, 2, 3, 4, 5];
    const without = (...xs: number[]) => S.filter((d) => !xs.includes(d));
    expect(isolatable(6, [S, without(3)])).toEqual([3]);
    expect(isolatable(6, [S, without(0, 1), without(0, 2), without(1, 2)])).toEqual([0, 1, 2]);
    expect(isolatable(6, [S, without(0, 1), without(0, 1, 2, 3)])).toEqual([]);
  });

  it('any request sequence: accepted sets form a chain with gaps ≥ d, at most max re-sums, nothing isolatable (rule alone)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }).chain((n) =>
          fc.record({
            n: fc.constant(n),
            d: fc.integer({ min: 2, max: 4 }),
            max: fc.integer({ min: 0, max: 6 }),
            first: setOf(n),
            // Requests are either arbitrary subsets of the roster or built from the last
            // accepted set by dropping a few devices (the adversary's natural move).
            requests: fc.array(
              fc.oneof(
                setOf(n).map((s) => ({ set: s })),
                fc
                  .array(fc.integer({ min: 0, max: n - 1 }), { maxLength: 3 })
                  .map((drop) => ({ drop })),
              ),
              { maxLength: 10 },
            ),
          }),
        ),
        ({ n, d, max, first, requests }) => {
          const h = startHistory(first);
          const accepted: number[][] = [first];
          let resums = 0;
          for (const r of requests) {
            const target = 'set' in r ? r.set : [...h.last].filter((x) => !r.drop.includes(x));
            const decision = decideResum(h, (x) => first.includes(x), target, n, {
              maxReaggregations: max,
              minDifference: d,
            });
            if (!decision.ok) {
              expect(['ACCESS_DENIED', 'CONTRIBUTOR_MISMATCH']).toContain(decision.code);
              continue;
            }
            recordResum(h, decision);
            resums++;
            accepted.push(decision.target);
          }
          expect(resums).toBeLessThanOrEqual(max);
          const distinct = [...new Map(accepted.map((s) => [s.join(','), s])).values()].filter(
            (s) => s.length > 0,
          );
          // A chain: any two accepted sets are nested, and differ by ≥ d devices; a set
          // re-summed (not the first) holds ≥ d devices.
          for (const a of distinct) {
            if (a.join(',') !== first.join(',')) expect(a.length).toBeGreaterThanOrEqual(d);
            for (const b of distinct) {
              if (a === b) continue;
              const [small, big] = a.length < b.length ? [a, b] : [b, a];
              expect(small.every((x) => big.includes(x))).toBe(true);
              expect(big.length - small.length).toBeGreaterThanOrEqual(d);
            }
          }
          // Nothing isolatable beyond what the first partial gives (a one-device round).
          expect(isolatable(n, accepted)).toEqual(isolatable(n, [first]));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a real gateway: no sequence of accepted re-sums isolates a device (sums checked too)', () => {
    const n = 7;
    const params = defaultMaasParams({
      deployment: 'resum-prop',
      ians: 1,
      devicesPerIan: n,
      gateways: 3,
      threshold: 2,
      dimensions: ['a'],
      maxReading: [9],
      ldp: null,
    });
    const dep = createMaasDeployment(params, {
      oems: [],
      registeredAtMs: T0,
      rng: seededRandom(7),
    });
    const readings = Array.from({ length: n }, (_, i) => i + 1);
    let round = 0;
    fc.assert(
      fc.property(setOf(n), fc.array(setOf(n), { maxLength: 8 }), (missing, requests) => {
        const rd = round++;
        const g = dep.gateway(0, 1);
        g.beginRound(rd);
        for (let i = 0; i < n; i++) {
          if (missing.includes(i)) continue;
          const m = dep.device(0, i).report(rd, [readings[i]!], T0, seededRandom(`${rd}/${i}`));
          g.ingest(m.find((x) => x.gateway === 1)!.bytes, T0);
        }
        const closed = g.closeRound(T0);
        const accepted = [closed.contributors];
        let attempt = 0;
        for (const target of requests) {
          const res = g.resum(rd, target, ++attempt > 255 ? 255 : attempt, T0);
          if (res.ok) accepted.push(target);
        }
        expect(accepted.length - 1).toBeLessThanOrEqual(params.reconcile.maxReaggregations);
        expect(isolatable(n, accepted)).toEqual(isolatable(n, [closed.contributors]));
      }),
      { numRuns: 150 },
    );
  });

  it("the ledger's target is accepted by every asked gateway, and withholds only what it must", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }).chain((n) =>
          fc.record({
            n: fc.constant(n),
            d: fc.integer({ min: 2, max: 4 }),
            target: setOf(n),
            extra: fc.array(setOf(n), { minLength: 1, maxLength: 6 }),
          }),
        ),
        ({ n, d, target, extra }) => {
          // Each asked gateway's last set holds the target and some more devices.
          const sets = extra.map((e) => [...new Set([...target, ...e])].sort((a, b) => a - b));
          const out = privateTarget(sets, target, d);
          expect([...out.target, ...out.withheld].sort((a, b) => a - b)).toEqual(
            [...target].sort((a, b) => a - b),
          );
          // At most d withheld, or the whole target (fewer than d devices would remain).
          if (out.target.length > 0) expect(out.withheld.length).toBeLessThanOrEqual(d);
          expect(
            out.target.length === 0 || out.target.length >= d || out.withheld.length === 0,
          ).toBe(true);
          for (const s of sets) {
            const decision = decideResum(startHistory(s), (x) => s.includes(x), out.target, n, {
              maxReaggregations: 1,
              minDifference: d,
            });
            expect(decision.ok, JSON.stringify({ s, out })).toBe(true);
          }
          // Nothing is withheld when every gateway already differs by 0 or ≥ d (and the
          // target is large enough to be summed, or every gateway already summed it).
          const resend = sets.every((s) => s.length === target.length);
          if (
            sets.every((s) => s.length === target.length || s.length - target.length >= d) &&
            (resend || target.length === 0 || target.length >= d)
          )
            expect(out.withheld).toEqual([]);
        },
      ),
      { numRuns: 500 },
    );
  });
});
