import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/math/random.js';
import { statusOf } from '../../../src/node/ledgerServer.js';
import { createMaasDeployment, type MaasDeployment } from '../../../src/schemes/maas/deployment.js';
import type { MaasGateway } from '../../../src/schemes/maas/gateway.js';
import {
  DEFAULT_RECONCILE,
  defaultMaasParams,
  validateMaasParams,
} from '../../../src/schemes/maas/params.js';
import { privateTarget } from '../../../src/schemes/maas/resumRule.js';

/**
 * Re-aggregation is no longer an oracle. Before, a gateway re-summed any subset it was
 * asked for, so partials over S and S∖{i} gave device i's share, and the same request to
 * k gateways gave its exact reading. Now a gateway answers only nested targets at least d
 * devices smaller than the last one (and of at least d devices), at most a few times per
 * round; the ledger asks only for targets every gateway accepts, and says how many devices
 * it left out to keep sums private. LDP is off: totals are exact.
 */
const T0 = Date.UTC(2026, 0, 1);
const READINGS = [5, 1, 7, 2, 9, 4];

function setup(gateways = 5, threshold = 3): MaasDeployment {
  const params = defaultMaasParams({
    deployment: 'resum',
    ians: 1,
    devicesPerIan: READINGS.length,
    gateways,
    threshold,
    dimensions: ['a'],
    maxReading: [9],
    ldp: null,
  });
  return createMaasDeployment(params, { oems: [], registeredAtMs: T0, rng: seededRandom('resum') });
}

/** Round `rd` at every gateway; `missing(l, i)`: gateway l never got device i's report. */
function closeRound(
  dep: MaasDeployment,
  rd: number,
  missing: (l: number, i: number) => boolean = () => false,
) {
  const m = dep.params.gateways;
  const gws = Array.from({ length: m }, (_, l) => dep.gateway(0, l + 1));
  for (const g of gws) g.beginRound(rd);
  const rng = seededRandom(`round-${rd}`);
  for (let i = 0; i < READINGS.length; i++)
    for (const msg of dep.device(0, i).report(rd, [READINGS[i]!], T0, rng))
      if (!missing(msg.gateway, i)) gws[msg.gateway - 1]!.ingest(msg.bytes, T0);
  const closed = gws.map((g) => g.closeRound(T0));
  return { gws, closed };
}

const sumOf = (partial: Buffer) => partial.readBigUInt64BE(partial.length - 32 - 8);
const ALL = [0, 1, 2, 3, 4, 5];
const without = (...xs: number[]) => ALL.filter((d) => !xs.includes(d));

describe('a gateway refuses to be differenced', () => {
  it('the S, S∖{i} attack: refused at every gateway (ACCESS_DENIED), so no share and no reading leaks', () => {
    const dep = setup();
    const { gws, closed } = closeRound(dep, 0);
    for (const [at, g] of gws.entries()) {
      expect(closed[at]!.contributors).toEqual(ALL);
      expect(g.resum(0, without(3), 1, T0)).toMatchObject({ ok: false, code: 'ACCESS_DENIED' });
    }
    // What it would have given: Σ_S − Σ_{S∖{3}} at one gateway is device 3's share, and
    // from k gateways that interpolates to device 3's reading. With d = 2 the nearest
    // answerable target leaves out two devices, whose sum is all the difference reveals.
    const g = gws[0]!;
    const pair = g.resum(0, without(3, 4), 1, T0);
    expect(pair.ok).toBe(true);
    if (!pair.ok) return;
    const p = dep.params.field.p;
    const blockShare = (sumOf(closed[0]!.partial) - sumOf(pair.partial) + p) % p;
    expect(blockShare).not.toBe(0n);
  });

  it('non-nested targets are refused: S∖{a,b}, then S∖{a,c} or S∖{b,c} (which with S would give 2·sh(a))', () => {
    const dep = setup();
    const { gws } = closeRound(dep, 0);
    const g = gws[0]!;
    expect(g.resum(0, without(0, 1), 1, T0).ok).toBe(true);
    expect(g.resum(0, without(0, 2), 2, T0)).toMatchObject({ ok: false, code: 'ACCESS_DENIED' });
    expect(g.resum(0, without(1, 2), 2, T0)).toMatchObject({ ok: false, code: 'ACCESS_DENIED' });
    // Within the last set but only one device smaller: refused; two smaller: answered.
    expect(g.resum(0, without(0, 1, 2), 2, T0)).toMatchObject({ ok: false, code: 'ACCESS_DENIED' });
    expect(g.resum(0, without(0, 1, 2, 3), 2, T0).ok).toBe(true);
  });

  it('a target of fewer than d devices is refused; ∅ and resends are answered; at most maxReaggregations', () => {
    const dep = setup();
    const { gws } = closeRound(dep, 0);
    const g = gws[0]!;
    expect(g.resum(0, [0], 1, T0)).toMatchObject({ ok: false, code: 'ACCESS_DENIED' });
    expect(g.resum(0, [], 1, T0).ok).toBe(true); // Σ over nothing is 0: nothing revealed
    expect(g.resum(0, ALL, 2, T0).ok).toBe(true); // a resend of its own partial's set
    expect(g.resum(0, [0, 1, 2, 3], 3, T0).ok).toBe(true);
    // DEFAULT_RECONCILE.maxReaggregations = 3 answered: the fourth is refused, even a resend.
    expect(DEFAULT_RECONCILE.maxReaggregations).toBe(3);
    expect(g.resum(0, [0, 1, 2, 3], 3, T0)).toMatchObject({ ok: false, code: 'ACCESS_DENIED' });
    expect(g.reaggregate(0, [], 3, T0)).toBeNull();
  });

  it('other refusals: a device it did not accept, a round it does not hold, a bad attempt or set', () => {
    const dep = setup();
    const { gws } = closeRound(dep, 0, (l, i) => l === 1 && i === 5);
    const g: MaasGateway = gws[0]!;
    expect(g.resum(0, [0, 5], 1, T0)).toMatchObject({ ok: false, code: 'CONTRIBUTOR_MISMATCH' });
    expect(g.resum(7, [0, 1], 1, T0)).toMatchObject({ ok: false, code: 'WRONG_ROUND' });
    expect(g.resum(0, [0, 1], 0, T0)).toMatchObject({ ok: false, code: 'MALFORMED_MESSAGE' });
    expect(g.resum(0, [0, 1], 256, T0)).toMatchObject({ ok: false, code: 'MALFORMED_MESSAGE' });
    expect(g.resum(0, [0, 0, 1], 1, T0)).toMatchObject({ ok: false, code: 'MALFORMED_MESSAGE' });
    expect(g.resum(0, [-1, 1], 1, T0)).toMatchObject({ ok: false, code: 'MALFORMED_MESSAGE' });
    expect(g.resum(0, [0, 6], 1, T0)).toMatchObject({ ok: false, code: 'MALFORMED_MESSAGE' });
    expect(g.resum(0, [0.5, 1], 1, T0)).toMatchObject({ ok: false, code: 'MALFORMED_MESSAGE' });
    // None of these counted as a re-sum: three honest ones still go through.
    expect(g.resum(0, [0, 1, 2], 1, T0).ok).toBe(true);
    expect(g.resum(0, [], 2, T0).ok).toBe(true);
    expect(g.resum(0, [0, 1, 2], 3, T0).ok).toBe(true);
  });
});

describe('the ledger asks only for what every gateway answers', () => {
  it('one gateway misses one device (m = k = 3): two more are withheld, all three answer, totals exact', () => {
    const dep = setup(3, 3);
    const { gws, closed } = closeRound(dep, 0, (l, i) => l === 3 && i === 2);
    const { contract } = dep.ledger();
    for (const c of closed) expect(contract.add(c.partial, T0).ok).toBe(true);
    const ask = contract.restore(0, 0);
    // T = ∩ S_l = S∖{2}: gateways 1 and 2 would differ by one device. Withholding the two
    // highest indices makes every difference ≥ 2 (gateway 3's is exactly 2).
    expect(ask).toMatchObject({
      status: 'reconcile',
      attempt: 1,
      contributors: [0, 1, 3],
      gateways: [1, 2, 3],
      withheld: [4, 5],
    });
    if (ask.status !== 'reconcile') return;
    for (const g of gws) {
      const again = g.resum(0, ask.contributors, ask.attempt, T0);
      expect(again.ok).toBe(true);
      if (again.ok) expect(contract.add(again.partial, T0).ok).toBe(true);
    }
    const out = contract.restore(0, 0);
    expect(out).toMatchObject({ status: 'restored', contributors: [0, 1, 3] });
    if (out.status !== 'restored') return;
    expect(out.estimates[0]!.estimate).toBe(READINGS[0]! + READINGS[1]! + READINGS[3]!);
    const status = statusOf(out, 0, 0, 3, READINGS.length, false, ask.withheld!.length);
    expect(status.status).toBe('degraded');
    expect(status.reasons).toContain('3 device(s) missing');
    expect(status.reasons.join('\n')).toMatch(
      /2 of them left out of the re-sum to keep sums private/,
    );
  });

  it('three gateways each missing a different device: no device withheld, exact (the honest case)', () => {
    const dep = setup(3, 3);
    const { gws, closed } = closeRound(dep, 0, (l, i) => i === l - 1);
    const { contract } = dep.ledger();
    for (const c of closed) contract.add(c.partial, T0);
    const ask = contract.restore(0, 0);
    expect(ask).toMatchObject({ status: 'reconcile', contributors: [3, 4, 5] });
    if (ask.status !== 'reconcile') return;
    expect(ask.withheld).toBeUndefined();
    for (const g of gws) {
      const again = g.resum(0, ask.contributors, ask.attempt, T0);
      if (again.ok) contract.add(again.partial, T0);
    }
    const out = contract.restore(0, 0);
    expect(out).toMatchObject({ status: 'restored', contributors: [3, 4, 5] });
    if (out.status === 'restored') expect(out.estimates[0]!.estimate).toBe(2 + 9 + 4);
  });

  it('privateTarget: known answers', () => {
    // Differences 1, 1, 0 → remove 2 (the highest).
    expect(privateTarget([ALL, ALL, without(2)], without(2), 2)).toEqual({
      target: [0, 1, 3],
      withheld: [4, 5],
    });
    // Differences 2, 3: already fine.
    expect(
      privateTarget(
        [
          [0, 1, 2, 3],
          [0, 1, 2, 3, 4],
        ],
        [0, 1],
        2,
      ),
    ).toEqual({
      target: [0, 1],
      withheld: [],
    });
    // Difference 1 with d = 3: remove 2 more; what remains (one device) is too small → ∅.
    expect(privateTarget([[0, 1, 2, 3]], [0, 1, 2], 3)).toEqual({
      target: [],
      withheld: [0, 1, 2],
    });
    // Every gateway already summed exactly this set: a resend, whatever its size.
    expect(privateTarget([[4], [4]], [4], 2)).toEqual({ target: [4], withheld: [] });
  });
});

describe('reconcile parameters', () => {
  it('are validated: minDifference ≥ 2 (1 would allow the attack), maxReaggregations 0..255', () => {
    const base = defaultMaasParams();
    expect(base.reconcile).toEqual({ maxReaggregations: 3, minDifference: 2 });
    for (const reconcile of [
      { maxReaggregations: 3, minDifference: 1 },
      { maxReaggregations: 3, minDifference: 0 },
      { maxReaggregations: -1, minDifference: 2 },
      { maxReaggregations: 256, minDifference: 2 },
      { maxReaggregations: 1.5, minDifference: 2 },
    ]) {
      expect(() => validateMaasParams({ ...base, reconcile })).toThrowError(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
    // Parameters stored before `reconcile` existed (a ledger file's config) get the default.
    const { reconcile: _r, ...old } = base;
    expect(validateMaasParams(old).reconcile).toEqual(DEFAULT_RECONCILE);
  });

  it('maxReaggregations bounds the ledger too: 0 means a disagreement fails the round', () => {
    const params = defaultMaasParams({
      deployment: 'resum0',
      ians: 1,
      devicesPerIan: READINGS.length,
      gateways: 3,
      threshold: 3,
      dimensions: ['a'],
      maxReading: [9],
      ldp: null,
      reconcile: { maxReaggregations: 0, minDifference: 2 },
    });
    const dep = createMaasDeployment(params, {
      oems: [],
      registeredAtMs: T0,
      rng: seededRandom(1),
    });
    const { closed } = closeRound(dep, 0, (l, i) => i === l - 1);
    const { contract } = dep.ledger();
    for (const c of closed) contract.add(c.partial, T0);
    expect(contract.restore(0, 0)).toMatchObject({ status: 'failed' });
  });
});
