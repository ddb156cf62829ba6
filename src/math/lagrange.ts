import { ErrorCode, ensure, PrivaggError } from '../errors.js';
import type { PrimeField } from './field.js';

/**
 * Lagrange interpolation over a prime field. The x-coordinates must be distinct
 * elements; a repeated x throws DUPLICATE_SHARE_INDEX (the only way a caller gets
 * one is by passing the same share twice).
 */

function assertDistinct(field: PrimeField, xs: readonly bigint[]): void {
  const seen = new Set<bigint>();
  for (const x of xs) {
    field.assertElement(x);
    if (seen.has(x)) {
      throw new PrivaggError(ErrorCode.DUPLICATE_SHARE_INDEX, 'x-coordinates must be distinct', {
        x: x.toString(),
      });
    }
    seen.add(x);
  }
}

/**
 * λ_i(at) = Π_{j≠i} (at − x_j)/(x_i − x_j), so that f(at) = Σ λ_i·f(x_i) for every
 * f of degree < xs.length. One batched inversion (Montgomery's trick) instead of one
 * per coefficient.
 */
export function lagrangeCoefficients(
  field: PrimeField,
  xs: readonly bigint[],
  at: bigint,
): bigint[] {
  ensure(xs.length >= 1, 'need at least one x-coordinate');
  assertDistinct(field, xs);
  const k = xs.length;
  const nums: bigint[] = [];
  const dens: bigint[] = [];
  for (let i = 0; i < k; i++) {
    let num = 1n;
    let den = 1n;
    for (let j = 0; j < k; j++) {
      if (j === i) continue;
      num = field.mul(num, field.sub(at, xs[j]!));
      den = field.mul(den, field.sub(xs[i]!, xs[j]!));
    }
    nums.push(num);
    dens.push(den);
  }
  const invDens = batchInverse(field, dens);
  return nums.map((n, i) => field.mul(n, invDens[i]!));
}

/** Inverts every element with one field inversion; any zero throws NOT_INVERTIBLE. */
export function batchInverse(field: PrimeField, xs: readonly bigint[]): bigint[] {
  const prefix: bigint[] = [];
  let acc = 1n;
  for (const x of xs) {
    prefix.push(acc);
    acc = field.mul(acc, x);
  }
  let inv = field.inv(acc);
  const out = new Array<bigint>(xs.length);
  for (let i = xs.length - 1; i >= 0; i--) {
    out[i] = field.mul(inv, prefix[i]!);
    inv = field.mul(inv, xs[i]!);
  }
  return out;
}

/** f(at) for the unique f of degree < xs.length through (xs[i], ys[i]). */
export function interpolateAt(
  field: PrimeField,
  xs: readonly bigint[],
  ys: readonly bigint[],
  at: bigint,
): bigint {
  ensure(xs.length === ys.length, 'xs and ys differ in length', { xs: xs.length, ys: ys.length });
  const lambda = lagrangeCoefficients(field, xs, at);
  let acc = 0n;
  for (let i = 0; i < lambda.length; i++) acc += lambda[i]! * field.assertElement(ys[i]!);
  return acc % field.p;
}

/**
 * Lagrange-at-zero coefficients for a fixed set of x-coordinates, computed once and
 * reused: reconstructing a secret is then k multiplications and one reduction.
 * `combine` does no validation (callers such as ShamirReconstructor validate with
 * their own error codes); it is correct for any ys in [0, p).
 */
export class LagrangeAtZero {
  readonly xs: readonly bigint[];
  readonly coefficients: readonly bigint[];
  private readonly p: bigint;

  constructor(field: PrimeField, xs: readonly bigint[]) {
    this.xs = [...xs];
    this.coefficients = lagrangeCoefficients(field, xs, 0n);
    this.p = field.p;
  }

  /** Σ λ_i·ys[i] mod p with one reduction: k products of < 2^122 add without overflow. */
  combine(ys: readonly bigint[]): bigint {
    const c = this.coefficients;
    const k = c.length;
    if (k === 3) return (c[0]! * ys[0]! + c[1]! * ys[1]! + c[2]! * ys[2]!) % this.p;
    let acc = 0n;
    for (let i = 0; i < k; i++) acc += c[i]! * ys[i]!;
    return acc % this.p;
  }
}
