import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/math/random.js';
import { configureScheme, registeredSchemes } from '../../../src/schemes/registry.js';
import {
  aggregatorAt,
  CENTER,
  deviceAt,
  type Envelope,
  type Population,
  type SchemeConfig,
} from '../../../src/schemes/scheme.js';
import { populationOf, runScheme } from '../../../src/sim/schemeRunner.js';
import { SyntheticWorkload } from '../../../src/sim/syntheticWorkload.js';

/**
 * The contract every registered scheme keeps, checked over all of them by one suite: the
 * recovered sums are the sums of what the devices that entered read, a silent device
 * gives either an exact sum over the rest or an honest failure (never a wrong sum), bad
 * bytes are refused with a code, a replayed report is REPLAY, a report relabelled as
 * another device's is refused, and a key blob of another role is BAD_KEY. A new scheme is
 * registered, and this suite runs over it without a line added here.
 */

/** Parameters that keep a scheme fast in tests (a scheme not listed runs on its defaults). */
const FAST: Record<string, unknown> = {
  'joye-libert': { modulusBits: 512 },
  maas: { ldp: 'off' },
};

function workload(seed: string, shape = { ians: 2, devicesPerIan: 5, rounds: 2 }) {
  return new SyntheticWorkload({
    ...shape,
    dimensions: 2,
    maxReading: 9,
    startRate: 0.3,
    rng: seededRandom(seed),
  });
}

function configured(id: string, pop: Population): SchemeConfig {
  return configureScheme(id, FAST[id] ?? {}, pop);
}

/** One group's roles, built from the TA's blobs, for driving by hand. */
function rolesOf(config: SchemeConfig, seed: string) {
  const setup = config.setup(seededRandom(`${seed}/setup`));
  const roles = config.roles(setup.publicSetup);
  return { setup, roles };
}

const NOW = 1_700_000_000_000;

for (const scheme of registeredSchemes()) {
  describe(`the scheme contract: ${scheme.id}`, () => {
    it('every group-round recovers the exact sum of what its devices read', async () => {
      await fc.assert(
        fc.asyncProperty(fc.string({ minLength: 1, maxLength: 8 }), async (seed) => {
          const w = workload(`contract/${seed}`);
          const config = configured(scheme.id, populationOf(w));
          const run = await runScheme({ config, workload: w, seed });
          for (const r of run.rounds) {
            for (const g of r.groups) {
              expect(g.status, `${g.reasons.join('; ')}`).not.toBe('failed');
              expect(g.contributors).toEqual([0, 1, 2, 3, 4]);
              expect(g.values!.map((v) => v.estimate)).toEqual(g.truth);
            }
          }
          expect(run.totals.map((t) => t.estimate)).toEqual(run.totals.map((t) => t.truth));
        }),
        { numRuns: scheme.id === 'joye-libert' || scheme.id === 'maas' ? 3 : 12 },
      );
    });

    it('a silent device: the sum over the others, or an honest failure, never a wrong sum', async () => {
      const w = workload('contract/silent');
      const config = configured(scheme.id, populationOf(w));
      const run = await runScheme({
        config,
        workload: w,
        seed: 'silent',
        faults: { deviceSilent: (g, i, r) => g === 0 && i === 3 && r === 1 },
      });
      const g0 = run.rounds[1]!.groups[0]!;
      if (g0.status === 'failed') {
        expect(g0.values).toBeNull();
        expect(g0.reasons.join(' ')).toMatch(/\S/);
      } else {
        expect(g0.status).toBe('degraded');
        expect(g0.contributors).toEqual([0, 1, 2, 4]);
        expect(g0.values!.map((v) => v.estimate)).toEqual(g0.truth);
        expect(g0.reasons).toContain('1 device(s) missing');
      }
      // The other group and the other round are untouched.
      expect(run.rounds[1]!.groups[1]!.status).toBe('complete');
      expect(run.rounds[0]!.groups[0]!.status).toBe('complete');
    });

    it('a lying aggregator meets what the scheme says: corrected and named, detected, or recovered as the lie', async () => {
      const w = workload('contract/lie');
      const config = configured(scheme.id, populationOf(w));
      const liar = config.topology.aggregators(0)[0]!;
      const SHIFT = 3;
      const run = await runScheme({
        config,
        workload: w,
        seed: 'lie',
        faults: {
          lying: (who, r) =>
            r === 1 && who.group === liar.group && who.index === liar.index
              ? { shift: SHIFT }
              : undefined,
        },
      });
      const g0 = run.rounds[1]!.groups[0]!;
      const named = g0.flagged.some(
        (f) => f.who.role === 'aggregator' && f.who.index === liar.index,
      );
      const kind = config.properties.lyingAggregator;
      if (kind === 'corrected') {
        expect(g0.values!.map((v) => v.estimate)).toEqual(g0.truth);
        expect(named).toBe(true);
      } else if (kind === 'detected') {
        // Never a wrong sum unnoticed: the round fails, or the liar is named.
        if (g0.values)
          expect(named || g0.values.every((v, j) => v.estimate === g0.truth![j])).toBe(true);
      } else {
        // The scheme cannot see it: the center recovers a wrong sum and names nobody — which
        // is why `privagg schemes` says so. (A sum scheme moves by exactly the shift.)
        expect(g0.values!.map((v) => v.estimate)).not.toEqual(g0.truth);
        if (scheme.id !== 'maas')
          expect(g0.values!.map((v) => v.estimate)).toEqual(g0.truth!.map((t) => t + SHIFT));
        expect(named).toBe(false);
      }
      // Only that group-round: the honest ones around it are exact.
      expect(run.rounds[0]!.groups[0]!.values!.map((v) => v.estimate)).toEqual(
        run.rounds[0]!.groups[0]!.truth,
      );
      expect(run.rounds[1]!.groups[1]!.values!.map((v) => v.estimate)).toEqual(
        run.rounds[1]!.groups[1]!.truth,
      );
    });

    it('bad bytes are refused with a code; a replay is REPLAY; the genuine report still counts', async () => {
      const w = workload('contract/bytes');
      const config = configured(scheme.id, populationOf(w));
      const { setup, roles } = rolesOf(config, 'bytes');
      const rng = seededRandom('bytes/roles');
      const device = roles.device(0, 1, setup.keysOf(deviceAt(0, 1)));
      const aggregators = new Map(
        config.topology
          .aggregators(0)
          .map((a) => [a.index, roles.aggregator(a, setup.keysOf(a))] as const),
      );
      for (const a of aggregators.values()) a.open(0, NOW);
      const sent = device.report(0, w.reading(0, 1, 0), NOW + 10, rng);
      expect(sent.length).toBeGreaterThan(0);
      const first: Envelope = sent[0]!;
      const to = aggregators.get(first.to.index)!;
      const from = deviceAt(0, 1);
      // Every single-byte change is refused (a sample of positions keeps the test fast).
      const positions = [0, 1, 5, Math.floor(first.bytes.length / 2), first.bytes.length - 1];
      for (const at of positions) {
        const bad = Uint8Array.from(first.bytes);
        bad[at]! ^= 0x40;
        const v = to.receive({ from, channel: first.channel, bytes: bad }, NOW + 20, rng).verdict;
        expect(v.ok, `byte ${at} changed`).toBe(false);
      }
      const truncated = first.bytes.subarray(0, first.bytes.length - 1);
      expect(
        to.receive({ from, channel: first.channel, bytes: truncated }, NOW + 20, rng).verdict,
      ).toMatchObject({ ok: false });
      // Relabelled: the transport says another device sent it.
      const relabelled = to.receive(
        { from: deviceAt(0, 2), channel: first.channel, bytes: first.bytes },
        NOW + 20,
        rng,
      ).verdict;
      expect(relabelled.ok).toBe(false);
      // The genuine one, then its replay.
      expect(
        to.receive({ from, channel: first.channel, bytes: first.bytes }, NOW + 20, rng).verdict,
      ).toEqual({ ok: true });
      const again = to.receive({ from, channel: first.channel, bytes: first.bytes }, NOW + 30, rng);
      expect(again.verdict).toMatchObject({ ok: false, code: 'REPLAY' });
      expect(to.counters().REPLAY).toBe(1);
    });

    it("a role given another role's key blob refuses it (BAD_KEY)", async () => {
      const w = workload('contract/keys');
      const config = configured(scheme.id, populationOf(w));
      const { setup, roles } = rolesOf(config, 'keys');
      const agg = config.topology.aggregators(0)[0]!;
      expect(() => roles.device(0, 1, setup.keysOf(deviceAt(0, 2)))).toThrow(/BAD_KEY/);
      expect(() => roles.aggregator(agg, setup.keysOf(deviceAt(0, 0)))).toThrow(/BAD_KEY/);
      expect(() => roles.center(setup.keysOf(agg))).toThrow(/BAD_KEY/);
      expect(() => roles.aggregator(aggregatorAt(1, agg.index), setup.keysOf(agg))).toThrow(
        /BAD_KEY/,
      );
      expect(() => roles.center(setup.keysOf(CENTER))).not.toThrow();
    });

    it('the same seed gives the same public setup and key blobs (vectors depend on it)', async () => {
      const w = workload('contract/seed');
      const config = configured(scheme.id, populationOf(w));
      const a = rolesOf(config, 'same');
      const b = rolesOf(config, 'same');
      expect(Buffer.from(a.setup.publicSetup)).toEqual(Buffer.from(b.setup.publicSetup));
      expect(Buffer.from(a.setup.keysOf(deviceAt(1, 4)))).toEqual(
        Buffer.from(b.setup.keysOf(deviceAt(1, 4))),
      );
    });

    it('declares its properties and the size of every channel it sends on', async () => {
      const w = workload('contract/sizes');
      const config = configured(scheme.id, populationOf(w));
      for (const k of ['privacy', 'integrity', 'deviceFaults', 'aggregatorFaults', 'dp'] as const)
        expect(config.properties[k].length).toBeGreaterThan(3);
      const { setup, roles } = rolesOf(config, 'sizes');
      const sent = roles
        .device(0, 0, setup.keysOf(deviceAt(0, 0)))
        .report(0, w.reading(0, 0, 0), NOW, seededRandom('sizes'));
      for (const e of sent) expect(e.bytes.length).toBeLessThanOrEqual(config.sizes[e.channel]!);
    });
  });
}
