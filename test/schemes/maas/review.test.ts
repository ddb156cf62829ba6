import { describe, expect, it } from 'vitest';
import { seededRandom, systemRandom } from '../../../src/math/random.js';
import { createMaasDeployment, type MaasDeployment } from '../../../src/schemes/maas/deployment.js';
import type { OemGrant } from '../../../src/schemes/maas/keys.js';
import { defaultMaasParams } from '../../../src/schemes/maas/params.js';
import { buildQuery, dimensionMask } from '../../../src/schemes/maas/query.js';
import { runMaas } from '../../../src/sim/maasRunner.js';
import { smallSetup } from './helpers.js';

/** Adversarial cases found in review: each one failed (or could not be tested) before its fix. */
const T0 = Date.UTC(2026, 0, 1);
const READINGS = [
  [1, 2],
  [3, 4],
  [5, 6],
  [7, 8],
  [9, 0],
];

function deployment(oems: OemGrant[] = [], ians = 1, maxLyingGateways?: number): MaasDeployment {
  const params = defaultMaasParams({
    deployment: 'review',
    ians,
    devicesPerIan: 5,
    dimensions: ['a', 'b'],
    maxReading: [9, 9],
    ldp: null,
    ...(maxLyingGateways === undefined ? {} : { maxLyingGateways }),
  });
  return createMaasDeployment(params, { oems, registeredAtMs: T0, rng: seededRandom('review') });
}

/** One round of one IAN; `claim` lets a gateway report a contributor set of its choosing. */
function round(
  dep: MaasDeployment,
  v: number,
  rd: number,
  claim?: { gateway: number; set: number[] },
) {
  const gws = [1, 2, 3, 4, 5].map((l) => dep.gateway(v, l));
  for (const g of gws) g.beginRound(rd);
  const sent: { gateway: number; device: number; bytes: Uint8Array }[] = [];
  for (let i = 0; i < 5; i++) {
    for (const m of dep.device(v, i).report(rd, READINGS[i]!, T0, systemRandom)) {
      gws[m.gateway - 1]!.ingest(m.bytes, T0);
      sent.push({ gateway: m.gateway, device: i, bytes: m.bytes });
    }
  }
  const results = gws.map((g) => g.closeRound(T0));
  const partials = results.map((r, i) =>
    claim && claim.gateway === i + 1 ? claimedPartial(dep, v, rd, claim, sent) : r.partial,
  );
  return { gws, partials };
}

/**
 * A compromised gateway's partial over a set of its choosing, with the true sums over it:
 * a second core under its key that admits only those devices' reports (its honest core
 * would not re-sum a one-device set).
 */
function claimedPartial(
  dep: MaasDeployment,
  v: number,
  rd: number,
  claim: { gateway: number; set: number[] },
  sent: readonly { gateway: number; device: number; bytes: Uint8Array }[],
): Buffer {
  const g = dep.gateway(v, claim.gateway);
  g.beginRound(rd);
  for (const m of sent)
    if (m.gateway === claim.gateway && claim.set.includes(m.device)) g.ingest(m.bytes, T0);
  return g.closeRound(T0).partial;
}

describe('review findings', () => {
  it('the ledger names a forged copy of a stored partial BAD_MAC, a genuine copy REPLAY', () => {
    const dep = deployment();
    const { contract } = dep.ledger();
    const { partials } = round(dep, 0, 0);
    expect(contract.add(partials[0]!, T0).ok).toBe(true);
    const forged = Buffer.from(partials[0]!);
    forged[forged.length - 1]! ^= 0xff;
    // The tag is checked before the replay cache: a forgery is never mistaken for a resend.
    expect(contract.add(forged, T0)).toMatchObject({ ok: false, code: 'BAD_MAC' });
    expect(contract.add(partials[0]!, T0)).toMatchObject({ ok: false, code: 'REPLAY' });
    expect(contract.partialsOf(0, 0)).toHaveLength(1);
  });

  it('a gateway claiming a one-device contributor set is out-voted, not followed', () => {
    // Default f = 2: the four others cannot vouch for a total (k + f = 5), and re-summing
    // over the one device they all share would drop four of five: the round fails.
    const strict = deployment();
    const { contract: strictContract } = strict.ledger();
    for (const p of round(strict, 0, 0, { gateway: 2, set: [3] }).partials)
      expect(strictContract.add(p, T0).ok).toBe(true);
    expect(strictContract.restore(0, 0)).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('k + f = 5 over one contributor set needed'),
    });
    // f = 1: the four others out-vote it.
    const dep = deployment([], 1, 1);
    const { contract } = dep.ledger();
    const { partials } = round(dep, 0, 0, { gateway: 2, set: [3] });
    for (const p of partials) expect(contract.add(p, T0).ok).toBe(true);
    const out = contract.restore(0, 0);
    expect(out.status).toBe('restored');
    if (out.status !== 'restored') return;
    expect(out.contributors).toEqual([0, 1, 2, 3, 4]);
    expect(out.excluded).toEqual([2]);
    expect(out.estimates.map((e) => e.estimate)).toEqual([25, 20]);
  });

  it('a re-aggregation over another set, or from a gateway not asked, is CONTRIBUTOR_MISMATCH', () => {
    // Three of five gateways up: only f = 0 restores from k = 3 partials.
    const dep = deployment([], 1, 0);
    const { contract } = dep.ledger();
    // Three gateways each miss a different device: no k = 3 agree, so the ledger asks.
    const gws = [1, 2, 3].map((l) => dep.gateway(0, l));
    for (const g of gws) g.beginRound(0);
    for (let i = 0; i < 5; i++) {
      for (const m of dep.device(0, i).report(0, READINGS[i]!, T0, systemRandom)) {
        if (m.gateway <= 3 && m.gateway - 1 !== i) gws[m.gateway - 1]!.ingest(m.bytes, T0);
      }
    }
    for (const g of gws) contract.add(g.closeRound(T0).partial, T0);
    const ask = contract.restore(0, 0);
    expect(ask.status).toBe('reconcile');
    if (ask.status !== 'reconcile') return;
    expect(ask.contributors).toEqual([3, 4]);
    // Tagged by gateway 1 but built directly: its core would re-sum [4] (or [3, 4]), not
    // both — the two sums' difference is device 3's share.
    const wrongSet = gws[0]!.buildPartial(0, [4], [1n, 2n], ask.attempt, T0);
    expect(contract.add(wrongSet, T0)).toMatchObject({ ok: false, code: 'CONTRIBUTOR_MISMATCH' });
    for (const g of gws)
      expect(contract.add(g.reaggregate(0, ask.contributors, ask.attempt, T0)!, T0).ok).toBe(true);
    const out = contract.restore(0, 0);
    expect(out).toMatchObject({ status: 'restored', contributors: [3, 4] });
    if (out.status === 'restored') expect(out.estimates.map((e) => e.estimate)).toEqual([16, 8]);
  });

  it('a corrupt share at one gateway plus a lying gateway in the same IAN: still corrected', () => {
    // f = 1: the four that hold every device detect the lie (τ = 0), and the re-sum by
    // all five corrects it (τ = 1). The default f = 2 would detect it and fail.
    const { params, workload, rounds } = smallSetup({
      ians: 1,
      seed: 'combo',
      maxLyingGateways: 1,
    });
    const result = runMaas({
      params,
      workload,
      rounds,
      attacks: ['out-of-range-share'],
      faults: { lyingGateways: [{ ian: 0, gateway: 4 }] },
    });
    for (const r of result.rounds) {
      const x = r.ians[0]!;
      expect(x.status).toBe('degraded');
      expect(x.liars).toEqual([4]);
      const truth = workload.groundTruthOver(
        x.contributors.map((device) => ({ ian: 0, device, round: r.round })),
      );
      expect(x.estimates!.map((e) => e.estimate)).toEqual(truth);
    }
  });

  const grant: OemGrant = {
    name: 'oem',
    dimensions: [0, 1],
    budget: { epsilon: 0.3, delta: 0 },
    epsilonPerDimension: [0.1, 0.2],
  };

  function restoredLedger(ians: number, restore: (v: number) => boolean) {
    const dep = deployment([grant], ians);
    const ledger = dep.ledger();
    for (let v = 0; v < ians; v++) {
      if (!restore(v)) {
        // Failed for good (no partial arrived): the round is final, so it can be queried
        // (issue 10, finding 8: a round with an IAN still pending is refused).
        expect(ledger.contract.restore(v, 0).status).toBe('failed');
        continue;
      }
      const { partials } = round(dep, v, 0);
      for (const p of partials) ledger.contract.add(p, T0);
      expect(ledger.contract.restore(v, 0).status).toBe('restored');
    }
    return { dep, ...ledger };
  }

  it('the zero-sum noise does not cancel when an IAN is missing; budgets add as exact rationals', () => {
    const { dep, queries } = restoredLedger(4, (v) => v !== 1);
    const q = buildQuery(dep.params, dep.registry.oemKey(0), {
      number: 4,
      startRound: 0,
      endRound: 0,
      dimensionMask: dimensionMask([0, 1]),
      timestamp: T0,
    });
    const res = queries.query(q, T0, systemRandom);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    // 0.1 + 0.2 spends exactly the budget of 0.3.
    expect(res.answer.spent).toEqual({ epsilon: '3/10', delta: '0' });
    const point = res.answer.dimensions[0]!.series[0]!;
    expect(point.missingIans).toEqual([1]);
    // Three IANs of 25 each; noise of scale 9/0.1 = 90 remains (P[exactly 0] is tiny).
    expect(point.value).not.toBe(75);
  });

  it('windows past the newest restored round are refused before anything is spent', () => {
    const { dep, queries } = restoredLedger(2, () => true);
    const key = dep.registry.oemKey(0);
    const ask = (endRound: number, t: number) =>
      queries.query(
        buildQuery(dep.params, key, {
          number: 1,
          startRound: 0,
          endRound,
          dimensionMask: 1,
          timestamp: t,
        }),
        t,
        systemRandom,
      );
    expect(ask(4_000_000_000, T0)).toMatchObject({ ok: false, code: 'WRONG_ROUND' });
    expect(ask(1, T0 + 1)).toMatchObject({ ok: false, code: 'WRONG_ROUND' });
    const ok = ask(0, T0 + 2);
    expect(ok.ok).toBe(true);
    if (ok.ok) expect(ok.answer.spent?.epsilon).toBe('1/10');
  });

  it('grants with ε_j ≤ 0 are refused at registration', () => {
    expect(() => deployment([{ ...grant, epsilonPerDimension: [0, 1] }]).ledger()).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('gateway round lifecycle and queue bounds', () => {
  const params = defaultMaasParams({
    deployment: 'gw',
    ians: 1,
    devicesPerIan: 3,
    dimensions: ['a'],
    maxReading: [9],
    ldp: null,
  });

  it('a closed round refuses late reports; a second close is an error, not a silent overwrite', () => {
    const dep = createMaasDeployment(params, {
      oems: [],
      registeredAtMs: T0,
      rng: seededRandom(3),
    });
    const gw = dep.gateway(0, 1);
    gw.beginRound(0);
    const msgs = [0, 1, 2].map((i) => dep.device(0, i).report(0, [i], T0, systemRandom)[0]!.bytes);
    gw.ingest(msgs[0]!, T0);
    gw.ingest(msgs[1]!, T0);
    expect(gw.closeRound(T0).contributors).toEqual([0, 1]);
    expect(gw.ingest(msgs[2]!, T0)).toMatchObject({ ok: false, code: 'WRONG_ROUND' });
    expect(() => gw.closeRound(T0)).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(gw.reaggregate(0, [0, 1], 1, T0)).not.toBeNull();
  });

  it('forgeries are rejected on ingest and never queue; misaddressed reports are WRONG_RECIPIENT', () => {
    const dep = createMaasDeployment(params, {
      oems: [],
      registeredAtMs: T0,
      rng: seededRandom(4),
    });
    const gw = dep.gateway(0, 1);
    gw.beginRound(0);
    const genuine = dep.device(0, 0).report(0, [5], T0, systemRandom);
    for (let f = 0; f < 1000; f++) {
      const forged = Buffer.from(genuine[0]!.bytes);
      forged[forged.length - 1]! ^= 1 + (f % 255);
      expect(gw.ingest(forged, T0)).toMatchObject({ ok: false, code: 'BAD_MAC' });
    }
    expect(gw.ingest(genuine[1]!.bytes, T0)).toMatchObject({ ok: false, code: 'WRONG_RECIPIENT' });
    expect(gw.ingest(genuine[0]!.bytes, T0).ok).toBe(true);
    expect(gw.ingest(genuine[0]!.bytes, T0)).toMatchObject({ ok: false, code: 'REPLAY' });
    expect(gw.closeRound(T0)).toMatchObject({ contributors: [0], rejected: [] });
  });

  it("in the paper's batch mode, unverified copies per device are capped", () => {
    const paper = { ...params, modes: { ...params.modes, batch: 'paper-sum' as const } };
    const dep = createMaasDeployment(paper, { oems: [], registeredAtMs: T0, rng: seededRandom(5) });
    const gw = dep.gateway(0, 1);
    gw.beginRound(0);
    const genuine = dep.device(0, 0).report(0, [5], T0, systemRandom)[0]!.bytes;
    const verdicts = Array.from({ length: 20 }, (_, f) => {
      const forged = Buffer.from(genuine);
      forged[forged.length - 1]! ^= 1 + f;
      return gw.ingest(forged, T0);
    });
    expect(verdicts.filter((v) => v.ok)).toHaveLength(8);
    expect(verdicts.filter((v) => !v.ok && v.code === 'REPLAY')).toHaveLength(12);
  });
});
