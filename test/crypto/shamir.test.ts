import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addShareVectors,
  areSharesConsistent,
  reconstructSecret,
  reconstructVector,
  ShamirParams,
  ShamirReconstructor,
  splitSecret,
  splitVector,
  sumShareVectors,
} from '../../src/crypto/shamir.js';
import { ErrorCode } from '../../src/errors.js';
import { field61, field127, MERSENNE_61, PrimeField } from '../../src/math/field.js';
import { seededRandom } from '../../src/math/random.js';
import { expectCode } from '../math/helpers.js';

const rng = seededRandom('shamir-tests');
const fields = [field61, field127];

/** k, m with 1 ≤ k ≤ m ≤ 12, and a permutation of 1..m to pick subsets from. */
const km = fc
  .integer({ min: 1, max: 12 })
  .chain((m) => fc.tuple(fc.integer({ min: 1, max: m }), fc.constant(m)))
  .chain(([k, m]) =>
    fc.tuple(
      fc.constant(k),
      fc.constant(m),
      fc.shuffledSubarray(
        Array.from({ length: m }, (_, i) => i),
        { minLength: m, maxLength: m },
      ),
    ),
  );

describe('Shamir split / reconstruct', () => {
  for (const field of fields) {
    const secret = fc.bigInt({ min: 0n, max: field.p - 1n });
    it(`any k of m shares reconstruct (${field.bits}-bit p)`, () => {
      fc.assert(
        fc.property(km, secret, fc.integer({ min: 0, max: 12 }), ([k, m, order], s, extra) => {
          const params = new ShamirParams(k, m, field);
          const shares = splitSecret(params, s, rng);
          expect(shares.map((sh) => sh.x)).toEqual(Array.from({ length: m }, (_, i) => i + 1));
          const picked = order.slice(0, k).map((i) => shares[i]!);
          expect(reconstructSecret(params, picked)).toBe(s);
          // More than k honest shares: consistent, same secret.
          const more = order.slice(0, Math.min(m, k + extra)).map((i) => shares[i]!);
          expect(areSharesConsistent(params, more)).toBe(true);
          expect(reconstructSecret(params, more)).toBe(s);
        }),
      );
    });

    it(`summed share vectors reconstruct the sum mod p (${field.bits}-bit p)`, () => {
      fc.assert(
        fc.property(
          km,
          fc.integer({ min: 1, max: 4 }),
          fc.array(fc.array(secret, { minLength: 4, maxLength: 4 }), {
            minLength: 1,
            maxLength: 8,
          }),
          ([k, m, order], w, readings) => {
            const params = new ShamirParams(k, m, field);
            const perDevice = readings.map((r) => splitVector(params, r.slice(0, w), rng));
            const perGateway = Array.from({ length: m }, (_, l) =>
              sumShareVectors(
                params,
                perDevice.map((d) => d[l]!),
              ),
            );
            const expected = Array.from({ length: w }, (_, d) =>
              readings.reduce((acc, r) => (acc + r[d]!) % field.p, 0n),
            );
            const picked = order.slice(0, k).map((i) => perGateway[i]!);
            expect(reconstructVector(params, picked)).toEqual(expected);
            expect(reconstructVector(params, perGateway)).toEqual(expected);
            if (perDevice.length >= 2) {
              const pair = addShareVectors(params, perDevice[0]![0]!, perDevice[1]![0]!);
              expect(pair.x).toBe(1);
              expect(pair.ys).toEqual(
                perDevice[0]![0]!.ys.map((y, d) => (y + perDevice[1]![0]!.ys[d]!) % field.p),
              );
            }
          },
        ),
      );
    });
  }

  it('k − 1 shares of different secrets can be identical (no information)', () => {
    // With k = 2 the single share f(1) = s + a is uniform whatever s is: for any two
    // secrets there is a coefficient giving the same share.
    const params = new ShamirParams(2, 3, new PrimeField(101n));
    const seen = new Set<bigint>();
    const r = seededRandom('no-info');
    for (let i = 0; i < 2000; i++) seen.add(splitSecret(params, 7n, r)[0]!.y);
    expect(seen.size).toBe(101);
  });

  it('consistency check flags any single corrupted share when r > k', () => {
    fc.assert(
      fc.property(
        km.filter(([k, m]) => m > k),
        fc.bigInt({ min: 0n, max: MERSENNE_61 - 1n }),
        fc.nat(),
        fc.bigInt({ min: 1n, max: MERSENNE_61 - 1n }),
        ([k, m, order], s, which, delta) => {
          const params = new ShamirParams(k, m, field61);
          const shares = splitSecret(params, s, rng);
          const r = k + 1 + (which % (m - k));
          const picked = order.slice(0, r).map((i) => shares[i]!);
          const bad = which % r;
          const corrupted = picked.map((sh, i) =>
            i === bad ? { x: sh.x, y: (sh.y + delta) % MERSENNE_61 } : sh,
          );
          expect(areSharesConsistent(params, corrupted)).toBe(false);
          expectCode(() => reconstructSecret(params, corrupted), ErrorCode.INCONSISTENT_SHARES);
          const rec = new ShamirReconstructor(
            params,
            corrupted.map((sh) => sh.x),
          );
          expect(rec.isConsistent(corrupted.map((sh) => sh.y))).toBe(false);
        },
      ),
    );
  });

  it('a reconstructor with r > k also reconstructs vectors and checks them', () => {
    const params = new ShamirParams(3, 5);
    const vectors = splitVector(params, [1n, 2n, 3n], rng);
    const rec = new ShamirReconstructor(params, [5, 1, 3, 4]);
    const picked = [5, 1, 3, 4].map((x) => vectors[x - 1]!);
    expect(rec.reconstructVector(picked)).toEqual([1n, 2n, 3n]);
    const tampered = picked.map((v, i) =>
      i === 3 ? { x: v.x, ys: [v.ys[0]!, v.ys[1]! ^ 1n, v.ys[2]!] } : v,
    );
    expectCode(() => rec.reconstructVector(tampered), ErrorCode.INCONSISTENT_SHARES);
    expectCode(() => rec.reconstructVector(picked.slice(0, 3)), ErrorCode.SHARE_MISMATCH);
    expectCode(() => rec.reconstructVector([...picked].reverse()), ErrorCode.SHARE_MISMATCH);
  });
});

describe('Shamir validation error codes', () => {
  const params = new ShamirParams(3, 5);
  const shares = splitSecret(params, 42n, rng);

  it('INVALID_ARGUMENT for k > m, k < 1, m ≥ p, non-integers', () => {
    expectCode(() => new ShamirParams(4, 3), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => new ShamirParams(0, 3), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => new ShamirParams(1.5, 3), ErrorCode.INVALID_ARGUMENT);
    expectCode(() => new ShamirParams(2, 13, new PrimeField(13n)), ErrorCode.INVALID_ARGUMENT);
    expect(new ShamirParams(2, 12, new PrimeField(13n)).shareCount).toBe(12);
  });

  it('VALUE_OUT_OF_FIELD for a secret ≥ p or < 0', () => {
    expectCode(() => splitSecret(params, MERSENNE_61, rng), ErrorCode.VALUE_OUT_OF_FIELD);
    expectCode(() => splitSecret(params, -1n, rng), ErrorCode.VALUE_OUT_OF_FIELD);
    expectCode(() => splitVector(params, [1n, MERSENNE_61], rng), ErrorCode.VALUE_OUT_OF_FIELD);
  });

  it('SHARE_INDEX_OUT_OF_RANGE for an index outside 1..m', () => {
    for (const x of [0, 6, -1, 1.5]) {
      expectCode(
        () => reconstructSecret(params, [...shares.slice(0, 2), { x, y: 1n }]),
        ErrorCode.SHARE_INDEX_OUT_OF_RANGE,
      );
    }
    expectCode(
      () => new ShamirReconstructor(params, [1, 2, 9]),
      ErrorCode.SHARE_INDEX_OUT_OF_RANGE,
    );
    expectCode(
      () => sumShareVectors(params, [{ x: 7, ys: [1n] }]),
      ErrorCode.SHARE_INDEX_OUT_OF_RANGE,
    );
  });

  it('DUPLICATE_SHARE_INDEX for a repeated index', () => {
    expectCode(
      () => reconstructSecret(params, [shares[0]!, shares[1]!, shares[0]!]),
      ErrorCode.DUPLICATE_SHARE_INDEX,
    );
    expectCode(() => new ShamirReconstructor(params, [1, 2, 2]), ErrorCode.DUPLICATE_SHARE_INDEX);
  });

  it('SHARE_OUT_OF_RANGE for a share value ≥ p or < 0', () => {
    const bad = [shares[0]!, shares[1]!, { x: 3, y: MERSENNE_61 }];
    expectCode(() => reconstructSecret(params, bad), ErrorCode.SHARE_OUT_OF_RANGE);
    expectCode(
      () => reconstructSecret(params, [shares[0]!, shares[1]!, { x: 3, y: -1n }]),
      ErrorCode.SHARE_OUT_OF_RANGE,
    );
    const rec = new ShamirReconstructor(params, [1, 2, 3]);
    expectCode(() => rec.reconstruct([1n, 2n, MERSENNE_61]), ErrorCode.SHARE_OUT_OF_RANGE);
    expectCode(
      () => sumShareVectors(params, [{ x: 1, ys: [MERSENNE_61] }]),
      ErrorCode.SHARE_OUT_OF_RANGE,
    );
  });

  it('NOT_ENOUGH_SHARES for fewer than k shares or an empty set', () => {
    expectCode(() => reconstructSecret(params, shares.slice(0, 2)), ErrorCode.NOT_ENOUGH_SHARES);
    expectCode(() => reconstructSecret(params, []), ErrorCode.NOT_ENOUGH_SHARES);
    expectCode(() => new ShamirReconstructor(params, [1, 2]), ErrorCode.NOT_ENOUGH_SHARES);
    expectCode(() => reconstructVector(params, []), ErrorCode.NOT_ENOUGH_SHARES);
    expectCode(() => sumShareVectors(params, []), ErrorCode.NOT_ENOUGH_SHARES);
  });

  it('SHARE_MISMATCH for ragged vectors, mixed indices or a wrong value count', () => {
    const v = splitVector(params, [1n, 2n], rng);
    const ragged = [v[0]!, v[1]!, { x: 3, ys: [v[2]!.ys[0]!] }];
    expectCode(() => reconstructVector(params, ragged), ErrorCode.SHARE_MISMATCH);
    expectCode(() => addShareVectors(params, v[0]!, v[1]!), ErrorCode.SHARE_MISMATCH);
    expectCode(() => addShareVectors(params, v[0]!, { x: 1, ys: [1n] }), ErrorCode.SHARE_MISMATCH);
    expectCode(
      () => new ShamirReconstructor(params, [1, 2, 3]).reconstruct([1n, 2n]),
      ErrorCode.SHARE_MISMATCH,
    );
  });

  it('INCONSISTENT_SHARES when extra shares disagree', () => {
    const bad = shares.map((s, i) => (i === 4 ? { x: s.x, y: (s.y + 1n) % MERSENNE_61 } : s));
    expectCode(() => reconstructSecret(params, bad), ErrorCode.INCONSISTENT_SHARES);
    // Exactly k shares carry no redundancy: the wrong one goes undetected (documented).
    expect(reconstructSecret(params, bad.slice(2))).not.toBe(42n);
  });
});
