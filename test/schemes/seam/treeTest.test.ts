import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/math/random.js';
import { configureScheme } from '../../../src/schemes/registry.js';
import { aggregatorAt, CENTER, deviceAt } from '../../../src/schemes/scheme.js';
import { populationOf, runScheme } from '../../../src/sim/schemeRunner.js';
import { SyntheticWorkload } from '../../../src/sim/syntheticWorkload.js';

/**
 * The runtime's own test scheme with a two-level tree and a second phase: what the
 * generic driver and router must carry for DDPFT-, SPPDA- and DPAFT-like schemes.
 */
const w = new SyntheticWorkload({
  ians: 2,
  devicesPerIan: 7,
  rounds: 3,
  dimensions: 3,
  maxReading: 20,
  startRate: 0.4,
  rng: seededRandom('tree'),
});
const config = configureScheme('tree-test', { leaves: 3 }, populationOf(w));

describe('tree-test: a two-level tree and a failure phase', () => {
  it('the topology is leaves then the root, devices spread over the leaves', () => {
    const t = config.topology;
    expect(t.aggregators(1).map((a) => a.index)).toEqual([1, 2, 3, 0]);
    expect(t.upstream(deviceAt(1, 4))).toEqual([aggregatorAt(1, 2)]);
    expect(t.upstream(aggregatorAt(1, 2))).toEqual([aggregatorAt(1, 0)]);
    expect(t.upstream(aggregatorAt(1, 0))).toEqual([CENTER]);
  });

  it('no device missing: one phase; two missing: the announcement, the mask answers, the exact sum', async () => {
    const run = await runScheme({
      config,
      workload: w,
      seed: 'phases',
      faults: { deviceSilent: (g, i, r) => g === 0 && r === 1 && (i === 2 || i === 6) },
    });
    const complete = run.rounds[0]!.groups[0]!;
    expect(complete).toMatchObject({ status: 'complete', phases: 0 });
    expect(complete.values!.map((v) => v.estimate)).toEqual(complete.truth);
    const degraded = run.rounds[1]!.groups[0]!;
    expect(degraded.phases).toBe(1);
    expect(degraded.status).toBe('degraded');
    expect(degraded.contributors).toEqual([0, 1, 3, 4, 5]);
    expect(degraded.values!.map((v) => v.estimate)).toEqual(degraded.truth);
    expect(degraded.reasons).toEqual([
      'second phase: 5 mask answer(s) for 2 missing device(s)',
      '2 device(s) missing',
    ]);
  });

  it('a mask answer lost on the way fails the group-round honestly instead of a masked sum', async () => {
    const run = await runScheme({
      config,
      workload: w,
      seed: 'lost-aux',
      faults: {
        deviceSilent: (g, i, r) => g === 0 && r === 0 && i === 5,
        router: () => ({ drop: (from, e) => e.channel === 'aux' && from.index === 1 }),
      },
    });
    const g0 = run.rounds[0]!.groups[0]!;
    expect(g0.status).toBe('failed');
    expect(g0.values).toBeNull();
    expect(g0.reasons.at(-1)).toMatch(/1 device\(s\) did not answer the failure announcement/);
    expect(run.rounds[0]!.groups[1]!.status).toBe('complete');
  });

  it('a leaf down loses its devices; late reports are refused; the rest is exact', async () => {
    const run = await runScheme({
      config,
      workload: w,
      seed: 'leaf-down',
      faults: {
        down: (who, r) =>
          r === 2 && who.role === 'aggregator' && who.group === 1 && who.index === 2,
        router: (r) => ({
          delay: (from, e) => r === 1 && e.channel === 'report' && from.index === 0,
        }),
      },
    });
    const leafDown = run.rounds[2]!.groups[1]!;
    // Leaf 2 serves devices 1 and 4.
    expect(leafDown.contributors).toEqual([0, 2, 3, 5, 6]);
    expect(leafDown.values!.map((v) => v.estimate)).toEqual(leafDown.truth);
    const late = run.rounds[1]!.groups[0]!;
    expect(late.contributors).toEqual([1, 2, 3, 4, 5, 6]);
    expect(late.values!.map((v) => v.estimate)).toEqual(late.truth);
    expect(run.rejections.WRONG_ROUND).toBe(2);
  });

  it('the devices refuse an announcement that is forged, names themselves, or comes twice', () => {
    const setup = config.setup(seededRandom('announce'));
    const roles = config.roles(setup.publicSetup);
    const rng = seededRandom('announce/roles');
    const d = roles.device(0, 3, setup.keysOf(deviceAt(0, 3)));
    const center = roles.center(setup.keysOf(CENTER));
    const leaves = config.topology.aggregators(0).map((a) => roles.aggregator(a, setup.keysOf(a)));
    for (const a of leaves) a.open(0, 0);
    const byIndex = new Map(leaves.map((a) => [a.address.index, a]));
    // Devices 0..5 report; 6 is missing, so the center announces it.
    for (let i = 0; i < 6; i++) {
      const dev = roles.device(0, i, setup.keysOf(deviceAt(0, i)));
      for (const e of dev.report(0, w.reading(0, i, 0), 10, rng))
        byIndex
          .get(e.to.index)!
          .receive({ from: deviceAt(0, i), channel: e.channel, bytes: e.bytes }, 10, rng);
    }
    for (const a of leaves) {
      for (const e of a.close(0, 20, rng)) {
        const target = e.to.role === 'center' ? center : byIndex.get(e.to.index)!;
        target.receive({ from: a.address, channel: e.channel, bytes: e.bytes }, 20, rng);
      }
    }
    const pending = center.recover(0, 0, 30);
    expect(pending.status).toBe('pending');
    if (pending.status !== 'pending') return;
    const mine = pending.next.find((e) => e.to.index === 3)!;
    const forged = Uint8Array.from(mine.bytes);
    forged[forged.length - 1]! ^= 1;
    expect(
      d.receive!({ from: CENTER, channel: 'announce', bytes: forged }, 40, rng).verdict,
    ).toMatchObject({
      ok: false,
      code: 'BAD_MAC',
    });
    const fromAggregator = d.receive!(
      { from: aggregatorAt(0, 0), channel: 'announce', bytes: mine.bytes },
      40,
      rng,
    );
    expect(fromAggregator.verdict).toMatchObject({ ok: false, code: 'UNKNOWN_SENDER' });
    // Device 3's announcement delivered to device 4 is not for it.
    const d4 = roles.device(0, 4, setup.keysOf(deviceAt(0, 4)));
    expect(
      d4.receive!({ from: CENTER, channel: 'announce', bytes: mine.bytes }, 40, rng).verdict.ok,
    ).toBe(false);
    const ok = d.receive!({ from: CENTER, channel: 'announce', bytes: mine.bytes }, 40, rng);
    expect(ok.verdict).toEqual({ ok: true });
    expect(ok.out.map((e) => e.channel)).toEqual(['aux']);
    expect(
      d.receive!({ from: CENTER, channel: 'announce', bytes: mine.bytes }, 41, rng).verdict,
    ).toMatchObject({
      ok: false,
      code: 'REPLAY',
    });
  });
});
