import { ErrorCode, PrivaggError } from '../errors.js';
import { type RandomSource, uniformUnit } from '../math/random.js';
import {
  checkRef,
  checkShape,
  type ReadingRef,
  sumOverReports,
  type Workload,
  type WorkloadShape,
} from './workload.js';

/**
 * A seeded stand-in for AI4I at any size: reading (v, i, r) in dimension j is
 * Binomial(maxReading[j], p), i.e. the number of failures among maxReading[j] trials —
 * the same shape as an AI4I reading, which counts flags among R rows.
 *
 * The rate drifts linearly over rounds, from startRate[j] in round 0 to endRate[j] in
 * the last, so a trend query has a trend to find; each IAN scales it by its own factor
 * drawn uniformly from [1 − ianSpread, 1 + ianSpread] (clamped to [0, 1]), so IANs
 * differ and querying a subset of them gives a different answer than querying all.
 *
 * All draws happen in the constructor, in a fixed order (IAN factors, then readings by
 * round, IAN, device, dimension), so a seeded RandomSource gives the same workload on
 * every run. Cost: Σ_j maxReading[j] uniform draws per reading.
 */

export interface SyntheticWorkloadConfig extends WorkloadShape {
  /** w, the number of dimensions. */
  readonly dimensions: number;
  /** Upper bound per reading, one for all dimensions or one each; integer ≥ 1. Default 5. */
  readonly maxReading?: number | readonly number[];
  /** Per-trial failure probability in round 0. Default 0.01·(j+1) for dimension j. */
  readonly startRate?: number | readonly number[];
  /** Per-trial failure probability in the last round. Default 2 × startRate. */
  readonly endRate?: number | readonly number[];
  /** Half-width of the per-IAN rate factor, in [0, 1]. Default 0.5. */
  readonly ianSpread?: number;
  /** Defaults to d1 … dw. */
  readonly dimensionNames?: readonly string[];
  readonly rng: RandomSource;
}

export class SyntheticWorkload implements Workload {
  readonly name = 'synthetic';
  readonly ians: number;
  readonly devicesPerIan: number;
  readonly rounds: number;
  readonly dimensionNames: readonly string[];
  readonly maxReading: readonly number[];
  private readonly startRate: readonly number[];
  private readonly endRate: readonly number[];
  /** factor[v·w + j]: IAN v's multiplier for dimension j. */
  private readonly factor: Float64Array;
  /** values[((v·n + i)·rounds + r)·w + j]. */
  private readonly values: Int32Array;

  constructor(config: SyntheticWorkloadConfig) {
    checkShape(config);
    const w = config.dimensions;
    if (!Number.isSafeInteger(w) || w < 1) invalid('dimensions must be a positive integer', { w });
    this.ians = config.ians;
    this.devicesPerIan = config.devicesPerIan;
    this.rounds = config.rounds;
    this.maxReading = perDimension('maxReading', config.maxReading ?? 5, w);
    for (const max of this.maxReading) {
      if (!Number.isSafeInteger(max) || max < 1 || max > 2 ** 31 - 1) {
        invalid('maxReading must be a positive 32-bit integer', { maxReading: max });
      }
    }
    this.startRate = perDimension(
      'startRate',
      config.startRate ?? Array.from({ length: w }, (_, j) => 0.01 * (j + 1)),
      w,
    );
    this.endRate = perDimension('endRate', config.endRate ?? this.startRate.map((p) => 2 * p), w);
    for (const p of [...this.startRate, ...this.endRate]) checkProbability('rate', p);
    const spread = config.ianSpread ?? 0.5;
    checkProbability('ianSpread', spread);
    this.dimensionNames = config.dimensionNames ?? Array.from({ length: w }, (_, j) => `d${j + 1}`);
    if (this.dimensionNames.length !== w) {
      invalid('dimensionNames must have one name per dimension', { w });
    }

    const rng = config.rng;
    this.factor = new Float64Array(this.ians * w);
    for (let v = 0; v < this.factor.length; v++) {
      this.factor[v] = 1 - spread + 2 * spread * uniformUnit(rng);
    }
    this.values = new Int32Array(this.ians * this.devicesPerIan * this.rounds * w);
    for (let r = 0; r < this.rounds; r++) {
      for (let v = 0; v < this.ians; v++) {
        const p = this.rate(v, r);
        for (let i = 0; i < this.devicesPerIan; i++) {
          const base = this.offset(v, i, r);
          for (let j = 0; j < w; j++)
            this.values[base + j] = binomial(rng, this.maxReading[j]!, p[j]!);
        }
      }
    }
  }

  /** Per-trial failure probability of each dimension for IAN `ian` in round `round`. */
  rate(ian: number, round: number): number[] {
    checkRef(this, ian, 0, round);
    const w = this.maxReading.length;
    const progress = this.rounds === 1 ? 0 : round / (this.rounds - 1);
    return this.startRate.map((start, j) => {
      const p = (start + (this.endRate[j]! - start) * progress) * this.factor[ian * w + j]!;
      return Math.min(1, Math.max(0, p));
    });
  }

  /** E[groundTruth(ian, round)]: n · maxReading · rate — the trend the data follows. */
  expectedGroundTruth(ian: number, round: number): number[] {
    return this.rate(ian, round).map((p, j) => this.devicesPerIan * this.maxReading[j]! * p);
  }

  reading(ian: number, device: number, round: number): number[] {
    checkRef(this, ian, device, round);
    const base = this.offset(ian, device, round);
    return Array.from(this.values.subarray(base, base + this.maxReading.length));
  }

  groundTruth(ian: number, round: number): number[] {
    checkRef(this, ian, 0, round);
    const w = this.maxReading.length;
    const total = new Array<number>(w).fill(0);
    for (let i = 0; i < this.devicesPerIan; i++) {
      const base = this.offset(ian, i, round);
      for (let j = 0; j < w; j++) total[j]! += this.values[base + j]!;
    }
    return total;
  }

  groundTruthOver(reports: Iterable<ReadingRef>): number[] {
    const w = this.maxReading.length;
    return sumOverReports(this, w, reports, (ref) => {
      const base = this.offset(ref.ian, ref.device, ref.round);
      return this.values.subarray(base, base + w);
    });
  }

  private offset(ian: number, device: number, round: number): number {
    return ((ian * this.devicesPerIan + device) * this.rounds + round) * this.maxReading.length;
  }
}

/** Number of successes in `trials` Bernoulli(p) draws; O(trials), exact. */
function binomial(rng: RandomSource, trials: number, p: number): number {
  if (p <= 0) return 0;
  if (p >= 1) return trials;
  let successes = 0;
  for (let t = 0; t < trials; t++) if (uniformUnit(rng) < p) successes++;
  return successes;
}

function perDimension(name: string, value: number | readonly number[], w: number): number[] {
  if (typeof value === 'number') return new Array<number>(w).fill(value);
  if (value.length !== w) invalid(`${name} must have one entry per dimension`, { name, w });
  return [...value];
}

function checkProbability(name: string, p: number): void {
  if (!(p >= 0 && p <= 1)) invalid(`${name} must be in [0, 1]`, { [name]: p });
}

function invalid(message: string, details: Record<string, unknown>): never {
  throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, message, details);
}
