import {
  estimateSum,
  perturbSquareWave,
  publicSumStandardError,
  type SquareWaveParameters,
  squareWaveParameters,
} from '../../dp/ldpSquareWave.js';
import { ensure } from '../../errors.js';
import { FixedPointCodec } from '../../math/fixedPoint.js';
import type { RandomSource } from '../../math/random.js';
import type { MaasParams } from './params.js';

/**
 * How a device reading becomes field elements, and how an aggregate comes back.
 *
 * LDP on: each dimension is normalised to x = reading / maxReading ∈ [0, 1], perturbed
 * to y ∈ [−b, 1+b] (docs/SCHEMES.md §11), and fixed-point encoded at `scale`. The restored
 * sum Σy is de-biased to Σx̂ = (Σy − nA)/B and scaled back by maxReading, with a
 * plug-in standard error.
 * LDP off: the integer reading is shared as it is, and the restored sum is exact.
 *
 * The constructor proves that a sum over the whole roster cannot wrap modulo p.
 */
export interface DimensionEstimate {
  /** The estimate of Σ readings over the contributors (exact with LDP off). */
  estimate: number;
  /** Standard error of the estimate (0 with LDP off). */
  standardError: number;
  /** The raw restored sum (Σy with LDP on, Σ readings with LDP off). */
  rawSum: number;
}

export class ReadingCodec {
  readonly ldp: SquareWaveParameters | null;
  private readonly fixed: FixedPointCodec;

  constructor(readonly params: MaasParams) {
    this.ldp = params.ldp ? squareWaveParameters(params.ldp.epsilon, params.ldp.delta) : null;
    const bound = this.ldp ? 1 + this.ldp.b : Math.max(...params.maxReading);
    this.fixed = new FixedPointCodec({
      scale: this.ldp ? params.scale : 1,
      bound,
      field: params.field,
    });
    ensure(
      BigInt(params.devicesPerIan) <= this.fixed.maxSummands,
      'a full IAN could wrap the field: lower the scale or use a larger prime',
      {
        devicesPerIan: params.devicesPerIan,
        maxSummands: this.fixed.maxSummands.toString(),
      },
    );
  }

  /**
   * Each dimension's encoded range as signed integers: what input validity proves a
   * report lies in. LDP on: the fixed-point range of the perturbed output [−b, 1 + b]
   * (rounding is monotone, so no encoded output falls outside); LDP off: [0, ⌊maxReading⌋].
   */
  validityRanges(): { min: bigint; max: bigint }[] {
    const ldp = this.ldp;
    return this.params.maxReading.map((max) =>
      ldp
        ? { min: this.fixed.toInteger(-ldp.b), max: this.fixed.toInteger(1 + ldp.b) }
        : { min: 0n, max: BigInt(Math.floor(max)) },
    );
  }

  /** The w field elements a device shares for one reading. */
  encode(reading: readonly number[], rng: RandomSource): bigint[] {
    const { maxReading, dimensions } = this.params;
    ensure(reading.length === dimensions.length, 'reading has the wrong number of dimensions', {
      got: reading.length,
      w: dimensions.length,
    });
    return reading.map((value, j) => {
      const max = maxReading[j]!;
      ensure(
        Number.isFinite(value) && value >= 0 && value <= max,
        'reading outside [0, maxReading]',
        {
          dimension: j,
          value,
        },
      );
      if (!this.ldp) {
        ensure(Number.isInteger(value), 'with LDP off, readings must be integers', {
          dimension: j,
          value,
        });
        return this.fixed.encode(value);
      }
      return this.fixed.encode(perturbSquareWave(rng, this.ldp, value / max));
    });
  }

  /**
   * De-biases restored sums over `n` contributors. `strict` (the default) refuses a
   * restored element that cannot be a sum of n in-range values; the paper's mode reads
   * whatever came out, which is how a corrupted total goes unnoticed there.
   */
  decode(sums: readonly bigint[], n: number, strict = true): DimensionEstimate[] {
    return sums.map((s, j) => {
      const raw = strict
        ? this.fixed.decodeSum(s, n)
        : Number(this.params.field.toSigned(s)) / this.fixed.scale;
      if (!this.ldp) return { estimate: raw, standardError: 0, rawSum: raw };
      const max = this.params.maxReading[j]!;
      return {
        estimate: max * estimateSum(this.ldp, raw, n),
        // From n alone: it covers whatever the readings are, and an answer's error bars
        // (they are released with it) carry nothing of the noise-free sum.
        standardError: max * publicSumStandardError(this.ldp, n),
        rawSum: raw,
      };
    });
  }
}
