import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeShares, decodeShareVectors } from '../../src/crypto/berlekampWelch.js';
import {
  ShamirParams,
  type Share,
  sharesFromCoefficients,
  splitSecret,
  splitVector,
} from '../../src/crypto/shamir.js';
import { ErrorCode, isPrivaggError } from '../../src/errors.js';
import { field61, field127, PrimeField } from '../../src/math/field.js';
import { evaluatePolynomial } from '../../src/math/polynomial.js';
import { seededRandom } from '../../src/math/random.js';
import { expectCode } from '../math/helpers.js';

const rng = seededRandom('bw-tests');

/** k ≤ m ≤ 12, r received shares (k ≤ r ≤ m), the order they are picked in. */
const setup = fc
  .integer({ min: 1, max: 12 })
  .chain((m) => fc.tuple(fc.integer({ min: 1, max: m }), fc.constant(m)))
  .chain(([k, m]) =>
    fc.tuple(
      fc.constant(k),
      fc.constant(m),
      fc.integer({ min: k, max: m }),
      fc.shuffledSubarray(
        Array.from({ length: m }, (_, i) => i),
        { minLength: m, maxLength: m },
      ),
    ),
  );

function corrupt(
  field: PrimeField,
  shares: readonly Share[],
  positions: readonly number[],
  deltas: readonly bigint[],
): Share[] {
  return shares.map((s, i) => {
    const at = positions.indexOf(i);
    return at < 0 ? s : { x: s.x, y: (s.y + deltas[at]!) % field.p };
  });
}

describe('Berlekamp–Welch', () => {
  for (const field of [field61, field127]) {
    it(`corrects every error pattern within ⌊(r−k)/2⌋ and names exactly the wrong indices (${field.bits}-bit p)`, () => {
      fc.assert(
        fc.property(
          setup,
          fc.bigInt({ min: 0n, max: field.p - 1n }),
          fc.array(fc.nat(), { maxLength: 6 }),
          fc.array(fc.bigInt({ min: 1n, max: field.p - 1n }), { minLength: 6, maxLength: 6 }),
          ([k, m, r, order], secret, picks, deltas) => {
            const params = new ShamirParams(k, m, field);
            const all = splitSecret(params, secret, rng);
            const received = order.slice(0, r).map((i) => all[i]!);
            const t = Math.floor((r - k) / 2);
            const positions = [...new Set(picks.map((p) => p % r))].slice(0, t);
            const bad = corrupt(field, received, positions, deltas);
            const res = decodeShares(params, bad);
            expect(res.secret).toBe(secret);
            expect(res.wrongIndices).toEqual(
              positions.map((i) => received[i]!.x).sort((a, b) => a - b),
            );
            expect(res.polynomial.length).toBe(k);
            for (const s of received)
              expect(evaluatePolynomial(field, res.polynomial, BigInt(s.x))).toBe(s.y);
          },
        ),
      );
    });
  }

  it('detects (throws) whenever t < errors ≤ r − k − t, and never returns a far-away polynomial', () => {
    fc.assert(
      fc.property(
        setup.filter(([k, , r]) => r - k >= 1),
        fc.bigInt({ min: 0n, max: field61.p - 1n }),
        fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
        fc.array(fc.bigInt({ min: 1n, max: field61.p - 1n }), { minLength: 12, maxLength: 12 }),
        fc.nat(),
        ([k, m, r, order], secret, picks, deltas, tauSeed) => {
          const params = new ShamirParams(k, m, field61);
          const all = splitSecret(params, secret, rng);
          const received = order.slice(0, r).map((i) => all[i]!);
          const t = Math.floor((r - k) / 2);
          const tau = tauSeed % (t + 1);
          const positions = [...new Set(picks.map((p) => p % r))];
          const errors = positions.length;
          const bad = corrupt(field61, received, positions, deltas);
          let result: ReturnType<typeof decodeShares> | undefined;
          try {
            result = decodeShares(params, bad, { maxErrors: tau });
          } catch (e) {
            if (!isPrivaggError(e, ErrorCode.TOO_MANY_ERRORS)) throw e;
          }
          if (errors <= tau) expect(result?.secret).toBe(secret);
          else if (errors <= r - k - tau) expect(result).toBeUndefined();
          // Whatever is returned agrees with all but ≤ τ received shares.
          if (result) {
            const disagree = bad.filter(
              (s) => evaluatePolynomial(field61, result.polynomial, BigInt(s.x)) !== s.y,
            );
            expect(disagree.map((s) => s.x).sort((a, b) => a - b)).toEqual(result.wrongIndices);
            expect(disagree.length).toBeLessThanOrEqual(tau);
          }
        },
      ),
    );
  });

  it('beyond the bound, a crafted error pattern is miscorrected — the documented limit', () => {
    // r = 5, k = 3, t = 1. g = f + c·(x − 1)(x − 2) agrees with f at x = 1, 2. Wrong
    // shares at x = 3, 4 (2 errors ≥ r − k + 1 − t) that land on g leave the word at
    // distance 1 from g: any radius-1 decoder returns g, and blames x = 5.
    const params = new ShamirParams(3, 5);
    const f = [10n, 20n, 30n];
    const c = 1000n;
    const g = [10n + 2n * c, 20n - 3n * c + field61.p, 30n + c];
    const onF = sharesFromCoefficients(params, f);
    const onG = sharesFromCoefficients(params, g);
    const word = [onF[0]!, onF[1]!, onG[2]!, onG[3]!, onF[4]!];
    const res = decodeShares(params, word);
    expect(res.secret).toBe(g[0]);
    expect(res.wrongIndices).toEqual([5]);
    // With τ = 0 the same two errors are within r − k − τ = 2: detected.
    expectCode(() => decodeShares(params, word, { maxErrors: 0 }), ErrorCode.TOO_MANY_ERRORS);
  });

  it('a single wrong share among r = 5, k = 3 is named (the bench case)', () => {
    const params = new ShamirParams(3, 5);
    const shares = splitSecret(params, 123456789n, rng);
    const bad = shares.map((s) => (s.x === 4 ? { x: 4, y: (s.y + 99n) % field61.p } : s));
    const res = decodeShares(params, bad);
    expect(res.secret).toBe(123456789n);
    expect(res.wrongIndices).toEqual([4]);
    expectCode(() => decodeShares(params, bad, { maxErrors: 0 }), ErrorCode.TOO_MANY_ERRORS);
  });

  it('TOO_MANY_ERRORS when r = k + 1 and a share is wrong (detectable, not correctable)', () => {
    const params = new ShamirParams(3, 5);
    const shares = splitSecret(params, 5n, rng).slice(0, 4);
    const bad = shares.map((s) => (s.x === 2 ? { x: 2, y: (s.y + 1n) % field61.p } : s));
    expectCode(() => decodeShares(params, bad), ErrorCode.TOO_MANY_ERRORS);
  });

  it('decodes share vectors per dimension and unions the wrong indices', () => {
    const params = new ShamirParams(2, 7);
    const vectors = splitVector(params, [7n, 8n, 9n], rng);
    const bad = vectors.map((v) => {
      if (v.x === 2) return { x: 2, ys: [v.ys[0]! ^ 1n, v.ys[1]!, v.ys[2]!] };
      if (v.x === 6) return { x: 6, ys: [v.ys[0]!, v.ys[1]!, v.ys[2]! ^ 1n] };
      return v;
    });
    expect(decodeShareVectors(params, bad)).toEqual({
      secrets: [7n, 8n, 9n],
      wrongIndices: [2, 6],
    });
    expectCode(
      () => decodeShareVectors(params, [vectors[0]!, { x: 2, ys: [1n] }]),
      ErrorCode.SHARE_MISMATCH,
    );
  });

  it('validates its input like reconstructSecret and rejects a bad maxErrors', () => {
    const params = new ShamirParams(2, 4, new PrimeField(101n));
    const shares = splitSecret(params, 3n, rng);
    expectCode(() => decodeShares(params, shares.slice(0, 1)), ErrorCode.NOT_ENOUGH_SHARES);
    expectCode(
      () => decodeShares(params, [shares[0]!, shares[0]!]),
      ErrorCode.DUPLICATE_SHARE_INDEX,
    );
    expectCode(
      () => decodeShares(params, [shares[0]!, { x: 2, y: 101n }]),
      ErrorCode.SHARE_OUT_OF_RANGE,
    );
    expectCode(
      () => decodeShares(params, [shares[0]!, { x: 5, y: 1n }]),
      ErrorCode.SHARE_INDEX_OUT_OF_RANGE,
    );
    expectCode(() => decodeShares(params, shares, { maxErrors: 2 }), ErrorCode.INVALID_ARGUMENT);
    expect(decodeShares(params, shares, { maxErrors: 1 }).secret).toBe(3n);
  });
});
