import { ErrorCode, ensure, PrivaggError } from '../errors.js';
import { defaultField, type PrimeField } from './field.js';

/**
 * Fixed-point encoding of real numbers as field elements. A value v ∈ [−bound, bound]
 * becomes the integer q = round(v · scale) (nearest, ties away from zero), stored as q
 * for q ≥ 0 and p − |q| for q < 0. Field addition then adds the integers, and the sum
 * decodes correctly as long as it never wraps modulo p: `assertNoWrap` proves that
 * for n summands.
 *
 * Single values are encoded through float64, so the integer range B = ⌈bound·scale⌉
 * must stay ≤ 2^53 − 1 (exact integers); sums may be far larger (decodeSumInteger
 * returns them exactly as bigints).
 */

/** ⌈x · scale⌉ computed exactly for a finite double x ≥ 0 and an integer scale. */
export function ceilScaled(x: number, scale: number): bigint {
  ensure(Number.isFinite(x) && x >= 0, 'bound must be finite and ≥ 0', { x });
  // x = mantissa · 2^exp exactly; decompose via the integer and fractional parts.
  let mant = x;
  let exp = 0;
  while (!Number.isInteger(mant)) {
    mant *= 2;
    exp++;
  }
  const num = BigInt(mant) * BigInt(scale);
  const den = 1n << BigInt(exp);
  return (num + den - 1n) / den;
}

/**
 * Proves that a sum of n values, each in [−bound, bound] at `scale`, cannot wrap mod p:
 * n · ⌈bound · scale⌉ ≤ (p − 1)/2, so the signed lift of the sum is the true sum.
 * Otherwise throws SUM_MAY_WRAP with the numbers in details.
 */
export function assertNoWrap(n: number | bigint, bound: number, scale: number, p: bigint): void {
  ensure(
    typeof n === 'bigint' ? n >= 0n : Number.isSafeInteger(n) && n >= 0,
    'n must be an integer ≥ 0',
    {
      n: String(n),
    },
  );
  ensure(Number.isSafeInteger(scale) && scale >= 1, 'scale must be an integer ≥ 1', { scale });
  const unit = ceilScaled(bound, scale);
  const total = BigInt(n) * unit;
  const limit = (p - 1n) / 2n;
  if (total > limit) {
    throw new PrivaggError(ErrorCode.SUM_MAY_WRAP, 'a sum of n values in range may wrap modulo p', {
      n: String(n),
      bound,
      scale,
      maxAbsSum: total.toString(),
      limit: limit.toString(),
      maxSummands: (limit / (unit === 0n ? 1n : unit)).toString(),
    });
  }
}

export interface FixedPointOptions {
  /** Values per unit: 2^16, 10^6, … (a positive safe integer). */
  readonly scale: number;
  /** Largest |value| accepted by encode. */
  readonly bound: number;
  readonly field?: PrimeField;
}

export class FixedPointCodec {
  readonly field: PrimeField;
  readonly scale: number;
  readonly bound: number;
  /** B = ⌈bound · scale⌉: the largest |integer| a single encoded value can have. */
  readonly maxInteger: bigint;
  /** The largest n for which n values can be summed without wrap-around. */
  readonly maxSummands: bigint;

  constructor(options: FixedPointOptions) {
    const { scale, bound } = options;
    ensure(Number.isSafeInteger(scale) && scale >= 1, 'scale must be an integer ≥ 1', { scale });
    ensure(Number.isFinite(bound) && bound > 0, 'bound must be finite and > 0', { bound });
    this.field = options.field ?? defaultField;
    this.scale = scale;
    this.bound = bound;
    this.maxInteger = ceilScaled(bound, scale);
    ensure(this.maxInteger <= BigInt(Number.MAX_SAFE_INTEGER), 'bound · scale must be < 2^53', {
      bound,
      scale,
    });
    assertNoWrap(1, bound, scale, this.field.p);
    this.maxSummands = this.field.halfP / this.maxInteger;
  }

  /** round(v · scale) as a signed integer, or FIXED_POINT_OUT_OF_RANGE. */
  toInteger(v: number): bigint {
    if (!Number.isFinite(v) || Math.abs(v) > this.bound) {
      throw new PrivaggError(ErrorCode.FIXED_POINT_OUT_OF_RANGE, 'value outside [−bound, bound]', {
        value: v,
        bound: this.bound,
      });
    }
    const scaled = v * this.scale;
    // Ties away from zero, so encode(−v) = −encode(v).
    const q = BigInt(Math.sign(scaled) * Math.round(Math.abs(scaled)));
    // Monotone rounding keeps |q| ≤ B; checked anyway since the no-wrap proof rests on it.
    if (q > this.maxInteger || -q > this.maxInteger) {
      throw new PrivaggError(
        ErrorCode.FIXED_POINT_OUT_OF_RANGE,
        'scaled value exceeds ⌈bound·scale⌉',
        {
          value: v,
        },
      );
    }
    return q;
  }

  encode(v: number): bigint {
    const q = this.toInteger(v);
    return q < 0n ? this.field.p + q : q;
  }

  encodeVector(vs: readonly number[]): bigint[] {
    return vs.map((v) => this.encode(v));
  }

  /**
   * The signed integer sum of n encoded values from their field sum. Proves no wrap for
   * n first (SUM_MAY_WRAP), then rejects a lift outside [−n·B, n·B] with
   * FIXED_POINT_OUT_OF_RANGE: such an element cannot be a sum of n in-range values, so
   * something upstream is wrong and no number is returned.
   */
  decodeSumInteger(x: bigint, n: number | bigint = 1): bigint {
    assertNoWrap(n, this.bound, this.scale, this.field.p);
    this.field.assertElement(x);
    const q = this.field.toSigned(x);
    const limit = BigInt(n) * this.maxInteger;
    if (q > limit || -q > limit) {
      throw new PrivaggError(ErrorCode.FIXED_POINT_OUT_OF_RANGE, 'decoded sum outside n·[−B, B]', {
        n: String(n),
        sum: q.toString(),
        limit: limit.toString(),
      });
    }
    return q;
  }

  /** decodeSumInteger / scale as a number (exact while |sum| < 2^53). */
  decodeSum(x: bigint, n: number | bigint = 1): number {
    return Number(this.decodeSumInteger(x, n)) / this.scale;
  }

  decode(x: bigint): number {
    return this.decodeSum(x, 1);
  }
}
