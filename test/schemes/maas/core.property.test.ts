import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/math/random.js';
import { createMaasDeployment } from '../../../src/schemes/maas/deployment.js';
import { defaultMaasParams } from '../../../src/schemes/maas/params.js';

const T0 = Date.UTC(2026, 0, 1);

/**
 * The core alone, driven with arbitrary contributor sets and any k-of-m alive: each
 * gateway misses an arbitrary subset of devices, an arbitrary set of gateways is alive,
 * and the restored sums (LDP off) are exact over the contributor set reconciliation
 * settles on, which keeps every device all live gateways hold (but those withheld by the
 * no-differencing rule) and none fewer than k hold; every gateway asked accepts the target.
 * Both properties are about crashes, so they tolerate no lying gateway (f = 0): with f > 0
 * a restore needs k + f partials, not k (liars.test.ts).
 */
describe('MaaS core properties', () => {
  it('any contributor sets, any k of m alive: restore is exact over the reconciled set', () => {
    fc.assert(
      fc.property(
        fc
          .record({
            m: fc.integer({ min: 1, max: 7 }),
            n: fc.integer({ min: 1, max: 10 }),
            seed: fc.integer(),
          })
          .chain(({ m, n, seed }) =>
            fc.record({
              m: fc.constant(m),
              n: fc.constant(n),
              seed: fc.constant(seed),
              k: fc.integer({ min: 1, max: m }),
              readings: fc.array(
                fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 2, maxLength: 2 }),
                {
                  minLength: n,
                  maxLength: n,
                },
              ),
              // missing[l] = devices gateway l+1 never received
              missing: fc.array(fc.subarray(Array.from({ length: n }, (_, i) => i)), {
                minLength: m,
                maxLength: m,
              }),
              alive: fc.subarray(
                Array.from({ length: m }, (_, l) => l + 1),
                { minLength: 1 },
              ),
            }),
          ),
        ({ m, n, k, seed, readings, missing, alive }) => {
          const params = defaultMaasParams({
            deployment: 'prop',
            ians: 1,
            devicesPerIan: n,
            gateways: m,
            threshold: k,
            dimensions: ['a', 'b'],
            maxReading: [9, 9],
            ldp: null,
            maxLyingGateways: 0,
          });
          const dep = createMaasDeployment(params, {
            oems: [],
            registeredAtMs: T0,
            rng: seededRandom(seed),
          });
          const rng = seededRandom(`shares-${seed}`);
          const gws = Array.from({ length: m }, (_, l) => dep.gateway(0, l + 1));
          for (const g of gws) g.beginRound(0);
          for (let i = 0; i < n; i++) {
            for (const msg of dep.device(0, i).report(0, readings[i]!, T0, rng)) {
              if (!missing[msg.gateway - 1]!.includes(i))
                gws[msg.gateway - 1]!.ingest(msg.bytes, T0);
            }
          }
          const { contract } = dep.ledger();
          for (const l of alive) contract.add(gws[l - 1]!.closeRound(T0).partial, T0);
          let outcome = contract.restore(0, 0);
          // Devices left out of a re-sum so no gateway's two sums differ by < d devices.
          const withheld = new Set<number>();
          while (outcome.status === 'reconcile') {
            for (const i of outcome.withheld ?? []) withheld.add(i);
            // At most d devices are withheld, unless the whole (too small) target is.
            if (outcome.contributors.length > 0)
              expect((outcome.withheld ?? []).length).toBeLessThanOrEqual(
                params.reconcile.minDifference,
              );
            // Every gateway asked accepts the target (the ledger asks only what the
            // no-differencing rule allows) and its partial is the one the ledger asked for.
            for (const l of outcome.gateways) {
              const again = gws[l - 1]!.resum(0, outcome.contributors, outcome.attempt, T0);
              expect(again.ok, JSON.stringify(again)).toBe(true);
              if (again.ok) expect(contract.add(again.partial, T0).ok).toBe(true);
            }
            outcome = contract.restore(0, 0);
          }
          if (alive.length < k) {
            expect(outcome.status).toBe('failed');
            return;
          }
          expect(outcome.status).toBe('restored');
          if (outcome.status !== 'restored') return;
          const holds = (l: number, i: number) => !missing[l - 1]!.includes(i);
          // Never lose a device every live gateway received (unless withheld to keep a
          // gateway's sums from differing by fewer than d devices); never keep one fewer
          // than k hold.
          for (let i = 0; i < n; i++) {
            if (alive.every((l) => holds(l, i)) && !withheld.has(i))
              expect(outcome.contributors).toContain(i);
            if (alive.filter((l) => holds(l, i)).length < k)
              expect(outcome.contributors).not.toContain(i);
          }
          // Every gateway used holds every contributor, and at least k were used.
          expect(outcome.gateways.length).toBeGreaterThanOrEqual(k);
          for (const l of outcome.gateways)
            for (const i of outcome.contributors) expect(holds(l, i)).toBe(true);
          // Exact: the restored sums are the plain sums over the contributors.
          const sums = [0, 1].map((j) =>
            outcome.contributors.reduce((s, i) => s + readings[i]![j]!, 0),
          );
          expect(outcome.estimates.map((e) => e.estimate)).toEqual(sums);
          expect(outcome.liars).toEqual([]);
          expect(outcome.crossChecked).toBe(outcome.gateways.length > k);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('decrypt(aggregate) = sum: restored sums equal the sum of readings for any alive set of ≥ k', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }).chain((k) =>
          fc.record({
            k: fc.constant(k),
            alive: fc.subarray([1, 2, 3, 4, 5], { minLength: k }),
            seed: fc.integer(),
          }),
        ),
        ({ k, alive, seed }) => {
          const params = defaultMaasParams({
            deployment: 'p2',
            ians: 1,
            devicesPerIan: 4,
            threshold: k,
            ldp: null,
            maxLyingGateways: 0,
          });
          const dep = createMaasDeployment(params, {
            oems: [],
            registeredAtMs: T0,
            rng: seededRandom(seed),
          });
          const gws = alive.map((l) => dep.gateway(0, l));
          for (const g of gws) g.beginRound(7);
          const readings = [
            [1, 0, 2, 5, 0],
            [0, 0, 0, 0, 0],
            [5, 5, 5, 5, 5],
            [3, 1, 4, 1, 5],
          ];
          for (let i = 0; i < 4; i++) {
            for (const msg of dep
              .device(0, i)
              .report(7, readings[i]!, T0, seededRandom(seed + i))) {
              const at = alive.indexOf(msg.gateway);
              if (at >= 0) gws[at]!.ingest(msg.bytes, T0);
            }
          }
          const { contract } = dep.ledger();
          for (const g of gws) contract.add(g.closeRound(T0).partial, T0);
          const out = contract.restore(0, 7);
          expect(out.status).toBe('restored');
          if (out.status === 'restored')
            expect(out.estimates.map((e) => e.estimate)).toEqual([9, 6, 11, 11, 10]);
        },
      ),
      { numRuns: 60 },
    );
  });
});
