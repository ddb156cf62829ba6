import { describe, expect, it } from 'vitest';
import { ed25519PrivateKey } from '../../../src/crypto/ed25519.js';
import { ErrorCode } from '../../../src/errors.js';
import { type RandomSource, seededRandom } from '../../../src/math/random.js';
import { MaasGateway } from '../../../src/schemes/maas/gateway.js';
import { defaultMaasParams } from '../../../src/schemes/maas/params.js';
import {
  configureMaas,
  type MaasSchemeConfig,
  maasScheme,
} from '../../../src/schemes/maas/scheme.js';
import { gatewayKeyOf, openSetup } from '../../../src/schemes/maas/schemeKeys.js';
import type { MaasSchemeParams } from '../../../src/schemes/maas/schemeParams.js';
import { roundStatusOf } from '../../../src/schemes/roundStatus.js';
import {
  type AggregatorRole,
  aggregatorAt,
  CENTER,
  type CenterRole,
  type DeviceRole,
  deviceAt,
  type Envelope,
  type Population,
  type Recovery,
  type SchemeRoles,
  type TrustedSetup,
} from '../../../src/schemes/scheme.js';
import { lyingPartial } from '../../../src/sim/maasAttacks.js';
import { runMaas } from '../../../src/sim/maasRunner.js';
import { runScheme } from '../../../src/sim/schemeRunner.js';
import { SyntheticWorkload } from '../../../src/sim/syntheticWorkload.js';
import { encodeSignedControl } from '../../../src/wire/control.js';

/**
 * MaaS behind the scheme seam, driven role by role with no network: devices report,
 * each envelope goes to its aggregator, aggregators close, partials go to the center,
 * which recovers; a pending recovery's reconcile envelopes go to the gateways it names and
 * their re-sums back to the center, until it recovers or fails. LDP is off, so totals are
 * exact, and input validity runs both on (the default) and off.
 */
const T0 = Date.UTC(2026, 0, 1);
const ROUND_MS = 60_000;
const N = 8;

function workloadOf(groups: number, seed = 'scheme') {
  return new SyntheticWorkload({
    ians: groups,
    devicesPerIan: N,
    rounds: 2,
    dimensions: 3,
    maxReading: 6,
    // Rates high enough that sums are not all zero.
    startRate: 0.3,
    rng: seededRandom(`workload/${seed}`),
  });
}

function populationOf(w: SyntheticWorkload): Population {
  return {
    groups: w.ians,
    devicesPerGroup: w.devicesPerIan,
    dimensions: w.dimensionNames.map((name, j) => ({ name, max: w.maxReading[j]! })),
  };
}

interface Deployed {
  cfg: MaasSchemeConfig;
  ta: TrustedSetup;
  roles: SchemeRoles;
  devices: DeviceRole[][];
  aggregators: AggregatorRole[][];
  center: CenterRole;
}

function deploy(given: Record<string, unknown>, pop: Population, seed = 'ta'): Deployed {
  const cfg = configureMaas(
    maasScheme.params.parse({ deployment: 'test', ldp: 'off', ...given }),
    pop,
  );
  const ta = cfg.setup(seededRandom(seed));
  const roles = cfg.roles(ta.publicSetup);
  const devices = Array.from({ length: pop.groups }, (_, g) =>
    Array.from({ length: pop.devicesPerGroup }, (_, i) =>
      roles.device(g, i, ta.keysOf(deviceAt(g, i))),
    ),
  );
  const aggregators = Array.from({ length: pop.groups }, (_, g) =>
    cfg.topology.aggregators(g).map((at) => roles.aggregator(at, ta.keysOf(at))),
  );
  return { cfg, ta, roles, devices, aggregators, center: roles.center(ta.keysOf(CENTER)) };
}

interface RoundOptions {
  /** Drop a device's report on its way (true: not delivered). */
  drop?: (device: { group: number; index: number }, to: Envelope['to']) => boolean;
  /** Replace a partial on its way to the center (a lying gateway). */
  tamper?: (from: AggregatorRole, bytes: Uint8Array, now: number) => Uint8Array;
}

/** One round through every role; returns each group's final recovery and its phases. */
function runRound(
  d: Deployed,
  workload: SyntheticWorkload,
  round: number,
  o: RoundOptions = {},
): { recovery: Recovery; phases: Recovery[] }[] {
  const now = T0 + round * ROUND_MS;
  const rng = seededRandom(`round/${round}`);
  const toCenter = (from: AggregatorRole, envelopes: readonly Envelope[], at: number) => {
    for (const e of envelopes) {
      expect(e.to).toEqual(CENTER);
      expect(e.channel).toBe('partial');
      const bytes = o.tamper ? o.tamper(from, e.bytes, at) : e.bytes;
      const a = d.center.receive({ from: from.address, channel: e.channel, bytes }, at);
      expect(a.verdict).toEqual({ ok: true });
    }
  };
  for (const row of d.aggregators) for (const a of row) a.open(round, now);
  d.devices.forEach((row, g) => {
    row.forEach((dev, i) => {
      const envelopes = dev.report(round, workload.reading(g, i, round), now, rng);
      expect(envelopes.map((e) => e.to)).toEqual(d.cfg.topology.upstream(dev.address));
      for (const e of envelopes) {
        expect(e.channel).toBe('report');
        if (o.drop?.({ group: g, index: i }, e.to)) continue;
        const agg = d.aggregators[e.to.group]![e.to.index]!;
        const a = agg.receive(
          { from: dev.address, channel: e.channel, bytes: e.bytes },
          now + 1000,
          rng,
        );
        expect(a.verdict).toEqual({ ok: true });
        expect(a.out).toEqual([]);
      }
    });
  });
  for (const row of d.aggregators)
    for (const a of row) toCenter(a, a.close(round, now + 2000, rng), now + 3000);
  return d.aggregators.map((row, g) => {
    const phases: Recovery[] = [];
    let r = d.center.recover(g, round, now + 3500);
    phases.push(r);
    while (r.status === 'pending' && phases.length < 6) {
      for (const e of r.next) {
        expect(e.channel).toBe('reconcile');
        const agg = row[e.to.index]!;
        expect(agg.address).toEqual(e.to);
        const a = agg.receive(
          { from: CENTER, channel: e.channel, bytes: e.bytes },
          now + 4000,
          rng,
        );
        expect(a.verdict).toEqual({ ok: true });
        toCenter(agg, a.out, now + 4000);
      }
      r = d.center.recover(g, round, now + 4500);
      phases.push(r);
    }
    return { recovery: r, phases };
  });
}

/** Σ readings over the contributors, per dimension. */
function truthOver(
  w: SyntheticWorkload,
  g: number,
  round: number,
  contributors: readonly number[],
) {
  return w.groundTruthOver(contributors.map((device) => ({ ian: g, device, round })));
}

function valuesOf(r: Recovery): number[] {
  if (r.status !== 'recovered') throw new Error(`not recovered: ${JSON.stringify(r)}`);
  return r.values.map((v) => v.estimate);
}

/** What today's in-process runner reports for the same population and parameters. */
function runnerReport(
  cfg: MaasSchemeConfig,
  workload: SyntheticWorkload,
  extra: Partial<Parameters<typeof runMaas>[0]> = {},
) {
  const res = runMaas({
    params: cfg.maasParams,
    workload,
    rounds: 1,
    queries: false,
    cryptoRng: seededRandom('runner-crypto'),
    startTimeMs: T0,
    ...extra,
  });
  return res.rounds[0]!.ians;
}

const VALIDITY = [
  { name: 'input validity on', given: {} },
  { name: 'input validity off', given: { inputValidity: 'off' } },
] as const;

describe.each(VALIDITY)('maasScheme, roles driven directly ($name)', ({ given }) => {
  it('recovers exact totals: the sum of every reading, complete as the runner says', () => {
    const workload = workloadOf(2);
    const d = deploy(given, populationOf(workload));
    for (const round of [0, 1]) {
      const out = runRound(d, workload, round);
      out.forEach(({ recovery, phases }, g) => {
        expect(phases).toHaveLength(1);
        expect(recovery.status).toBe('recovered');
        if (recovery.status !== 'recovered') return;
        const all = Array.from({ length: N }, (_, i) => i);
        expect(recovery.contributors).toEqual(all);
        expect(valuesOf(recovery)).toEqual(truthOver(workload, g, round, all));
        expect(recovery.values.map((v) => v.name)).toEqual(['d1', 'd2', 'd3']);
        expect(recovery.values.every((v) => v.standardError === 0)).toBe(true);
        expect(roundStatusOf(recovery, N)).toEqual({
          group: g,
          round,
          status: 'complete',
          reasons: [],
        });
        expect(recovery.detail).toMatchObject({ attempt: 0, liars: [], crossChecked: true });
      });
    }
    const runner = runnerReport(d.cfg, workload);
    expect(runner.map((x) => [x.status, x.reasons])).toEqual([
      ['complete', []],
      ['complete', []],
    ]);
    // Counters: every report and partial accepted, none refused.
    expect(d.aggregators[0]![0]!.counters()).toEqual({ accepted: 2 * N });
    expect(d.center.counters()).toEqual({ accepted: 2 * 2 * 5 });
  });

  it('a device that reached only some gateways: a pending phase, then the sum over the agreed set', () => {
    const workload = workloadOf(1);
    const d = deploy(given, populationOf(workload));
    const late = N - 1;
    // Device 7's report never reaches gateway 1 (aggregator index 0), as the runner's
    // out-of-range-share attack leaves it out there.
    const [{ recovery, phases }] = runRound(d, workload, 0, {
      drop: (dev, to) => dev.index === late && to.index === 0,
    }) as [{ recovery: Recovery; phases: Recovery[] }];
    expect(phases.length).toBeGreaterThan(1);
    const first = phases[0]!;
    expect(first.status).toBe('pending');
    if (first.status !== 'pending') return;
    expect(first.notes).toContain(`device ${late} dropped: missing at gateway(s) 1`);
    expect(first.next.every((e) => e.channel === 'reconcile')).toBe(true);
    // A pending recovery is a failure if the time is up.
    expect(roundStatusOf(first, N).status).toBe('failed');

    expect(recovery.status).toBe('recovered');
    if (recovery.status !== 'recovered') return;
    expect(recovery.contributors).not.toContain(late);
    expect(valuesOf(recovery)).toEqual(truthOver(workload, 0, 0, recovery.contributors));
    const status = roundStatusOf(recovery, N);
    expect(status.status).toBe('degraded');
    expect(status.reasons).toContain(`device ${late} dropped: missing at gateway(s) 1`);
    expect(status.reasons).toContain(`${N - recovery.contributors.length} device(s) missing`);

    // Today's runner, same scenario: the same status, contributors and totals, and the
    // same dropped device named with the gateway that lacked it.
    const [runner] = runnerReport(d.cfg, workload, { attacks: ['out-of-range-share'] });
    expect(runner!.status).toBe(status.status);
    expect(runner!.contributors).toEqual(recovery.contributors);
    expect(runner!.estimates!.map((e) => e.estimate)).toEqual(valuesOf(recovery));
    expect(runner!.reasons).toContain(`device ${late} dropped: missing at gateway(s) 1`);
    expect(runner!.attempts).toBe(phases.length - 1);
    // The runner names every device left out as dropped (those withheld for privacy with
    // no gateway); the center names the missing ones and counts the withheld apart.
    const withheld = (recovery.detail as { withheld: number[] }).withheld;
    const droppedBy = (reasons: readonly string[]) =>
      reasons.flatMap((r) => /^device (\d+) dropped/.exec(r)?.[1] ?? []).map(Number);
    expect(droppedBy(runner!.reasons).sort()).toEqual(
      [...droppedBy(status.reasons), ...withheld].sort(),
    );
    expect(status.reasons).toEqual([
      `device ${late} dropped: missing at gateway(s) 1`,
      ...(withheld.length > 0
        ? [
            `${withheld.length} device(s) left out of the re-sum to keep sums private (no two sums of a gateway differ by fewer devices than the minimum)`,
          ]
        : []),
      `${N - recovery.contributors.length} device(s) missing`,
    ]);
  });

  it('one lying gateway at m = 5, k = 3 (f = 1) is flagged and corrected', () => {
    const workload = workloadOf(1);
    const d = deploy({ ...given, maxLyingGateways: 1 }, populationOf(workload));
    const liar = aggregatorAt(0, 1); // gateway 2
    const setup = openSetup(
      d.ta.publicSetup,
      d.cfg.publicConfig as MaasSchemeParams,
      d.cfg.population,
    );
    const core = new MaasGateway(gatewayKeyOf(setup, liar, d.ta.keysOf(liar), N), d.cfg.maasParams);
    const lieRng = seededRandom('lie');
    const [{ recovery, phases }] = runRound(d, workload, 0, {
      tamper: (from, bytes, now) =>
        from.address.index === liar.index
          ? lyingPartial(core, Buffer.from(bytes), 0, [], 0, now, lieRng, d.cfg.maasParams)!
          : bytes,
    }) as [{ recovery: Recovery; phases: Recovery[] }];
    expect(phases).toHaveLength(1);
    expect(recovery.status).toBe('recovered');
    if (recovery.status !== 'recovered') return;
    const all = Array.from({ length: N }, (_, i) => i);
    expect(valuesOf(recovery)).toEqual(truthOver(workload, 0, 0, all));
    expect(recovery.flagged).toEqual([{ who: liar, why: 'lied and was corrected' }]);
    expect(recovery.detail).toMatchObject({ liars: [2], gateways: [1, 3, 4, 5] });
    const status = roundStatusOf(recovery, N);
    expect(status).toEqual({
      group: 0,
      round: 0,
      status: 'degraded',
      reasons: ['aggregator/0/1: lied and was corrected'],
    });
    const [runner] = runnerReport(d.cfg, workload, {
      faults: { lyingGateways: [{ ian: 0, gateway: 2 }] },
    });
    expect(runner!.status).toBe(status.status);
    expect(runner!.reasons).toEqual(['gateway 2 lied and was corrected']);
    expect(runner!.liars).toEqual([2]);
    expect(runner!.estimates!.map((e) => e.estimate)).toEqual(valuesOf(recovery));
  });
});

describe('maasScheme: what the roles refuse', () => {
  const workload = workloadOf(1);
  const pop = populationOf(workload);

  /** A round whose contributor sets differ, so the center asks for a re-sum. */
  function pendingRound(d: Deployed, rng: RandomSource) {
    const now = T0;
    for (const a of d.aggregators[0]!) a.open(0, now);
    d.devices[0]!.forEach((dev, i) => {
      for (const e of dev.report(0, workload.reading(0, i, 0), now, rng)) {
        if (i === N - 1 && e.to.index === 0) continue;
        d.aggregators[0]![e.to.index]!.receive(
          { from: dev.address, channel: e.channel, bytes: e.bytes },
          now + 1000,
          rng,
        );
      }
    });
    for (const a of d.aggregators[0]!) {
      for (const e of a.close(0, now + 2000, rng))
        d.center.receive({ from: a.address, channel: e.channel, bytes: e.bytes }, now + 3000);
    }
    const r = d.center.recover(0, 0, now + 3500);
    if (r.status !== 'pending') throw new Error(`expected pending, got ${r.status}`);
    return r;
  }

  it('a reconcile request not signed by the center, or not from it, makes no gateway re-sum', () => {
    const d = deploy({ inputValidity: 'off' }, pop);
    const rng = seededRandom('refuse');
    const pending = pendingRound(d, rng);
    const genuine = pending.next[0]!;
    const gw = d.aggregators[0]![genuine.to.index]!;
    const now = T0 + 4000;

    // The same request signed by anyone else's key.
    const forger = ed25519PrivateKey(Buffer.alloc(32, 7));
    const params = d.cfg.maasParams;
    const forged = encodeSignedControl(
      'reconcile',
      {
        deployment: params.deployment,
        epochMs: 0,
        ian: 0,
        round: 0,
        attempt: 1,
        rosterSize: N,
        gatewayCount: params.gateways,
        contributors: [0, 1, 2, 3],
        gateways: [1, 2, 3, 4, 5],
      },
      forger,
    );
    const a = gw.receive({ from: CENTER, channel: 'reconcile', bytes: forged }, now, rng);
    expect(a.verdict).toMatchObject({ ok: false, code: ErrorCode.BAD_SIGNATURE });
    expect(a.out).toEqual([]);

    // A genuine request relayed by another role (the transport vouches for the sender).
    const relayed = gw.receive(
      { from: deviceAt(0, 0), channel: 'reconcile', bytes: genuine.bytes },
      now,
      rng,
    );
    expect(relayed.verdict).toMatchObject({ ok: false, code: ErrorCode.UNKNOWN_SENDER });

    // Tampered: one bit of the contributor set flipped.
    const tampered = Buffer.from(genuine.bytes);
    tampered[tampered.length - 65]! ^= 0x01;
    expect(
      gw.receive({ from: CENTER, channel: 'reconcile', bytes: tampered }, now, rng).verdict,
    ).toMatchObject({ ok: false, code: ErrorCode.BAD_SIGNATURE });

    // The genuine one is answered once; its replay is refused.
    const ok = gw.receive({ from: CENTER, channel: 'reconcile', bytes: genuine.bytes }, now, rng);
    expect(ok.verdict).toEqual({ ok: true });
    expect(ok.out).toHaveLength(1);
    expect(ok.out[0]!.to).toEqual(CENTER);
    const again = gw.receive(
      { from: CENTER, channel: 'reconcile', bytes: genuine.bytes },
      now,
      rng,
    );
    expect(again.verdict).toMatchObject({ ok: false, code: ErrorCode.REPLAY });

    // The center of another setup (its own control key) is not this deployment's center.
    const other = deploy({ inputValidity: 'off' }, pop, 'another TA');
    const foreign = pendingRound(other, seededRandom('refuse'));
    const gw2 = d.aggregators[0]![foreign.next[1]!.to.index]!;
    expect(
      gw2.receive({ from: CENTER, channel: 'reconcile', bytes: foreign.next[1]!.bytes }, now, rng)
        .verdict,
    ).toMatchObject({ ok: false, code: ErrorCode.BAD_SIGNATURE });
    expect(gw.counters()).toMatchObject({ BAD_SIGNATURE: 2, UNKNOWN_SENDER: 1, REPLAY: 1 });
  });

  it('a report relabelled as another device, or a partial as another gateway, is UNKNOWN_SENDER', () => {
    const d = deploy({ inputValidity: 'off' }, pop);
    const rng = seededRandom('relabel');
    const gw = d.aggregators[0]![0]!;
    gw.open(0, T0);
    const [toGw1] = d.devices[0]![3]!.report(0, workload.reading(0, 3, 0), T0, rng);
    const wrong = gw.receive(
      { from: deviceAt(0, 4), channel: 'report', bytes: toGw1!.bytes },
      T0,
      rng,
    );
    expect(wrong.verdict).toMatchObject({ ok: false, code: ErrorCode.UNKNOWN_SENDER });
    // Sent to the wrong gateway: the core's own addressee check.
    const gw2 = d.aggregators[0]![1]!;
    gw2.open(0, T0);
    expect(
      gw2.receive({ from: deviceAt(0, 3), channel: 'report', bytes: toGw1!.bytes }, T0, rng)
        .verdict,
    ).toMatchObject({ ok: false, code: ErrorCode.WRONG_RECIPIENT });
    expect(
      gw.receive({ from: deviceAt(0, 3), channel: 'report', bytes: toGw1!.bytes }, T0, rng).verdict,
    ).toEqual({ ok: true });
    const [partial] = gw.close(0, T0 + 1000, rng);
    expect(
      d.center.receive({ from: aggregatorAt(0, 2), channel: 'partial', bytes: partial!.bytes }, T0)
        .verdict,
    ).toMatchObject({ ok: false, code: ErrorCode.UNKNOWN_SENDER });
    expect(
      d.center.receive({ from: gw.address, channel: 'partial', bytes: partial!.bytes }, T0).verdict,
    ).toEqual({ ok: true });
    expect(
      d.center.receive({ from: gw.address, channel: 'partial', bytes: partial!.bytes }, T0).verdict,
    ).toMatchObject({ ok: false, code: ErrorCode.REPLAY });
  });

  it("a role built from another role's blob, or another setup's, refuses it: BAD_KEY", () => {
    const d = deploy({ inputValidity: 'off' }, pop);
    const { roles, ta } = d;
    const badKey = (f: () => unknown) =>
      expect(f).toThrow(expect.objectContaining({ code: ErrorCode.BAD_KEY }));
    badKey(() => roles.device(0, 0, ta.keysOf(aggregatorAt(0, 0))));
    badKey(() => roles.device(0, 1, ta.keysOf(deviceAt(0, 0))));
    badKey(() => roles.aggregator(aggregatorAt(0, 0), ta.keysOf(deviceAt(0, 0))));
    badKey(() => roles.aggregator(aggregatorAt(0, 1), ta.keysOf(aggregatorAt(0, 0))));
    badKey(() => roles.center(ta.keysOf(aggregatorAt(0, 0))));
    badKey(() => roles.center(ta.keysOf({ role: 'querier', group: -1, index: 0 })));
    badKey(() => roles.center(Buffer.from('not json')));
    // Same configuration, another TA run: its blobs belong to its own public setup.
    const other = d.cfg.setup(seededRandom('another TA'));
    badKey(() => roles.center(other.keysOf(CENTER)));
    badKey(() => roles.device(0, 0, other.keysOf(deviceAt(0, 0))));
    // A public setup of another configuration.
    const cfg2 = configureMaas(maasScheme.params.parse({ deployment: 'test', ldp: 'off' }), pop);
    badKey(() => cfg2.roles(ta.publicSetup));
    // The blobs hold only their role's keys.
    const deviceBlob = JSON.parse(Buffer.from(ta.keysOf(deviceAt(0, 0))).toString('utf8'));
    expect(deviceBlob).toMatchObject({ format: 'privagg/maas/keys/1', holder: 'device/0/0' });
    expect(Object.keys(deviceBlob.keys).sort()).toEqual(['gatewayAead', 'gatewayMac', 'identity']);
    expect(deviceBlob.keys.gatewayMac).toHaveLength(5);
    const centerBlob = JSON.parse(Buffer.from(ta.keysOf(CENTER)).toString('utf8'));
    expect(Object.keys(centerBlob.keys).sort()).toEqual([
      'chainContentKey',
      'controlKey',
      'queryNoiseKey',
    ]);
    // Deterministic from the seed.
    expect(d.cfg.setup(seededRandom('ta')).publicSetup).toEqual(ta.publicSetup);
  });
});

describe('maasScheme: parameters, topology, sizes', () => {
  const ai4iLike: Population = {
    groups: 4,
    devicesPerGroup: 25,
    dimensions: ['TWF', 'HDF', 'PWF', 'OSF', 'RNF'].map((name) => ({ name, max: 5 })),
  };

  it("parse({}) gives today's defaults", () => {
    const cfg = configureMaas(maasScheme.params.parse({}), ai4iLike);
    expect(cfg.maasParams).toEqual(defaultMaasParams());
    expect(maasScheme).toMatchObject({ id: 'maas', status: 'paper' });
    expect(cfg.publicConfig).toMatchObject({ threshold: 3, maxLyingGateways: 2 });
    // The published configuration parses back to the same parameters.
    const again = configureMaas(maasScheme.params.parse(cfg.publicConfig), ai4iLike);
    expect(again.maasParams).toEqual(cfg.maasParams);
    expect(cfg.properties.exact).toBe(false);
    expect(cfg.properties.aggregatorFaults).toContain('m − k − f = 0');
  });

  it("the deployment file's shorthands, and today's validation errors", () => {
    const p = maasScheme.params.parse({ modes: 'paper', ldp: 'off', gateways: 7 });
    expect(p.modes.restore).toBe('paper');
    expect(p.ldp).toBeNull();
    const cfg = configureMaas(p, ai4iLike);
    expect(cfg.maasParams.threshold).toBe(4); // a majority of 7, as the deployment file
    expect(cfg.maasParams.validity).toBeNull(); // the paper's modes run without
    expect(cfg.properties.exact).toBe(true);
    const configure =
      (given: object, pop = ai4iLike) =>
      () =>
        configureMaas(maasScheme.params.parse(given), pop);
    expect(configure({ threshold: 6 })).toThrow(/threshold must be an integer in \[1, 5\]/);
    expect(configure({ maxLyingGateways: 3 })).toThrow(
      /maxLyingGateways \(f\) must be an integer in \[0, m − k\]/,
    );
    expect(configure({ modes: 'paper', inputValidity: { proofs: 3 } })).toThrow(
      /input validity needs the 'vector' layout/,
    );
    expect(configure({}, { ...ai4iLike, devicesPerGroup: 5000 })).toThrow(
      /over the 1048576-byte message limit/,
    );
    expect(() => maasScheme.params.parse({ gatways: 5 })).toThrow();
  });

  it('topology: each device to the m gateways of its group, gateways to the center', () => {
    const cfg = configureMaas(maasScheme.params.parse({ ldp: 'off' }), ai4iLike);
    const { topology } = cfg;
    expect(topology.groups).toBe(4);
    expect(topology.devices(2)).toBe(25);
    expect(topology.aggregators(2)).toEqual([0, 1, 2, 3, 4].map((l) => aggregatorAt(2, l)));
    expect(topology.upstream(deviceAt(2, 9))).toEqual(topology.aggregators(2));
    expect(topology.upstream(aggregatorAt(2, 4))).toEqual([CENTER]);
    expect(topology.upstream(CENTER)).toEqual([]);
  });

  it.each([...VALIDITY, { name: "the paper's modes", given: { modes: 'paper' } }])(
    'sizes are the exact bytes on each channel ($name)',
    ({ given }) => {
      const workload = workloadOf(1);
      const d = deploy(given, populationOf(workload));
      const rng = seededRandom('sizes');
      const sizes = d.cfg.sizes;
      const reports = d.devices[0]![0]!.report(0, workload.reading(0, 0, 0), T0, rng);
      expect(reports.map((e) => e.bytes.length)).toEqual(reports.map(() => sizes.report));
      // A first partial over the whole roster is the largest.
      for (const a of d.aggregators[0]!) a.open(0, T0);
      d.devices[0]!.forEach((dev, i) => {
        for (const e of dev.report(0, workload.reading(0, i, 0), T0, rng))
          d.aggregators[0]![e.to.index]!.receive(
            { from: dev.address, channel: e.channel, bytes: e.bytes },
            T0,
            rng,
          );
      });
      const [partial] = d.aggregators[0]![0]!.close(0, T0, rng);
      expect(partial!.bytes.length).toBe(sizes.partial);
      // Through the center too (the paper's restore takes the first k partials).
      for (const a of d.aggregators[0]!.slice(1))
        for (const e of a.close(0, T0, rng))
          d.center.receive({ from: a.address, channel: e.channel, bytes: e.bytes }, T0);
      d.center.receive({ from: aggregatorAt(0, 0), channel: 'partial', bytes: partial!.bytes }, T0);
      const all = Array.from({ length: N }, (_, i) => i);
      expect(valuesOf(d.center.recover(0, 0, T0))).toEqual(truthOver(workload, 0, 0, all));
      expect(sizes.reconcile).toBe(118 + 1 + 1);
    },
  );
});

describe("maasScheme: the fault model's lying gateway, as `privagg schemes` states it", () => {
  const workload = workloadOf(1, 'lie');
  const liar = aggregatorAt(0, 1);
  const run = (given: Record<string, unknown>) => {
    const config = configureMaas(
      maasScheme.params.parse({ deployment: 'test', ldp: 'off', ...given }),
      populationOf(workload),
    );
    return runScheme({
      config,
      workload,
      rounds: 1,
      seed: 'lie',
      faults: {
        lying: (who) => (who.index === liar.index && who.group === 0 ? { shift: 5 } : undefined),
      },
    }).then((r) => ({ property: config.properties.lyingAggregator, g: r.rounds[0]!.groups[0]! }));
  };

  it('f = 1 at m = 5, k = 3: corrected, exact, the liar named', async () => {
    const { property, g } = await run({ maxLyingGateways: 1 });
    expect(property).toBe('corrected');
    expect(g.values!.map((v) => v.estimate)).toEqual(g.truth);
    expect(g.flagged).toEqual([{ who: liar, why: 'lied and was corrected' }]);
  });

  it('f = 2 at m = 5, k = 3 (τ = 0): detected, the round fails rather than recover the lie', async () => {
    const { property, g } = await run({});
    expect(property).toBe('detected');
    expect(g.status).toBe('failed');
    expect(g.values).toBeNull();
  });

  it("the paper's restore: undetected, a wrong sum and nobody named", async () => {
    const { property, g } = await run({ modes: { restore: 'paper' }, maxLyingGateways: 0 });
    expect(property).toBe('undetected');
    expect(g.values!.map((v) => v.estimate)).not.toEqual(g.truth);
    expect(g.flagged).toEqual([]);
  });
});
