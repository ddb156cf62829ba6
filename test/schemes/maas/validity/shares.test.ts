import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reconstructVector } from '../../../../src/crypto/shamir.js';
import { ErrorCode } from '../../../../src/errors.js';
import { field61, field127 } from '../../../../src/math/field.js';
import { seededRandom, uniformBigint } from '../../../../src/math/random.js';
import {
  expandFieldElements,
  jointRandSeed,
  queryRandSeed,
} from '../../../../src/schemes/maas/validity/randomness.js';
import { expectCode } from '../../../math/helpers.js';
import { allVerifierShares, CONTEXT, decideWith, fe, makeScheme } from './helpers.js';

const rng = seededRandom('validity-shares');

const rangeArb = fc
  .tuple(fc.integer({ min: -300, max: 300 }), fc.integer({ min: 0, max: 600 }))
  .map(([min, span]) => ({ min: BigInt(min), max: BigInt(min + span) }));

/** m ≤ 7, 1 ≤ k ≤ m, and a set of ≥ k gateways (1-based, ascending). */
const gatewaysArb = fc
  .integer({ min: 1, max: 7 })
  .chain((m) => fc.tuple(fc.integer({ min: 1, max: m }), fc.constant(m)))
  .chain(([k, m]) =>
    fc.tuple(
      fc.constant(k),
      fc.constant(m),
      fc
        .shuffledSubarray(
          Array.from({ length: m }, (_, i) => i + 1),
          { minLength: k, maxLength: m },
        )
        .map((s) => [...s].sort((a, b) => a - b)),
    ),
  );

describe('FLP on Shamir shares', () => {
  it('an honest in-range report is accepted from ANY set of ≥ k of the m gateways', () => {
    fc.assert(
      fc.property(
        gatewaysArb,
        fc.array(rangeArb, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 3 }),
        ([k, m, subset], ranges, proofs) => {
          const scheme = makeScheme(ranges, k, m, { proofs });
          const values = ranges.map((r) =>
            fe(field61, r.min + uniformBigint(rng, r.max - r.min + 1n)),
          );
          const report = scheme.shareReport(values, CONTEXT, rng);
          const shares = allVerifierShares(scheme, report);
          expect(decideWith(scheme, shares, subset)).toEqual({ valid: true, gateways: subset });
        },
      ),
      { numRuns: 80 },
    );
  });

  it('every k-subset of 5 gateways accepts a 5 × 8-bit reading (k = 3, exhaustive over subsets)', () => {
    const scheme = makeScheme(
      Array.from({ length: 5 }, () => ({ min: 0n, max: 255n })),
      3,
      5,
    );
    const report = scheme.shareReport([0n, 255n, 17n, 128n, 1n], CONTEXT, rng);
    const shares = allVerifierShares(scheme, report);
    let checked = 0;
    for (let a = 1; a <= 5; a++)
      for (let b = a + 1; b <= 5; b++)
        for (let c = b + 1; c <= 5; c++) {
          expect(decideWith(scheme, shares, [a, b, c]).valid).toBe(true);
          checked++;
        }
    expect(checked).toBe(10);
  });

  for (const field of [field61, field127]) {
    it(`verifier shares interpolate to the verifier of the unshared (x, π) (${field.bits}-bit p)`, () => {
      fc.assert(
        fc.property(
          gatewaysArb,
          fc.array(rangeArb, { minLength: 1, maxLength: 3 }),
          ([k, m, subset], ranges) => {
            const scheme = makeScheme(ranges, k, m, { proofs: 2, field });
            const values = ranges.map((r) => fe(field, r.min));
            const captured: { x: bigint[]; proof: bigint[] } = { x: [], proof: [] };
            const report = scheme.shareEncoded(
              scheme.circuit.encode(values),
              CONTEXT,
              rng,
              (x, proveRand, jointRand) => {
                const proof = scheme.flp.prove(x, proveRand, jointRand);
                captured.x = [...x];
                captured.proof = proof;
                return proof;
              },
            );
            const shares = allVerifierShares(scheme, report);
            // The same randomness the gateways derived, recomputed from the public parts.
            const jointSeed = jointRandSeed(scheme.config, CONTEXT, report.parts.jointParts);
            const querySeed = queryRandSeed(
              scheme.config,
              CONTEXT,
              jointSeed,
              report.parts.proofParts,
            );
            const jr = expandFieldElements(field, jointSeed, 'joint', scheme.flp.jointRandLength);
            const qr = expandFieldElements(
              field,
              querySeed,
              'query',
              scheme.flp.queryRandLength,
              scheme.flp.queryRandMin,
            );
            const direct = scheme.flp.query(captured.x, captured.proof, qr, jr);
            const picked = subset.map((l) => shares[l - 1]!);
            expect(scheme.interpolateVerifier(picked)).toEqual(direct);
            expect(Buffer.from(picked[0]!.querySeed).equals(querySeed)).toBe(true);
            // And the measurement and proof shares reconstruct (x, π).
            const xs = report.shares.map((s) => ({ x: s.gateway, ys: s.measurement }));
            expect(reconstructVector(scheme.shamir, xs)).toEqual(captured.x);
            const ps = report.shares.map((s) => ({ x: s.gateway, ys: s.proof }));
            expect(reconstructVector(scheme.shamir, ps)).toEqual(captured.proof);
          },
        ),
        { numRuns: 40 },
      );
    });
  }

  it('truncated shares summed over devices are shares of the sum of the readings', () => {
    fc.assert(
      fc.property(
        gatewaysArb,
        fc.array(rangeArb, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 6 }),
        ([k, m, subset], ranges, devices) => {
          const scheme = makeScheme(ranges, k, m, { proofs: 1 });
          const field = field61;
          const truth = ranges.map(() => 0n);
          const sums = Array.from({ length: m }, () => ranges.map(() => 0n));
          for (let i = 0; i < devices; i++) {
            const signed = ranges.map((r) => r.min + uniformBigint(rng, r.max - r.min + 1n));
            signed.forEach((v, d) => {
              truth[d] = truth[d]! + v;
            });
            const report = scheme.shareReport(
              signed.map((v) => fe(field, v)),
              CONTEXT,
              rng,
            );
            for (const s of report.shares) {
              const t = scheme.truncate(s.measurement);
              sums[s.gateway - 1] = sums[s.gateway - 1]!.map((a, d) => field.add(a, t[d]!));
            }
          }
          const restored = reconstructVector(
            scheme.shamir,
            subset.map((l) => ({ x: l, ys: sums[l - 1]! })),
          );
          expect(restored.map((v) => field.toSigned(v))).toEqual(truth);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('more than k verifier shares off one polynomial: reported (inconsistent-verifier), and the liar named with maxErrors 1', () => {
    const scheme = makeScheme([{ min: 0n, max: 5n }], 3, 5);
    const report = scheme.shareReport([4n], CONTEXT, rng);
    const shares = allVerifierShares(scheme, report);
    const lied = shares.map((s) =>
      s.gateway === 4
        ? { ...s, verifier: s.verifier.map((v, i) => (i === 0 ? field61.add(v, 1n) : v)) }
        : s,
    );
    expect(scheme.decide(lied)).toEqual({
      valid: false,
      reason: 'inconsistent-verifier',
      gateways: [1, 2, 3, 4, 5],
    });
    expect(scheme.decide(lied, { maxErrors: 1 })).toEqual({
      valid: false,
      reason: 'inconsistent-verifier',
      gateways: [1, 2, 3, 4, 5],
      suspects: [4],
    });
    // Without gateway 4 the other four agree and accept.
    expect(decideWith(scheme, shares, [1, 2, 3, 5]).valid).toBe(true);
    expectCode(() => scheme.interpolateVerifier(lied), ErrorCode.INCONSISTENT_SHARES);
  });

  it('fewer than k verifier shares, a repeated gateway or a ragged share throw', () => {
    const scheme = makeScheme([{ min: 0n, max: 5n }], 3, 5);
    const shares = allVerifierShares(scheme, scheme.shareReport([1n], CONTEXT, rng));
    expectCode(() => scheme.decide(shares.slice(0, 2)), ErrorCode.NOT_ENOUGH_SHARES);
    expectCode(
      () => scheme.decide([shares[0]!, shares[0]!, shares[1]!]),
      ErrorCode.DUPLICATE_SHARE_INDEX,
    );
    expectCode(
      () => scheme.decide([shares[0]!, shares[1]!, { ...shares[2]!, verifier: [1n] }]),
      ErrorCode.SHARE_MISMATCH,
    );
  });

  it('a gateway share with a value ≥ p, a wrong length or a wrong index throws', () => {
    const scheme = makeScheme([{ min: 0n, max: 5n }], 2, 3);
    const report = scheme.shareReport([1n], CONTEXT, rng);
    const s = report.shares[0]!;
    expectCode(
      () =>
        scheme.query(
          { ...s, measurement: s.measurement.map(() => field61.p) },
          report.parts,
          CONTEXT,
        ),
      ErrorCode.SHARE_OUT_OF_RANGE,
    );
    expectCode(
      () => scheme.query({ ...s, proof: s.proof.slice(1) }, report.parts, CONTEXT),
      ErrorCode.SHARE_MISMATCH,
    );
    expectCode(
      () => scheme.query({ ...s, gateway: 4 }, report.parts, CONTEXT),
      ErrorCode.SHARE_INDEX_OUT_OF_RANGE,
    );
    expectCode(
      () =>
        scheme.query(s, { ...report.parts, jointParts: report.parts.jointParts.slice(1) }, CONTEXT),
      ErrorCode.SHARE_MISMATCH,
    );
  });

  it('wire sizes for 5 × 8 bits, m = 5, 3 proofs over 2^61 − 1', () => {
    const scheme = makeScheme(
      Array.from({ length: 5 }, () => ({ min: 0n, max: 255n })),
      3,
      5,
    );
    expect(scheme.sizes()).toEqual({
      measurementElements: 40,
      proofElements: 81,
      verifierElements: 36,
      elementBytes: 8,
      deviceToGatewayBytes: (40 + 81) * 8 + 32 + 2 * 5 * 32,
      gatewayToLedgerBytes: 36 * 8 + 32,
    });
  });
});
