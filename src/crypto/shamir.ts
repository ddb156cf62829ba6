import { ErrorCode, ensure, PrivaggError } from '../errors.js';
import { bitLength, defaultField, type PrimeField } from '../math/field.js';
import { LagrangeAtZero, lagrangeCoefficients } from '../math/lagrange.js';
import type { RandomSource } from '../math/random.js';

/**
 * Shamir secret sharing over a prime field (docs/SCHEMES.md §0): f(x) = s + a1·x + … +
 * a_{k−1}·x^{k−1} mod p with uniform a_i, share l is f(l) at the public x_l = l for
 * l = 1..m. Any k shares give s by Lagrange at 0; fewer reveal nothing about it.
 * Shares add: the sum of devices' l-th shares is the l-th share of the sum.
 *
 * Every function validates what it is given: an index outside 1..m, a repeated index,
 * a value ≥ p, too few shares or ragged vectors throw a PrivaggError; with more than k
 * shares the extra ones are checked, never ignored.
 */

export interface Share {
  /** The public index l ∈ 1..m (the gateway that holds the share). */
  readonly x: number;
  readonly y: bigint;
}

/** The l-th shares of a w-dimensional reading (or of a sum of readings). */
export interface ShareVector {
  readonly x: number;
  readonly ys: readonly bigint[];
}

/** k-of-m over `field`. Validated once here so each call does not repeat it. */
export class ShamirParams {
  /** k: shares needed to reconstruct; the polynomial has degree k − 1. */
  readonly threshold: number;
  /** m: shares produced, at x = 1..m. */
  readonly shareCount: number;
  readonly field: PrimeField;
  /** x = 1..m as bigints, index l − 1. */
  readonly points: readonly bigint[];
  /** Horner with x ≤ m may skip per-step reductions while the value stays ~128 bits. */
  private readonly lazyHorner: boolean;

  constructor(threshold: number, shareCount: number, field: PrimeField = defaultField) {
    ensure(Number.isSafeInteger(threshold) && threshold >= 1, 'k must be an integer ≥ 1', {
      k: threshold,
    });
    ensure(Number.isSafeInteger(shareCount) && shareCount >= threshold, 'need 1 ≤ k ≤ m', {
      k: threshold,
      m: shareCount,
    });
    // x = 1..m must be distinct non-zero field elements.
    ensure(BigInt(shareCount) < field.p, 'm must be < p', { m: shareCount, p: field.p.toString() });
    this.threshold = threshold;
    this.shareCount = shareCount;
    this.field = field;
    this.points = Array.from({ length: shareCount }, (_, i) => BigInt(i + 1));
    this.lazyHorner = (threshold - 1) * bitLength(BigInt(shareCount)) <= 64;
  }

  /** f(x_l) for l = 1..m, from coefficients [s, a1, …, a_{k−1}] (all elements). */
  evaluateShares(coefficients: readonly bigint[]): bigint[] {
    const p = this.field.p;
    const k = coefficients.length;
    const out = new Array<bigint>(this.shareCount);
    const top = coefficients[k - 1]!;
    for (let l = 0; l < this.shareCount; l++) {
      const x = this.points[l]!;
      let acc = top;
      if (this.lazyHorner) {
        for (let i = k - 2; i >= 0; i--) acc = acc * x + coefficients[i]!;
        out[l] = acc % p;
      } else {
        for (let i = k - 2; i >= 0; i--) acc = (acc * x + coefficients[i]!) % p;
        out[l] = acc;
      }
    }
    return out;
  }
}

/** The m shares of f with the given coefficients (f(0) = coefficients[0]); deterministic. */
export function sharesFromCoefficients(
  params: ShamirParams,
  coefficients: readonly bigint[],
): Share[] {
  ensure(coefficients.length === params.threshold, 'need exactly k coefficients', {
    k: params.threshold,
    given: coefficients.length,
  });
  for (const c of coefficients) params.field.assertElement(c);
  return params.evaluateShares(coefficients).map((y, i) => ({ x: i + 1, y }));
}

function randomCoefficients(params: ShamirParams, secret: bigint, rng: RandomSource): bigint[] {
  const coefficients = new Array<bigint>(params.threshold);
  coefficients[0] = secret;
  for (let i = 1; i < params.threshold; i++) coefficients[i] = params.field.random(rng);
  return coefficients;
}

/** Splits one secret (an element; VALUE_OUT_OF_FIELD otherwise) into m shares. */
export function splitSecret(params: ShamirParams, secret: bigint, rng: RandomSource): Share[] {
  params.field.assertElement(secret, ErrorCode.VALUE_OUT_OF_FIELD, 'secret');
  const ys = params.evaluateShares(randomCoefficients(params, secret, rng));
  const out = new Array<Share>(ys.length);
  for (let i = 0; i < ys.length; i++) out[i] = { x: i + 1, y: ys[i]! };
  return out;
}

/** Splits a w-dimensional reading (an independent polynomial per dimension) into m share vectors. */
export function splitVector(
  params: ShamirParams,
  secrets: readonly bigint[],
  rng: RandomSource,
): ShareVector[] {
  const m = params.shareCount;
  const columns: bigint[][] = Array.from({ length: m }, () => new Array<bigint>(secrets.length));
  for (let d = 0; d < secrets.length; d++) {
    const s = params.field.assertElement(secrets[d]!, ErrorCode.VALUE_OUT_OF_FIELD, 'secret');
    const ys = params.evaluateShares(randomCoefficients(params, s, rng));
    for (let l = 0; l < m; l++) columns[l]![d] = ys[l]!;
  }
  return columns.map((ys, l) => ({ x: l + 1, ys }));
}

/** Throws SHARE_INDEX_OUT_OF_RANGE unless x is an integer in 1..m. */
export function assertShareIndex(params: ShamirParams, x: number): void {
  if (!Number.isSafeInteger(x) || x < 1 || x > params.shareCount) {
    throw new PrivaggError(ErrorCode.SHARE_INDEX_OUT_OF_RANGE, 'share index is outside 1..m', {
      x,
      m: params.shareCount,
    });
  }
}

function assertShareValue(params: ShamirParams, y: bigint, x: number): void {
  if (typeof y !== 'bigint' || y < 0n || y >= params.field.p) {
    throw new PrivaggError(ErrorCode.SHARE_OUT_OF_RANGE, 'share value is not in [0, p)', {
      x,
      y: String(y),
    });
  }
}

/** Index range and uniqueness for a set of x-coordinates; then at least k of them. */
export function assertShareIndices(params: ShamirParams, xs: readonly number[]): void {
  const seen = new Set<number>();
  for (const x of xs) {
    assertShareIndex(params, x);
    if (seen.has(x)) {
      throw new PrivaggError(ErrorCode.DUPLICATE_SHARE_INDEX, 'share index given twice', { x });
    }
    seen.add(x);
  }
  if (xs.length < params.threshold) {
    throw new PrivaggError(ErrorCode.NOT_ENOUGH_SHARES, 'fewer than k shares', {
      k: params.threshold,
      given: xs.length,
    });
  }
}

/** Validates a share set: indices in 1..m, distinct, values in [0, p), at least k. */
export function validateShares(params: ShamirParams, shares: readonly Share[]): void {
  for (const s of shares) {
    assertShareIndex(params, s.x);
    assertShareValue(params, s.y, s.x);
  }
  assertShareIndices(
    params,
    shares.map((s) => s.x),
  );
}

/**
 * Lagrange-at-zero coefficients for a fixed set of share indices, built once and reused
 * every round that receives the same set. With exactly k indices `reconstruct` is k
 * products and one `%`; with r > k indices it also verifies the r − k extra shares
 * against the interpolating polynomial (precomputed rows of a parity check) and throws
 * INCONSISTENT_SHARES rather than return a secret a wrong share may have changed.
 */
export class ShamirReconstructor {
  readonly params: ShamirParams;
  readonly xs: readonly number[];
  private readonly atZero: LagrangeAtZero;
  /** checks[j][i]: f(x_{k+j}) = Σ_i checks[j][i]·f(x_i) over the first k indices. */
  private readonly checks: readonly (readonly bigint[])[];

  constructor(params: ShamirParams, xs: readonly number[]) {
    assertShareIndices(params, xs);
    this.params = params;
    this.xs = [...xs];
    const k = params.threshold;
    const base = xs.slice(0, k).map(BigInt);
    this.atZero = new LagrangeAtZero(params.field, base);
    this.checks = xs.slice(k).map((x) => lagrangeCoefficients(params.field, base, BigInt(x)));
  }

  private assertValues(ys: readonly bigint[]): void {
    if (ys.length !== this.xs.length) {
      throw new PrivaggError(ErrorCode.SHARE_MISMATCH, 'expected one value per index', {
        expected: this.xs.length,
        given: ys.length,
      });
    }
    const p = this.params.field.p;
    for (let i = 0; i < ys.length; i++) {
      const y = ys[i]!;
      if (typeof y !== 'bigint' || y < 0n || y >= p) assertShareValue(this.params, y, this.xs[i]!);
    }
  }

  /** True when all the values lie on one polynomial of degree < k (always true for r = k). */
  isConsistent(ys: readonly bigint[]): boolean {
    this.assertValues(ys);
    return this.firstInconsistent(ys) < 0;
  }

  private firstInconsistent(ys: readonly bigint[]): number {
    const k = this.params.threshold;
    const p = this.params.field.p;
    for (let j = 0; j < this.checks.length; j++) {
      const row = this.checks[j]!;
      let acc = 0n;
      for (let i = 0; i < k; i++) acc += row[i]! * ys[i]!;
      if (acc % p !== ys[k + j]) return k + j;
    }
    return -1;
  }

  /** The secret from the values at `xs` (same order). */
  reconstruct(ys: readonly bigint[]): bigint {
    this.assertValues(ys);
    if (this.checks.length > 0 && this.firstInconsistent(ys) >= 0) {
      throw new PrivaggError(
        ErrorCode.INCONSISTENT_SHARES,
        'shares do not lie on one polynomial of degree < k',
        {
          xs: this.xs,
          k: this.params.threshold,
        },
      );
    }
    return this.atZero.combine(ys);
  }

  /** Reconstructs each dimension of share vectors whose x's are `xs`, in that order. */
  reconstructVector(vectors: readonly ShareVector[]): bigint[] {
    const w = assertAlignedVectors(vectors);
    if (vectors.length !== this.xs.length || vectors.some((v, i) => v.x !== this.xs[i])) {
      throw new PrivaggError(
        ErrorCode.SHARE_MISMATCH,
        'share vectors do not match the reconstructor indices',
        {
          expected: this.xs,
          given: vectors.map((v) => v.x),
        },
      );
    }
    const out = new Array<bigint>(w);
    const ys = new Array<bigint>(vectors.length);
    for (let d = 0; d < w; d++) {
      for (let i = 0; i < vectors.length; i++) ys[i] = vectors[i]!.ys[d]!;
      out[d] = this.reconstruct(ys);
    }
    return out;
  }
}

/**
 * The secret from k or more shares. With r > k shares every extra share is checked
 * (INCONSISTENT_SHARES if they are not on one polynomial of degree < k); use
 * `decodeShares` (berlekampWelch.ts) to correct wrong shares instead.
 */
export function reconstructSecret(params: ShamirParams, shares: readonly Share[]): bigint {
  validateShares(params, shares);
  return new ShamirReconstructor(
    params,
    shares.map((s) => s.x),
  ).reconstruct(shares.map((s) => s.y));
}

/** Whether r ≥ k validated shares lie on one polynomial of degree < k. */
export function areSharesConsistent(params: ShamirParams, shares: readonly Share[]): boolean {
  validateShares(params, shares);
  return new ShamirReconstructor(
    params,
    shares.map((s) => s.x),
  ).isConsistent(shares.map((s) => s.y));
}

/** Throws SHARE_MISMATCH unless all vectors have one length; returns it. */
export function assertAlignedVectors(vectors: readonly ShareVector[]): number {
  const w = vectors[0]?.ys.length ?? 0;
  for (const v of vectors) {
    if (v.ys.length !== w) {
      throw new PrivaggError(ErrorCode.SHARE_MISMATCH, 'share vectors differ in length', {
        x: v.x,
        expected: w,
        given: v.ys.length,
      });
    }
  }
  return w;
}

/** Reconstructs each dimension from k or more share vectors (checked as in reconstructSecret). */
export function reconstructVector(params: ShamirParams, vectors: readonly ShareVector[]): bigint[] {
  assertShareIndices(
    params,
    vectors.map((v) => v.x),
  );
  assertAlignedVectors(vectors);
  return new ShamirReconstructor(
    params,
    vectors.map((v) => v.x),
  ).reconstructVector(vectors);
}

/**
 * Sums share vectors that all belong to one index l (one gateway's inputs from many
 * devices): the result is the l-th share vector of the summed readings. A different
 * index or length throws SHARE_MISMATCH; a value ≥ p throws SHARE_OUT_OF_RANGE.
 */
export function sumShareVectors(
  params: ShamirParams,
  vectors: readonly ShareVector[],
): ShareVector {
  if (vectors.length === 0) {
    throw new PrivaggError(ErrorCode.NOT_ENOUGH_SHARES, 'no share vectors to sum');
  }
  const x = vectors[0]!.x;
  assertShareIndex(params, x);
  const w = assertAlignedVectors(vectors);
  const p = params.field.p;
  const acc = new Array<bigint>(w).fill(0n);
  for (const v of vectors) {
    if (v.x !== x) {
      throw new PrivaggError(ErrorCode.SHARE_MISMATCH, 'share vectors of different indices', {
        expected: x,
        given: v.x,
      });
    }
    for (let d = 0; d < w; d++) {
      const y = v.ys[d]!;
      if (typeof y !== 'bigint' || y < 0n || y >= p) assertShareValue(params, y, v.x);
      // A `%` per add: on V8 this beats both deferred reduction and a conditional
      // subtraction (bench/cases/field.ts). For large n, field.sumPacked is ~6× faster.
      acc[d] = (acc[d]! + y) % p;
    }
  }
  return { x, ys: acc };
}

/** a + b for two share vectors of the same index. */
export function addShareVectors(params: ShamirParams, a: ShareVector, b: ShareVector): ShareVector {
  return sumShareVectors(params, [a, b]);
}
