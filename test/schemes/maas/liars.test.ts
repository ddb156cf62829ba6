import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PrimeField } from '../../../src/math/field.js';
import { seededRandom } from '../../../src/math/random.js';
import { createMaasDeployment, type MaasDeployment } from '../../../src/schemes/maas/deployment.js';
import type { MaasGateway } from '../../../src/schemes/maas/gateway.js';
import type { RestoreOutcome } from '../../../src/schemes/maas/ledgerContract.js';
import {
  DEFAULT_MODES,
  decodingRadius,
  defaultMaasParams,
  defaultMaxLyingGateways,
  type MaasModes,
  PAPER_MODES,
  shareBytes,
  validateMaasParams,
} from '../../../src/schemes/maas/params.js';
import { decodePartialOf } from '../../../src/schemes/maas/partialCodec.js';
import { decodeElements } from '../../../src/wire/fieldElements.js';

/**
 * Malicious gateways as a parameter (issue 10, finding 5). f = `maxLyingGateways` lying
 * gateways are tolerated: with r partials the ledger decodes at τ = min(⌊(r−k)/2⌋, r−k−f),
 * corrects and names up to τ liars, detects any f, and never restores from fewer than
 * k + f partials. LDP is off, so a total is either exactly the readings' sum or wrong.
 */
const T0 = Date.UTC(2026, 0, 1);
/** Six devices, two dimensions: true totals 15 and 11, at most 6 · 20 = 120 each. */
const READINGS = [
  [3, 1],
  [0, 4],
  [5, 2],
  [1, 1],
  [2, 0],
  [4, 3],
];
const TRUTH = [15, 11];

function deployment(opts: {
  gateways: number;
  threshold: number;
  maxLyingGateways?: number;
  modes?: MaasModes;
}): MaasDeployment {
  const params = defaultMaasParams({
    deployment: 'liars',
    ians: 1,
    devicesPerIan: READINGS.length,
    gateways: opts.gateways,
    threshold: opts.threshold,
    dimensions: ['a', 'b'],
    maxReading: [20, 20],
    ldp: null,
    modes: opts.modes ?? DEFAULT_MODES,
    ...(opts.maxLyingGateways === undefined ? {} : { maxLyingGateways: opts.maxLyingGateways }),
  });
  return createMaasDeployment(params, { oems: [], registeredAtMs: T0, rng: seededRandom('liars') });
}

/**
 * s(x) = shift · Π_{h ∈ agreeAt} (x − h)/(0 − h): s(0) = shift and s(h) = 0 at every h.
 * Liars that add s(l) to their sums hand in shares of (true polynomial + s), a polynomial
 * that agrees with the honest gateways at `agreeAt` and moves the total by `shift` —
 * the strongest lie there is (degree |agreeAt| < k, so it is a valid sharing).
 */
function shiftPolynomial(field: PrimeField, agreeAt: readonly number[], shift: bigint) {
  return (x: number): bigint =>
    agreeAt.reduce(
      (acc, h) => field.mul(acc, field.div(field.sub(BigInt(x), BigInt(h)), field.neg(BigInt(h)))),
      field.add(shift, 0n),
    );
}

/** The sums a partial carries (to re-tag them with a lie added). */
function _sumsOf(dep: MaasDeployment, partial: Buffer): bigint[] {
  const msg = decodePartialOf(dep.params, partial);
  return decodeElements(msg.sums, msg.width, shareBytes(dep.params), dep.params.field.p);
}

/** A validly tagged partial of gateway `g` with `delta(dimension)` added to each honest sum. */
function lyingPartial(
  _dep: MaasDeployment,
  g: MaasGateway,
  honest: Buffer,
  _round: number,
  _attempt: number,
  delta: (dimension: number) => bigint,
): Buffer {
  const field = g.params.field;
  return g.withSums(
    honest,
    g.partialSums(honest).map((s, j) => field.add(s, delta(j))),
  );
}

/** Closes round `rd` at every gateway; `missing(l, i)`: gateway l never got device i's report. */
function closeRound(
  dep: MaasDeployment,
  rd: number,
  missing: (l: number, i: number) => boolean = () => false,
) {
  const gws = Array.from({ length: dep.params.gateways }, (_, l) => dep.gateway(0, l + 1));
  for (const g of gws) g.beginRound(rd);
  const rng = seededRandom(`round-${rd}`);
  for (const [i, reading] of READINGS.entries())
    for (const msg of dep.device(0, i).report(rd, reading, T0, rng))
      if (!missing(msg.gateway, i)) gws[msg.gateway - 1]!.ingest(msg.bytes, T0);
  return { gws, partials: gws.map((g) => g.closeRound(T0).partial) };
}

/**
 * One round in which the gateways of `liars` add s(l) for s = shiftPolynomial(agreeAt,
 * shift) in every dimension, and only the gateways of `alive` (default: all) send.
 */
function attackedRestore(
  dep: MaasDeployment,
  attack: { liars: readonly number[]; agreeAt: readonly number[]; shift: bigint },
  alive?: readonly number[],
): RestoreOutcome {
  const { gws, partials } = closeRound(dep, 0);
  const s = shiftPolynomial(dep.params.field, attack.agreeAt, attack.shift);
  const { contract } = dep.ledger();
  for (const [at, honest] of partials.entries()) {
    const l = at + 1;
    if (alive && !alive.includes(l)) continue;
    const sent = attack.liars.includes(l)
      ? lyingPartial(dep, gws[at]!, honest, 0, 0, () => s(l))
      : honest;
    expect(contract.add(sent, T0).ok).toBe(true);
  }
  return contract.restore(0, 0);
}

const totals = (out: RestoreOutcome) =>
  out.status === 'restored' ? out.estimates.map((e) => e.estimate) : null;

describe('the audit: m = 5, k = 3, gateways 4 and 5 collude, adding 25·(x−1)(x−2) to their shares (+50 on every total)', () => {
  const AUDIT = { liars: [4, 5], agreeAt: [1, 2], shift: 50n };

  it('the default f = min(k−1, m−k) = 2 gives τ = 0 at r = 5: the lie is detected, the IAN-round fails with TOO_MANY_ERRORS and names nobody', () => {
    const dep = deployment({ gateways: 5, threshold: 3 });
    expect(dep.params.maxLyingGateways).toBe(2);
    const out = attackedRestore(dep, AUDIT);
    expect(out.status).toBe('failed');
    if (out.status !== 'failed') return;
    expect(out.reason).toMatch(/^TOO_MANY_ERRORS: partials disagree/);
    expect(out.reason).toContain('f = 2');
  });

  it('f = 0 (maximum radius τ = ⌊(5−3)/2⌋ = 1, the behaviour the audit found): every total +50, marked cross-checked, honest gateway 3 named', () => {
    const dep = deployment({ gateways: 5, threshold: 3, maxLyingGateways: 0 });
    const out = attackedRestore(dep, AUDIT);
    expect(out).toMatchObject({ status: 'restored', liars: [3], crossChecked: true });
    expect(totals(out)).toEqual(TRUTH.map((t) => t + 50));
  });

  it("the paper's restore (PAPER_MODES) checks nothing: liars 4, 5 go unnoticed (not used), and liars 1, 2 agreeing with 3 steer it by +50, naming nobody", () => {
    const unnoticed = attackedRestore(
      deployment({ gateways: 5, threshold: 3, modes: PAPER_MODES }),
      AUDIT,
    );
    expect(unnoticed).toMatchObject({
      status: 'restored',
      liars: [],
      crossChecked: false,
      excluded: [4, 5],
    });
    expect(totals(unnoticed)).toEqual(TRUTH);
    const first = { liars: [1, 2], agreeAt: [3], shift: 50n };
    const steered = attackedRestore(
      deployment({ gateways: 5, threshold: 3, modes: PAPER_MODES }),
      first,
    );
    expect(steered).toMatchObject({ status: 'restored', liars: [], crossChecked: false });
    expect(totals(steered)).toEqual(TRUTH.map((t) => t + 50));
    // The same first-three attack against the default is detected.
    const ours = attackedRestore(deployment({ gateways: 5, threshold: 3 }), first);
    expect(ours.status).toBe('failed');
  });

  it('gateway 1 down: r = 4 cannot detect f = 2 colluders, so the default refuses to restore (RESTORE_FAILED); f = 0 is steered by +50', () => {
    const alive = [2, 3, 4, 5];
    const attack = { liars: [4, 5], agreeAt: [2, 3], shift: 50n };
    const refused = attackedRestore(deployment({ gateways: 5, threshold: 3 }), attack, alive);
    expect(refused).toMatchObject({ status: 'failed' });
    if (refused.status === 'failed')
      expect(refused.reason).toBe(
        'RESTORE_FAILED: 4 partials cannot detect f = 2 lying gateway(s): k + f = 5 over one contributor set needed',
      );
    const steered = attackedRestore(
      deployment({ gateways: 5, threshold: 3, maxLyingGateways: 0 }),
      attack,
      alive,
    );
    // At r = 4, τ = 0: the four partials agree on the wrong polynomial, nothing to see.
    expect(steered).toMatchObject({ status: 'restored', liars: [], crossChecked: true });
    expect(totals(steered)).toEqual(TRUTH.map((t) => t + 50));
  });
});

describe('m = 7, k = 3, f = 2 (r = 7 ≥ k + 2f): τ = 2', () => {
  it('two colluding liars are corrected and exactly those two are named', () => {
    const dep = deployment({ gateways: 7, threshold: 3 });
    expect(dep.params.maxLyingGateways).toBe(2);
    const out = attackedRestore(dep, { liars: [2, 6], agreeAt: [1, 3], shift: 50n });
    expect(out).toMatchObject({
      status: 'restored',
      liars: [2, 6],
      gateways: [1, 3, 4, 5, 7],
      crossChecked: true,
    });
    expect(totals(out)).toEqual(TRUTH);
  });

  it('three liars (more than f) agreeing on one polynomial: beyond every promise, and the decoder cannot tell', () => {
    // Documents the limit rather than a guarantee: three liars whose shares lie on a
    // polynomial that also passes through one honest share make 4 of 7 agree; τ = 2 then
    // decodes to their polynomial. f is the number tolerated, not a bound on attackers.
    const dep = deployment({ gateways: 7, threshold: 3 });
    const out = attackedRestore(dep, { liars: [5, 6, 7], agreeAt: [1, 2], shift: 50n });
    expect(out).toMatchObject({ status: 'restored', liars: [3, 4] });
    expect(totals(out)).toEqual(TRUTH.map((t) => t + 50));
  });
});

describe('re-aggregation after a lie the group cannot correct: the radius follows the new r', () => {
  /**
   * Gateway 1 missed device 0, so the group over all six devices is gateways 2–5 (r = 4),
   * and gateway 5 lies. The ledger asks all five to re-sum over the common devices;
   * gateway 5 lies again in its re-sum.
   */
  function lieThenResum(maxLyingGateways: number) {
    const dep = deployment({ gateways: 5, threshold: 3, maxLyingGateways });
    const { gws, partials } = closeRound(dep, 0, (l, i) => l === 1 && i === 0);
    const { contract } = dep.ledger();
    const lie = () => 7n;
    partials[4] = lyingPartial(dep, gws[4]!, partials[4]!, 0, 0, lie);
    for (const p of partials) expect(contract.add(p, T0).ok).toBe(true);
    const ask = contract.restore(0, 0);
    expect(ask).toMatchObject({ status: 'reconcile', attempt: 1 });
    if (ask.status !== 'reconcile') throw new Error('expected a re-aggregation request');
    expect([...ask.gateways].sort()).toEqual([1, 2, 3, 4, 5]);
    expect(ask.contributors).not.toContain(0);
    for (const [at, g] of gws.entries()) {
      const again = g.resum(0, ask.contributors, ask.attempt, T0);
      expect(again.ok).toBe(true);
      if (!again.ok) continue;
      const sent =
        at === 4 ? lyingPartial(dep, g, again.partial, 0, ask.attempt, lie) : again.partial;
      expect(contract.add(sent, T0).ok).toBe(true);
    }
    const truth = [0, 1].map((j) => ask.contributors.reduce((s, i) => s + READINGS[i]![j]!, 0));
    return { out: contract.restore(0, 0), truth };
  }

  it('f = 1: r = 4 gives τ = 0 (detected), the re-sum by all five gives τ = 1: gateway 5 corrected and named', () => {
    const { out, truth } = lieThenResum(1);
    expect(out).toMatchObject({ status: 'restored', attempt: 1, liars: [5], crossChecked: true });
    expect(totals(out)).toEqual(truth);
  });

  it('f = 2: the re-sum by all five still gives τ = 0: the IAN-round fails, nobody named', () => {
    const { out } = lieThenResum(2);
    expect(out.status).toBe('failed');
    if (out.status === 'failed') expect(out.reason).toMatch(/^TOO_MANY_ERRORS/);
  });

  it('f = 2 and no liar: four partials cannot vouch, so all five re-sum, and the total is exact', () => {
    const dep = deployment({ gateways: 5, threshold: 3 });
    const { gws, partials } = closeRound(dep, 0, (l, i) => l === 1 && i === 0);
    const { contract } = dep.ledger();
    for (const p of partials) contract.add(p, T0);
    const ask = contract.restore(0, 0);
    expect(ask.status).toBe('reconcile');
    if (ask.status !== 'reconcile') return;
    expect([...ask.gateways].sort()).toEqual([1, 2, 3, 4, 5]);
    for (const g of gws) contract.add(g.reaggregate(0, ask.contributors, ask.attempt, T0)!, T0);
    const out = contract.restore(0, 0);
    expect(out).toMatchObject({ status: 'restored', liars: [], crossChecked: true });
    const truth = [0, 1].map((j) => ask.contributors.reduce((s, i) => s + READINGS[i]![j]!, 0));
    expect(totals(out)).toEqual(truth);
  });
});

describe('any ≤ f liars, any shift, any gateways down', () => {
  /** m ≤ 8 gateways, any k, any f ≤ m − k, any gateways alive, ≤ f of them lying. */
  const scenario = fc
    .integer({ min: 1, max: 8 })
    .chain((m) => fc.tuple(fc.constant(m), fc.integer({ min: 1, max: m })))
    .chain(([m, k]) =>
      fc.tuple(
        fc.constant(m),
        fc.constant(k),
        fc.integer({ min: 0, max: m - k }),
        // Every gateway alive half the time (where liars can be corrected), else any set.
        fc.oneof(
          fc.constant(Array.from({ length: m }, (_, l) => l + 1)),
          fc.subarray(
            Array.from({ length: m }, (_, l) => l + 1),
            { minLength: 1 },
          ),
        ),
      ),
    )
    .chain(([m, k, f, alive]) =>
      fc.record({
        m: fc.constant(m),
        k: fc.constant(k),
        f: fc.constant(f),
        alive: fc.constant(alive),
        liars: fc.subarray(alive, { maxLength: Math.min(f, alive.length) }),
        // 'polynomial': the coalition's shares lie on (true + s) for an s through k − 1
        // honest points (the audit's attack); 'independent': each liar adds its own shift.
        kind: fc.constantFrom('polynomial' as const, 'independent' as const),
        shifts: fc.array(fc.bigInt({ min: 1n, max: 2n ** 61n - 2n }), {
          minLength: m,
          maxLength: m,
        }),
      }),
    );

  /**
   * What gateway l sends instead of `honest` (attempt `attempt`): itself if honest; else
   * its sums plus the coalition's shift for it, in every dimension (a different multiple
   * per dimension, so each dimension is its own attack).
   */
  function sender(
    dep: MaasDeployment,
    gws: readonly MaasGateway[],
    s: {
      k: number;
      alive: readonly number[];
      liars: readonly number[];
      kind: string;
      shifts: readonly bigint[];
    },
  ) {
    const field = dep.params.field;
    const honest = s.alive.filter((l) => !s.liars.includes(l));
    const coalition = shiftPolynomial(field, honest.slice(0, s.k - 1), s.shifts[0]!);
    return (l: number, partial: Buffer, attempt: number): Buffer =>
      !s.liars.includes(l)
        ? partial
        : lyingPartial(dep, gws[l - 1]!, partial, 0, attempt, (j) =>
            s.kind === 'polynomial'
              ? field.mul(coalition(l), BigInt(j + 1))
              : field.mul(s.shifts[l - 1]!, BigInt(j + 1)),
          );
  }

  it('the total is exact or the IAN-round fails (never a wrong total), no honest gateway is ever named, and ≤ τ liars are always corrected', () => {
    fc.assert(
      fc.property(scenario, ({ m, k, f, alive, liars, kind, shifts }) => {
        const dep = deployment({ gateways: m, threshold: k, maxLyingGateways: f });
        const { gws, partials } = closeRound(dep, 0);
        const send = sender(dep, gws, { k, alive, liars, kind, shifts });
        const { contract } = dep.ledger();
        for (const l of alive) expect(contract.add(send(l, partials[l - 1]!, 0), T0).ok).toBe(true);
        const out = contract.restore(0, 0);
        expect(out.status).not.toBe('reconcile'); // one contributor set: nothing to reconcile
        const r = alive.length;
        const radius = decodingRadius(r, k, f);
        if (out.status === 'restored') {
          expect(totals(out)).toEqual(TRUTH);
          for (const l of out.liars) expect(liars).toContain(l);
          expect(out.crossChecked).toBe(r > k);
        }
        // What is promised, exactly: fewer than k + f partials never restore; up to τ
        // liars are always corrected and all named; more (≤ f) always fail.
        if (radius === null) expect(out.status).toBe('failed');
        else if (liars.length <= radius)
          expect(out).toMatchObject({
            status: 'restored',
            liars: [...liars].sort((a, b) => a - b),
          });
        else expect(out.status).toBe('failed');
      }),
      { numRuns: 120 },
    );
  });

  it('with gateways missing devices too (re-aggregations, liars lying in every re-sum): exact or failed, never wrong, no honest gateway named', () => {
    const withMissing = scenario.chain((s) =>
      fc.record({
        s: fc.constant(s),
        // missing[l − 1]: devices gateway l never received (mostly none).
        missing: fc.array(
          fc.oneof(
            { arbitrary: fc.constant([] as number[]), weight: 3 },
            {
              arbitrary: fc.subarray(
                READINGS.map((_, i) => i),
                { maxLength: 2 },
              ),
              weight: 1,
            },
          ),
          {
            minLength: s.m,
            maxLength: s.m,
          },
        ),
      }),
    );
    fc.assert(
      fc.property(withMissing, ({ s, missing }) => {
        const { m, k, f, alive, liars } = s;
        const dep = deployment({ gateways: m, threshold: k, maxLyingGateways: f });
        const { gws, partials } = closeRound(dep, 0, (l, i) => missing[l - 1]!.includes(i));
        const send = sender(dep, gws, s);
        const { contract } = dep.ledger();
        for (const l of alive) contract.add(send(l, partials[l - 1]!, 0), T0);
        let out = contract.restore(0, 0);
        while (out.status === 'reconcile') {
          for (const l of out.gateways) {
            const again = gws[l - 1]!.resum(0, out.contributors, out.attempt, T0);
            if (again.ok) contract.add(send(l, again.partial, out.attempt), T0);
          }
          out = contract.restore(0, 0);
        }
        if (out.status !== 'restored') return;
        const truth = [0, 1].map((j) => out.contributors.reduce((t, i) => t + READINGS[i]![j]!, 0));
        expect(totals(out)).toEqual(truth);
        for (const l of out.liars) expect(liars).toContain(l);
        // Vouched for by k + f partials over one set (the named liars among them).
        expect(out.gateways.length + out.liars.length).toBeGreaterThanOrEqual(k + f);
      }),
      { numRuns: 120 },
    );
  });
});

describe('f: the radius, the default, validation', () => {
  it('τ = min(⌊(r−k)/2⌋, r−k−f), null below k + f: known answers', () => {
    const table: [number, number, number, number | null][] = [
      // r, k, f, τ
      [5, 3, 0, 1],
      [5, 3, 1, 1],
      [5, 3, 2, 0],
      [4, 3, 2, null],
      [4, 3, 1, 0],
      [3, 3, 0, 0],
      [3, 3, 1, null],
      [7, 3, 2, 2],
      [6, 3, 2, 1],
      [9, 3, 2, 3],
      [2, 3, 0, null],
    ];
    for (const [r, k, f, tau] of table)
      expect(decodingRadius(r, k, f), `r=${r} k=${k} f=${f}`).toBe(tau);
  });

  it('the default is min(k − 1, m − k): 2 at m = 5, k = 3; 0 at m = k; k − 1 with many gateways', () => {
    expect(defaultMaxLyingGateways(5, 3)).toBe(2);
    expect(defaultMaxLyingGateways(4, 3)).toBe(1);
    expect(defaultMaxLyingGateways(3, 3)).toBe(0);
    expect(defaultMaxLyingGateways(7, 3)).toBe(2);
    expect(defaultMaxLyingGateways(1, 1)).toBe(0);
    expect(defaultMaxLyingGateways(10, 1)).toBe(0);
    expect(defaultMaasParams().maxLyingGateways).toBe(2);
    expect(defaultMaasParams({ gateways: 9, threshold: 4 }).maxLyingGateways).toBe(3);
  });

  it('out of [0, m − k] (or not an integer) is refused with INVALID_ARGUMENT and the range', () => {
    const base = defaultMaasParams();
    for (const maxLyingGateways of [-1, 3, 5, 1.5, Number.NaN]) {
      expect(() => validateMaasParams({ ...base, maxLyingGateways })).toThrowError(
        expect.objectContaining({
          code: 'INVALID_ARGUMENT',
          message: expect.stringContaining(
            'maxLyingGateways (f) must be an integer in [0, m − k] = [0, 2]',
          ),
        }),
      );
    }
    expect(() =>
      defaultMaasParams({ gateways: 3, threshold: 3, maxLyingGateways: 1 }),
    ).toThrowError(/\[0, 0\]/);
    for (const ok of [0, 1, 2])
      expect(validateMaasParams({ ...base, maxLyingGateways: ok }).maxLyingGateways).toBe(ok);
  });

  it('parameters stored before f existed (a ledger file) get the default for their m and k', () => {
    const { maxLyingGateways: _f, ...old } = defaultMaasParams({ gateways: 7, threshold: 3 });
    expect(validateMaasParams(old).maxLyingGateways).toBe(2);
    const { maxLyingGateways: _g, ...small } = defaultMaasParams({ gateways: 3, threshold: 3 });
    expect(validateMaasParams(small).maxLyingGateways).toBe(0);
  });
});
