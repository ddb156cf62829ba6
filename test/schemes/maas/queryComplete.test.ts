import { describe, expect, it } from 'vitest';
import { PrivacyAccountant } from '../../../src/dp/accountant.js';
import { seededRandom, systemRandom } from '../../../src/math/random.js';
import { createMaasDeployment, type MaasDeployment } from '../../../src/schemes/maas/deployment.js';
import type { RestoreOutcome } from '../../../src/schemes/maas/ledgerContract.js';
import { defaultMaasParams } from '../../../src/schemes/maas/params.js';
import { buildQuery, type QueryAnswer, type QueryResult } from '../../../src/schemes/maas/query.js';
import { fixture, grant, T0 } from './queryFixtures.js';

/**
 * Issue 10, finding 8: a query ran before every IAN of a round was restored, was charged,
 * and its incomplete answer stayed cached; when an IAN-round failed, the all-IAN totals
 * carried noise that no longer cancelled and reported a standard error of 0.
 */
const OEM = {
  name: 'oem',
  dimensions: [0],
  budget: { epsilon: 10, delta: 0 },
  epsilonPerDimension: [1],
};
const READINGS = [3, 7, 1, 9];

function deployment(): MaasDeployment {
  const params = defaultMaasParams({
    deployment: 'complete',
    ians: 3,
    devicesPerIan: 4,
    dimensions: ['a'],
    maxReading: [9],
    ldp: null,
  });
  return createMaasDeployment(params, { oems: [OEM], registeredAtMs: T0, rng: seededRandom(8) });
}

/** One IAN-round's partials; gateway l ingests device i's share unless `misses(l, i)`. */
function partials(
  dep: MaasDeployment,
  v: number,
  rd: number,
  misses: (l: number, i: number) => boolean = () => false,
) {
  const gws = [1, 2, 3, 4, 5].map((l) => dep.gateway(v, l));
  for (const g of gws) g.beginRound(rd);
  for (let i = 0; i < 4; i++) {
    for (const m of dep.device(v, i).report(rd, [READINGS[i]!], T0, systemRandom)) {
      if (!misses(m.gateway, i)) gws[m.gateway - 1]!.ingest(m.bytes, T0);
    }
  }
  return { gws, partials: gws.map((g) => g.closeRound(T0).partial) };
}

function setup() {
  const dep = deployment();
  const accountant = new PrivacyAccountant();
  const { contract, queries } = dep.ledger(accountant);
  let t = T0;
  const ask = (number: number, startRound: number, endRound: number): QueryResult => {
    t++;
    return queries.query(
      buildQuery(dep.params, dep.registry.oemKey(0), {
        number,
        startRound,
        endRound,
        dimensionMask: 1,
        timestamp: t,
      }),
      t,
      systemRandom,
    );
  };
  const remaining = () => accountant.remaining('oem').epsilon;
  return { dep, contract, queries, ask, remaining };
}

const sum = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0);

function answerOf(res: QueryResult): QueryAnswer {
  if (!res.ok) throw new Error(`${res.code}: ${res.reason}`);
  return res.answer;
}

describe('finding 8: only complete rounds are answered, charged and cached', () => {
  it('an IAN not yet restored keeps its round open: WRONG_ROUND for every subset, nothing charged or cached; restored, the answer is exact, charged once and cached', () => {
    const { dep, contract, queries, ask, remaining } = setup();
    for (const v of [0, 1, 2]) for (const p of partials(dep, v, 0).partials) contract.add(p, T0);
    expect(contract.restore(0, 0).status).toBe('restored');
    expect(contract.restore(1, 0).status).toBe('restored');
    // Round 0 is the newest final round of some IAN, but IAN 2 has not restored it.
    expect(contract.latestFinalRound).toBe(0);
    const before = remaining();
    for (const number of [1, 2, 3]) {
      expect(ask(number, 0, 0)).toMatchObject({ ok: false, code: 'WRONG_ROUND' });
    }
    expect(remaining()).toEqual(before);
    expect(queries.retained().answers).toBe(0);

    expect(contract.restore(2, 0).status).toBe('restored');
    const a = answerOf(ask(3, 0, 0));
    expect(a.spent?.epsilon).toBe('1');
    const p = a.dimensions[0]!.series[0]!;
    expect(p).toMatchObject({
      value: 3 * sum(READINGS),
      standardError: 0,
      noiseStandardError: 0,
      coveredIans: [0, 1, 2],
      missingIans: [],
    });
    const again = answerOf(ask(3, 0, 0));
    expect(again).toMatchObject({ cached: true, spent: null });
    expect(again.dimensions).toEqual(a.dimensions);
  });

  it('an IAN waiting for a re-aggregation keeps its round open until it restores', () => {
    const { dep, contract, ask, remaining } = setup();
    for (const v of [0, 1]) {
      for (const p of partials(dep, v, 0).partials) contract.add(p, T0);
      expect(contract.restore(v, 0).status).toBe('restored');
    }
    // Gateways 1–4 each miss a different device: no k = 3 of them hold one set.
    const odd = partials(dep, 2, 0, (l, i) => l <= 4 && i === l - 1);
    for (const p of odd.partials) contract.add(p, T0);
    let outcome: RestoreOutcome = contract.restore(2, 0);
    expect(outcome.status).toBe('reconcile');
    const before = remaining();
    expect(ask(3, 0, 0)).toMatchObject({ ok: false, code: 'WRONG_ROUND' });
    expect(remaining()).toEqual(before);
    while (outcome.status === 'reconcile') {
      for (const l of outcome.gateways) {
        const again = odd.gws[l - 1]!.reaggregate(0, outcome.contributors, outcome.attempt, T0);
        if (again) contract.add(again, T0);
      }
      outcome = contract.restore(2, 0);
    }
    expect(outcome.status).toBe('restored');
    if (outcome.status !== 'restored') return;
    const a = answerOf(ask(3, 0, 0));
    expect(a.dimensions[0]!.series[0]!.value).toBe(
      2 * sum(READINGS) + sum(outcome.contributors.map((i) => READINGS[i]!)),
    );
  });

  it('an IAN-round failed for good is final: the answer covers the others and its standard error is the query noise that no longer cancels, not 0', () => {
    const { dep, contract, ask } = setup();
    for (const v of [0, 1, 2]) {
      const ps = partials(dep, v, 0).partials;
      // IAN 1: only two of the k = 3 partials arrive.
      for (const p of v === 1 ? ps.slice(0, 2) : ps) contract.add(p, T0);
    }
    expect(contract.restore(0, 0).status).toBe('restored');
    expect(contract.restore(1, 0).status).toBe('failed');
    expect(contract.restore(2, 0).status).toBe('restored');
    const a = answerOf(ask(3, 0, 0));
    const p = a.dimensions[0]!.series[0]!;
    expect(p.coveredIans).toEqual([0, 2]);
    expect(p.missingIans).toEqual([1]);
    // LDP off: the whole standard error is the noise of the missing IAN's share,
    // σ²·k(z − k)/z with k = 2 of z = 3 and σ² ≈ 2·(2·4·9/ε)².
    expect(p.noiseStandardError).toBeGreaterThan(50);
    expect(p.standardError).toBe(p.noiseStandardError);
    expect(a.dimensions[0]!.totalStandardError).toBe(p.standardError);
  });
});

describe('finding 8: standard errors include the query noise wherever it does not cancel', () => {
  const R = 400;
  it(`IAN 1 of 4 fails every round (${R} rounds, LDP on): the all-IAN answer's errors against the truth have RMS ≈ 1 standard error, ≥ 90% within 2`, () => {
    const f = fixture({
      ians: 4,
      devices: 8,
      maxReading: [6],
      ldp: { epsilon: 1, delta: 1e-3 },
      oems: [grant('oem', 1)],
    });
    const rng = seededRandom('complete/readings');
    const truth: number[] = [];
    for (let rd = 0; rd < R; rd++) {
      let t = 0;
      for (let v = 0; v < 4; v++) {
        if (v === 1) {
          f.fail(v, rd);
          continue;
        }
        const readings = Array.from({ length: 8 }, () => [rng.nextUint32() % 7]);
        t += sum(readings.map((r) => r[0]!));
        f.restore(v, rd, f.sums(readings, rng));
      }
      truth.push(t);
    }
    const a = answerOf(f.ask(0, { number: 4, startRound: 0, endRound: R - 1 }));
    const d = a.dimensions[0]!;
    const z = d.series.map((p, i) => (p.value - truth[i]!) / p.standardError);
    for (const p of d.series) {
      expect(p.missingIans).toEqual([1]);
      expect(p.noiseStandardError).toBeGreaterThan(0);
      expect(p.standardError).toBeGreaterThan(p.noiseStandardError);
    }
    const rms = Math.sqrt(sum(z.map((x) => x * x)) / z.length);
    expect(rms).toBeGreaterThan(0.85);
    expect(rms).toBeLessThan(1.15);
    expect(z.filter((x) => Math.abs(x) < 2).length / z.length).toBeGreaterThan(0.9);
    const variances = sum(d.series.map((p) => p.standardError ** 2));
    expect(d.totalStandardError).toBeCloseTo(Math.sqrt(variances), 6);
  });
});
