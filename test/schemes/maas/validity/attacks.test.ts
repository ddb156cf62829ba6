import { describe, expect, it } from 'vitest';
import { reconstructVector, splitVector } from '../../../../src/crypto/shamir.js';
import { field61 } from '../../../../src/math/field.js';
import { seededRandom } from '../../../../src/math/random.js';
import { validityContext } from '../../../../src/schemes/maas/validity/randomness.js';
import type {
  DeviceValidityReport,
  ProveFunction,
  ValidityScheme,
} from '../../../../src/schemes/maas/validity/shares.js';
import { replayProver, zeroingProver } from './cheats.js';
import { allVerifierShares, CONTEXT, decideWith, makeScheme, subsetsOfAtLeast } from './helpers.js';

const rng = seededRandom('validity-attacks');
const p = field61.p;
const K = 3;
const M = 5;
const SETS = subsetsOfAtLeast(K, M); // 16 sets: ten 3-sets, five 4-sets, all five

/** Range 0..5: 3 bits of v and 3 bits of v + 2 (offset 2^3 − 1 − 5). */
const scheme05 = makeScheme([{ min: 0n, max: 5n }], K, M);
const scheme5x8 = makeScheme(
  Array.from({ length: 5 }, () => ({ min: 0n, max: 255n })),
  K,
  M,
);

/** The value the gateways would aggregate: truncate each share, restore from all m. */
function aggregatedValue(scheme: ValidityScheme, report: DeviceValidityReport): bigint[] {
  return reconstructVector(
    scheme.shamir,
    report.shares.map((s) => ({ x: s.gateway, ys: scheme.truncate(s.measurement) })),
  );
}

/** Asserts that every gateway set of ≥ k refuses the report; returns the reasons seen. */
function refusedEverywhere(scheme: ValidityScheme, report: DeviceValidityReport): Set<string> {
  const shares = allVerifierShares(scheme, report);
  const reasons = new Set<string>();
  for (const set of SETS) {
    const d = decideWith(scheme, shares, set);
    expect(d.valid, `gateways ${set.join(',')}`).toBe(false);
    if (!d.valid) reasons.add(d.reason);
  }
  return reasons;
}

describe('out-of-range values on a consistent polynomial are refused', () => {
  const cases: Array<{ name: string; x: bigint[] }> = [
    { name: '100 as bits (100, 0, 0 | 102, 0, 0)', x: [100n, 0n, 0n, 102n, 0n, 0n] },
    { name: '100 as bits (0, 0, 25 | 0, 1, 25)', x: [0n, 0n, 25n, 0n, 1n, 25n] },
    { name: '100 as bits (94, 1, 1 | 96, 1, 1)', x: [94n, 1n, 1n, 96n, 1n, 1n] },
    // Every slot a bit; only the affine link between the two decompositions breaks.
    { name: '6 as bits (0, 1, 1 | 0, 0, 0)', x: [0n, 1n, 1n, 0n, 0n, 0n] },
    { name: '7 as bits (1, 1, 1 | 1, 0, 0)', x: [1n, 1n, 1n, 1n, 0n, 0n] },
    // −1 = p − 1 in the low slot: the field's "negative" values are not bits either.
    { name: '−1 as bits (p − 1, 0, 0 | 1, 0, 0)', x: [p - 1n, 0n, 0n, 1n, 0n, 0n] },
  ];
  for (const { name, x } of cases) {
    const value = scheme05.circuit.truncate(x)[0]!;
    it(`value ${name} in range 0..5, honest prover: refused by all 16 sets of ≥ 3 of 5 gateways`, () => {
      const report = scheme05.shareEncoded(x, CONTEXT, rng);
      // The threat is real: the shares lie on one polynomial and would add `value`.
      expect(aggregatedValue(scheme05, report)).toEqual([value]);
      expect(refusedEverywhere(scheme05, report)).toEqual(new Set(['proof-refused']));
    });
    it(`value ${name} in range 0..5, prover zeroing the circuit output: refused by all 16 sets`, () => {
      const report = scheme05.shareEncoded(x, CONTEXT, rng, zeroingProver(scheme05.flp));
      const shares = allVerifierShares(scheme05, report);
      for (const set of SETS) {
        const d = decideWith(scheme05, shares, set);
        expect(d).toMatchObject({ valid: false, reason: 'proof-refused' });
        if (!d.valid && d.reason === 'proof-refused') {
          // v = 0 in every proof now; the gadget identity at r catches each of the 3.
          expect(d.failures.map((f) => f.reason)).toEqual([
            'gadget-mismatch',
            'gadget-mismatch',
            'gadget-mismatch',
          ]);
        }
      }
    });
  }

  it('a non-bit 2 in one of the 40 slots of a 5 × 8-bit reading is refused by all 16 sets', () => {
    for (const slot of [0, 7, 8, 23, 39]) {
      const x = scheme5x8.circuit.encode([1n, 2n, 3n, 4n, 5n]);
      x[slot] = 2n;
      for (const prove of [undefined, zeroingProver(scheme5x8.flp)] as (
        | ProveFunction
        | undefined
      )[]) {
        refusedEverywhere(scheme5x8, scheme5x8.shareEncoded(x, CONTEXT, rng, prove));
      }
    }
  });

  it('a reading of 300 in a 0..255 dimension (bit 8 smuggled as 2·bit 7) is refused', () => {
    const x = scheme5x8.circuit.encode([0n, 0n, 0n, 0n, 44n]); // 44 = 0b00101100
    x[32 + 7] = 2n; // + 2·128 = 300
    const report = scheme5x8.shareEncoded(x, CONTEXT, rng);
    expect(aggregatedValue(scheme5x8, report)[4]).toBe(300n);
    refusedEverywhere(scheme5x8, report);
  });

  it('an honest device cannot even encode 100 in range 0..5 (FIXED_POINT_OUT_OF_RANGE)', () => {
    expect(() => scheme05.shareReport([100n], CONTEXT, rng)).toThrow(/FIXED_POINT_OUT_OF_RANGE/);
  });
});

describe('a proof is bound to its measurement', () => {
  function proofFor(scheme: ValidityScheme, values: bigint[]): bigint[] {
    const holder: { proof: bigint[] } = { proof: [] };
    scheme.shareEncoded(scheme.circuit.encode(values), CONTEXT, rng, (x, pr, jr) => {
      holder.proof = scheme.flp.prove(x, pr, jr);
      return holder.proof;
    });
    return holder.proof;
  }

  it('a proof computed for reading 3 reused with reading 100 (range 0..5) is refused by all 16 sets', () => {
    const proof = proofFor(scheme05, [3n]);
    const x100 = [100n, 0n, 0n, 102n, 0n, 0n];
    refusedEverywhere(scheme05, scheme05.shareEncoded(x100, CONTEXT, rng, replayProver(proof)));
  });

  it('a proof for [1, 2, 3, 4, 5] reused with the valid [5, 4, 3, 2, 1] is refused too (other joint randomness)', () => {
    const proof = proofFor(scheme5x8, [1n, 2n, 3n, 4n, 5n]);
    const x = scheme5x8.circuit.encode([5n, 4n, 3n, 2n, 1n]);
    refusedEverywhere(scheme5x8, scheme5x8.shareEncoded(x, CONTEXT, rng, replayProver(proof)));
  });

  it('the same measurement re-shared (fresh shares, so fresh joint randomness) with the old proof is refused', () => {
    const x = scheme5x8.circuit.encode([9n, 8n, 7n, 6n, 5n]);
    const proof = proofFor(scheme5x8, [9n, 8n, 7n, 6n, 5n]);
    refusedEverywhere(scheme5x8, scheme5x8.shareEncoded(x, CONTEXT, rng, replayProver(proof)));
  });

  it('a report for round 8 replayed in round 9: all 5 gateways refuse their parts', () => {
    const report = scheme05.shareReport([2n], CONTEXT, rng);
    const round9 = validityContext({ deployment: 'validity-tests', ian: 1, device: 7, round: 9 });
    for (const s of report.shares) {
      expect(scheme05.query(s, report.parts, round9)).toEqual({
        ok: false,
        reason: 'joint-part-mismatch',
      });
    }
  });
});

describe('tampering with the joint / query randomness parts is detected', () => {
  const fresh = () => scheme05.shareReport([5n], CONTEXT, rng);

  it("gateway 2's own joint part with 1 bit flipped: gateway 2 refuses, the other 4 accept", () => {
    const report = fresh();
    const jointParts = report.parts.jointParts.map((b) => Buffer.from(b));
    jointParts[1]![0]! ^= 1;
    const parts = { ...report.parts, jointParts };
    for (const s of report.shares) {
      const r = scheme05.query(s, parts, CONTEXT);
      if (s.gateway === 2) expect(r).toEqual({ ok: false, reason: 'joint-part-mismatch' });
      else expect(r.ok).toBe(true);
    }
  });

  it('gateway 4 given a part list with part 1 altered: randomness-mismatch, groups [1, 2, 3, 5] and [4]', () => {
    const report = fresh();
    const altered = report.parts.jointParts.map((b) => Buffer.from(b));
    altered[0]![31]! ^= 0x80;
    const shares = report.shares.map((s) => {
      const parts = s.gateway === 4 ? { ...report.parts, jointParts: altered } : report.parts;
      const r = scheme05.query(s, parts, CONTEXT);
      if (!r.ok) throw new Error('own parts are intact');
      return r.share;
    });
    expect(scheme05.decide(shares)).toEqual({
      valid: false,
      reason: 'randomness-mismatch',
      groups: [[1, 2, 3, 5], [4]],
    });
    for (const set of SETS) {
      const d = decideWith(scheme05, shares, set);
      expect(d.valid).toBe(!set.includes(4));
      if (set.includes(4)) expect(d).toMatchObject({ reason: 'randomness-mismatch' });
    }
  });

  it("gateway 3's measurement share changed by +1 after the parts were computed: gateway 3 refuses", () => {
    const report = fresh();
    const s = report.shares[2]!;
    const moved = {
      ...s,
      measurement: s.measurement.map((v, i) => (i === 0 ? field61.add(v, 1n) : v)),
    };
    expect(scheme05.query(moved, report.parts, CONTEXT)).toEqual({
      ok: false,
      reason: 'joint-part-mismatch',
    });
  });

  it("gateway 5's proof share changed after the parts were computed: proof-part-mismatch", () => {
    const report = fresh();
    const s = report.shares[4]!;
    const moved = { ...s, proof: s.proof.map((v, i) => (i === 3 ? field61.add(v, 1n) : v)) };
    expect(scheme05.query(moved, report.parts, CONTEXT)).toEqual({
      ok: false,
      reason: 'proof-part-mismatch',
    });
  });

  it('the proof parts altered for every gateway alike (1 bit of part 2): gateway 2 refuses', () => {
    const report = fresh();
    const proofParts = report.parts.proofParts.map((b) => Buffer.from(b));
    proofParts[1]![5]! ^= 4;
    const parts = { ...report.parts, proofParts };
    expect(scheme05.query(report.shares[1]!, parts, CONTEXT)).toEqual({
      ok: false,
      reason: 'proof-part-mismatch',
    });
  });

  it('blinds of gateways 1 and 2 swapped: both refuse', () => {
    const report = fresh();
    const [a, b] = [report.shares[0]!, report.shares[1]!];
    expect(scheme05.query({ ...a, blind: b.blind }, report.parts, CONTEXT).ok).toBe(false);
    expect(scheme05.query({ ...b, blind: a.blind }, report.parts, CONTEXT).ok).toBe(false);
  });

  it('a gateway reporting another query seed: randomness-mismatch', () => {
    const shares = allVerifierShares(scheme05, fresh());
    const seed = Buffer.from(shares[2]!.querySeed);
    seed[0]! ^= 1;
    const lied = shares.map((s, i) => (i === 2 ? { ...s, querySeed: seed } : s));
    expect(decideWith(scheme05, lied, [1, 2, 3])).toMatchObject({
      valid: false,
      reason: 'randomness-mismatch',
    });
  });

  it("an inconsistent sharing (gateway 3's share 1 off the polynomial, committed to as sent): refused whenever gateway 3 is used, valid without it", () => {
    const x = scheme05.circuit.encode([3n]);
    const xs = splitVector(scheme05.shamir, x, rng).map((v) => [...v.ys]);
    xs[2]![0] = field61.add(xs[2]![0]!, 1n);
    const report = scheme05.proveAndCommit(x, xs, CONTEXT, rng);
    const shares = allVerifierShares(scheme05, report);
    for (const set of SETS) {
      const d = decideWith(scheme05, shares, set);
      if (!set.includes(3)) expect(d.valid, set.join(',')).toBe(true);
      else if (set.length === K) expect(d).toMatchObject({ valid: false, reason: 'proof-refused' });
      else expect(d).toMatchObject({ valid: false, reason: 'inconsistent-verifier' });
    }
  });
});
