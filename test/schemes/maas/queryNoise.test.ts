import { describe, expect, it } from 'vitest';
import { rationalToNumber } from '../../../src/dp/rational.js';
import { seededRandom } from '../../../src/math/random.js';
import type { QueryAnswer, QueryResult } from '../../../src/schemes/maas/query.js';
import { chiSquarePValue } from '../../dp/chiSquare.js';
import { type Fixture, fixture, grant, pearson } from './queryFixtures.js';

/**
 * Issue 10, findings 1, 3, 4 and 9: the query noise of Algorithm 2 in privagg's default
 * ('derived') mode against the paper's ('paper-fresh'), side by side.
 */
const LDP = { epsilon: 1, delta: 1e-3 };
const Z = 4;
const N = 8;
const MAX = 6;
/** The deployment every test here shares: z IANs of n devices, one dimension 0..MAX. */
const SHAPE = { ians: Z, devices: N, maxReading: [MAX] };

function answerOf(res: QueryResult): QueryAnswer {
  if (!res.ok) throw new Error(`${res.code}: ${res.reason}`);
  return res.answer;
}

/** Every device of IAN v reads `level(v, i)`; the same restored sums in every round. */
function steadyData(f: Fixture, rounds: number, level: (v: number, i: number) => number) {
  const sums = Array.from({ length: Z }, (_, v) =>
    f.sums(
      Array.from({ length: N }, (_, i) => [level(v, i)]),
      seededRandom(`ldp/${v}`),
    ),
  );
  for (let rd = 0; rd < rounds; rd++) for (let v = 0; v < Z; v++) f.restore(v, rd, sums[v]!);
}

/** The integer T behind a default-mode value: the public inverse of the de-biasing. */
function integerBehind(f: Fixture, value: number, reports: number): number {
  const ldp = f.dep.codec.ldp!;
  const t = Z * f.dep.params.scale * ((value * ldp.B) / MAX + reports * ldp.A);
  const rounded = Math.round(t);
  // The answer lies on the integer lattice (to float precision, ~1e-8 here).
  expect(Math.abs(t - rounded)).toBeLessThan(1e-4);
  return rounded;
}

/** Two-sample χ² on equal-size samples of values in [0, 1), `bins` equal bins. */
function twoSampleChiSquare(a: readonly number[], b: readonly number[], bins: number) {
  const count = (xs: readonly number[]) => {
    const c = new Array<number>(bins).fill(0);
    for (const x of xs) c[Math.min(bins - 1, Math.floor(x * bins))]!++;
    return c;
  };
  const ca = count(a);
  const cb = count(b);
  let statistic = 0;
  for (let i = 0; i < bins; i++) {
    const s = ca[i]! + cb[i]!;
    if (s > 0) statistic += (ca[i]! - cb[i]!) ** 2 / s;
  }
  return chiSquarePValue(statistic, bins - 1);
}

const frac = (x: number) => x - Math.floor(x);

describe('finding 1: the query noise lives in the integer domain of the restored sums', () => {
  const R = 400;
  /** Dataset A: IAN 0 reads 0 everywhere; B: IAN 0 reads 6 everywhere. Other IANs alike. */
  const level = (ian0: number) => (v: number, i: number) => (v === 0 ? ian0 : (v + i) % (MAX + 1));

  function answers(mode: 'derived' | 'paper-fresh', ian0: number) {
    const f = fixture({
      ...SHAPE,
      ldp: LDP,
      oems: [grant('oem', 1)],
      modes: { queryNoise: mode },
      secret: 'shared', // A and B share the ledger's noise key: the same cells.
    });
    steadyData(f, R, level(ian0));
    // The first window whose derived (or seeded) pick of 2 IANs holds IAN 0.
    for (let s = 0; ; s++) {
      const a = answerOf(
        f.ask(0, { number: 2, startRound: s, endRound: R - 1 }, seededRandom(`pick/${s}`)),
      );
      if (a.ians.includes(0) && a.endRound - a.startRound + 1 >= R - 20) return { f, a };
    }
  }

  it(`two datasets differing in one IAN, ${R} noise draws each: T mod z is identical draw by draw and frac(z·value) passes a two-sample χ² (p > 1e-6); the paper's frac(z·value) is constant per dataset and differs`, () => {
    const A = answers('derived', 0);
    const B = answers('derived', MAX);
    expect(B.a.ians).toEqual(A.a.ians);
    const reports = 2 * N;
    const pa = A.a.dimensions[0]!.series;
    const pb = B.a.dimensions[0]!.series;
    expect(pa.length).toBe(pb.length);
    for (let i = 0; i < pa.length; i++) {
      const ta = integerBehind(A.f, pa[i]!.value, reports);
      const tb = integerBehind(B.f, pb[i]!.value, reports);
      // The only thing below the integer's data part: T mod z = −k·Σ_u η_u mod z.
      expect(((ta % Z) + Z) % Z).toBe(((tb % Z) + Z) % Z);
    }
    const fa = pa.map((p) => frac(Z * p.value));
    const fb = pb.map((p) => frac(Z * p.value));
    expect(new Set(fa.map((x) => x.toFixed(6))).size).toBeGreaterThan(pa.length / 2);
    expect(twoSampleChiSquare(fa, fb, 8)).toBeGreaterThan(1e-6);

    // The paper: z·value = z·(noise-free value) + an integer, so frac(z·value) is the data's.
    const PA = answers('paper-fresh', 0).a.dimensions[0]!.series.map((p) => frac(Z * p.value));
    const PB = answers('paper-fresh', MAX).a.dimensions[0]!.series.map((p) => frac(Z * p.value));
    const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
    expect(spread(PA)).toBeLessThan(1e-6);
    expect(spread(PB)).toBeLessThan(1e-6);
    expect(Math.abs(PA[0]! - PB[0]!)).toBeGreaterThan(1e-3);
  });

  it("the audit's attack (search z·value − M for an estimate on the fixed-point lattice) recovers 30 of 30 noise-free values in the paper's mode and 0 of 30 in ours", () => {
    const recovered: Record<string, number> = {};
    for (const mode of ['paper-fresh', 'derived'] as const) {
      const f = fixture({
        ...SHAPE,
        ldp: LDP,
        oems: [grant('oem', 1)],
        modes: { queryNoise: mode },
      });
      const rng = seededRandom('readings');
      for (let rd = 0; rd < 30; rd++) {
        for (let v = 0; v < Z; v++) {
          const readings = Array.from({ length: N }, () => [rng.nextUint32() % (MAX + 1)]);
          f.restore(v, rd, f.sums(readings, rng));
        }
      }
      const a = answerOf(
        f.ask(0, { number: 1, startRound: 0, endRound: 29 }, seededRandom('paper')),
      );
      const ian = a.ians[0]!;
      const ldp = f.dep.codec.ldp!;
      const scale = f.dep.params.scale;
      // Noise well inside ±40 of its standard errors (Laplace tails: e^{−40·√2} beyond).
      let hits = 0;
      for (const p of a.dimensions[0]!.series) {
        const truth = f.contract.restoredOf(ian, p.round)!.estimates[0]!.estimate;
        const range = Math.ceil(Z * 40 * p.noiseStandardError);
        let best = { score: Number.POSITIVE_INFINITY, value: Number.NaN };
        for (let m = -range; m <= range; m++) {
          const candidate = p.value - m / Z;
          const q = ((candidate * ldp.B) / MAX + N * ldp.A) * scale;
          const score = Math.abs(q - Math.round(q));
          if (score < best.score) best = { score, value: candidate };
        }
        if (Math.abs(best.value - truth) < 1e-6) hits++;
      }
      recovered[mode] = hits;
    }
    expect(recovered).toEqual({ 'paper-fresh': 30, derived: 0 });
  });

  it('the noise is centred and its reported standard error is the one it has (400 draws, k = 2 of z = 4)', () => {
    const f = fixture({
      ...SHAPE,
      ldp: LDP,
      oems: [grant('oem', 1)],
    });
    steadyData(f, R, (v, i) => (v * 2 + i) % (MAX + 1));
    const a = answerOf(f.ask(0, { number: 2, startRound: 0, endRound: R - 1 }));
    const z: number[] = [];
    for (const p of a.dimensions[0]!.series) {
      const free = p.coveredIans.reduce(
        (s, v) => s + f.contract.restoredOf(v, p.round)!.estimates[0]!.estimate,
        0,
      );
      expect(p.noiseStandardError).toBeGreaterThan(0);
      const ldpSe = Math.sqrt(p.standardError ** 2 - p.noiseStandardError ** 2);
      expect(ldpSe).toBeGreaterThan(0);
      z.push((p.value - free) / p.noiseStandardError);
    }
    const mean = z.reduce((s, x) => s + x, 0) / z.length;
    const rms = Math.sqrt(z.reduce((s, x) => s + x * x, 0) / z.length);
    // SE of the mean 0.05, of the RMS ≈ 0.04 (4 Laplace terms): bounds at ≈ 4 SE.
    expect(Math.abs(mean)).toBeLessThan(0.2);
    expect(rms).toBeGreaterThan(0.85);
    expect(rms).toBeLessThan(1.15);
  });
});

describe('finding 9: noise that cannot wrap', () => {
  it('ε = 1e−4 gives cells beyond 2^31, used exactly; ε = 1e−9 (scale > 2^47) is refused', () => {
    const f = fixture({
      ...SHAPE,
      ldp: LDP,
      oems: [grant('oem', 1e-4)],
    });
    steadyData(f, 20, (v, i) => (v + i) % (MAX + 1));
    const a = answerOf(f.ask(0, { number: 3, startRound: 0, endRound: 19 }));
    let beyond = 0;
    const ldp = f.dep.codec.ldp!;
    const scale = f.dep.params.scale;
    for (const p of a.dimensions[0]!.series) {
      const eta = Array.from({ length: Z }, (_, v) => f.queries.dp.cell(v, p.round)[0]!);
      for (const e of eta) if (Math.abs(e) > 2 ** 31) beyond++;
      // T = Σ_{v∈K} (z·q_v + z·η_v − Σ_u η_u), recomputed here in bigint.
      let t = 0n;
      for (const v of p.coveredIans) {
        const q = Math.round(f.contract.restoredOf(v, p.round)!.estimates[0]!.rawSum * scale);
        t += BigInt(Z) * BigInt(q) + BigInt(Z) * BigInt(eta[v]!);
        for (const e of eta) t -= BigInt(e);
      }
      const expected = MAX * ((Number(t) / (Z * scale) - 3 * N * ldp.A) / ldp.B);
      expect(p.value).toBeCloseTo(expected, 6);
    }
    expect(beyond).toBeGreaterThan(60); // of 80 cells; Pr[|η| ≤ 2^31] ≈ 0.01 at this scale
    expect(() => fixture({ ...SHAPE, ldp: LDP, oems: [grant('oem', 1e-9)] })).toThrowError(
      expect.objectContaining({ code: 'INVALID_PRIVACY_PARAMETERS' }),
    );
  });
});

describe('finding 3: the unit of privacy is one IAN, and differences do not isolate it', () => {
  const R = 400;
  /** IAN v's value in round rd: a trend over its whole range 0..n·max (LDP off: exact sums). */
  const truth = (v: number, rd: number) =>
    Math.round(N * MAX * (0.5 + 0.45 * Math.sin((2 * Math.PI * (rd + 6 * v)) / 25)));

  function attack(mode: 'derived' | 'paper-fresh') {
    const f = fixture({
      ...SHAPE,
      ldp: null,
      oems: [grant('oem', 1)],
      modes: { queryNoise: mode },
    });
    const rng = seededRandom('unused with LDP off');
    for (let rd = 0; rd < R; rd++) {
      for (let v = 0; v < Z; v++) {
        const s = truth(v, rd);
        const readings = Array.from({ length: N }, (_, i) => [
          Math.floor(s / N) + (i < s % N ? 1 : 0),
        ]);
        f.restore(v, rd, f.sums(readings, rng));
      }
    }
    const window = { startRound: 0, endRound: R - 1 };
    const all = answerOf(f.ask(0, { number: Z, ...window }, seededRandom('all')));
    const sub = answerOf(f.ask(0, { number: Z - 1, ...window }, seededRandom('sub')));
    const one = answerOf(f.ask(0, { number: 1, ...window }, seededRandom('one')));
    const u = [0, 1, 2, 3].find((v) => !sub.ians.includes(v))!;
    const allSeries = all.dimensions[0]!.series;
    const subSeries = sub.dimensions[0]!.series;
    // The all-IAN answer is exact (the zero-sum cancels): the invariant the paper keeps.
    for (const p of allSeries) {
      expect(p.value).toBe([0, 1, 2, 3].reduce((s, v) => s + truth(v, p.round), 0));
      expect(p.noiseStandardError).toBe(0);
    }
    const isolated = allSeries.map((p, i) => p.value - subSeries[i]!.value);
    const truthU = allSeries.map((p) => truth(u, p.round));
    const rmsError = Math.sqrt(
      isolated.reduce((s, x, i) => s + (x - truthU[i]!) ** 2, 0) / isolated.length,
    );
    return {
      differencing: pearson(isolated, truthU),
      direct: pearson(
        one.dimensions[0]!.series.map((p) => p.value),
        allSeries.map((p) => truth(one.ians[0]!, p.round)),
      ),
      rmsError,
      reportedSe: subSeries[0]!.noiseStandardError,
    };
  }

  // Expected r ≈ sd(truth)/√(sd(truth)² + sd(noise)²): truth sd ≈ 15; noise sd ≈ 7 with the
  // paper's one-device scale 6 (r ≈ 0.9), ≈ 118 with ours, 2·48/ε per cell (r ≈ 0.13, SE 0.05;
  // measured: paper 0.91, ours 0.13, number = 1: 0.90 and 0.18).
  it(`number = z minus number = z − 1 over ${R} rounds: Pearson against the isolated IAN's truth > 0.8 in the paper's mode, < 0.35 in ours (and so is number = 1)`, () => {
    const paper = attack('paper-fresh');
    const ours = attack('derived');
    expect(paper.differencing).toBeGreaterThan(0.8);
    expect(paper.direct).toBeGreaterThan(0.8);
    expect(Math.abs(ours.differencing)).toBeLessThan(0.35);
    expect(Math.abs(ours.direct)).toBeLessThan(0.35);
    // The isolated IAN's error is the subset's noise, as reported (RMS ratio SE ≈ 0.05).
    expect(ours.rmsError / ours.reportedSe).toBeGreaterThan(0.75);
    expect(ours.rmsError / ours.reportedSe).toBeLessThan(1.25);
  });
});

describe('finding 4: one noise cell per (IAN, round, dimension), whatever the OEM', () => {
  it('two OEM names (ε = 1 and 0.5) asking the same window get the same IANs and the same values: averaging gains nothing; the scale is the smaller ε’s', () => {
    const f = fixture({
      ...SHAPE,
      ldp: LDP,
      oems: [
        grant('acme', 1),
        grant('acme-shell', 0.5),
        // No access to dimension 0: its tiny ε there must not set the shared scale.
        { ...grant('other', 1e-6), dimensions: [] },
      ],
    });
    steadyData(f, 50, (v, i) => (v + 3 * i) % (MAX + 1));
    const q = { number: 2, startRound: 0, endRound: 49 };
    const a = answerOf(f.ask(0, q));
    const b = answerOf(f.ask(1, q));
    expect(b.ians).toEqual(a.ians);
    const va = a.dimensions[0]!.series.map((p) => p.value);
    const vb = b.dimensions[0]!.series.map((p) => p.value);
    expect(vb).toEqual(va);
    expect(va.some((x, i) => x !== va[(i + 1) % va.length])).toBe(true);
    // Each is charged its own ε_j; the noise is that of ε* = min = 0.5: 2Δ/0.5.
    expect(a.spent?.epsilon).toBe('1');
    expect(b.spent?.epsilon).toBe('1/2');
    expect(rationalToNumber(f.queries.dp.scale(0)!)).toBe(4 * Number(f.queries.dp.sensitivity(0)));
  });
});
