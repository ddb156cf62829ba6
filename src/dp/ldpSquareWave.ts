import { ErrorCode, ensure, PrivaggError } from '../errors.js';
import { type RandomSource, uniformUnit } from '../math/random.js';

/**
 * The (ε, δ)-LDP mechanism of the MaaS scheme (docs/SCHEMES.md §11): a square wave on [0, 1].
 * A reading x ∈ [0, 1] is reported as y ∈ [−b, 1+b] with density r on [x−b, x+b] and t
 * elsewhere (2b·r + t = 1); at δ = 0 this is the Square Wave mechanism. It is (ε, 2bδ)-LDP.
 *
 * E[y | x] = A + B·x, so x̂ = (y − A)/B is unbiased, and sums of y (what the Shamir pipeline
 * aggregates) de-bias to Σx̂ = (Σy − nA)/B. The mechanism is continuous, so floating point
 * is the right arithmetic here (unlike the integer samplers of this folder).
 */
export interface SquareWaveParameters {
  readonly epsilon: number;
  readonly delta: number;
  /** Half-width of the high-density window around x. */
  readonly b: number;
  /** Density inside the window. */
  readonly r: number;
  /** Density outside the window. */
  readonly t: number;
  /** E[y | x] = A + B·x. */
  readonly A: number;
  readonly B: number;
  /** E[y² | x] = C + B·x² (used to estimate Σx² from Σy²). */
  readonly C: number;
  /** The δ the mechanism actually guarantees: 2b·δ (docs/SCHEMES.md §11). */
  readonly guaranteedDelta: number;
}

/**
 * The supremum of the valid δ at this ε (exclusive).
 *
 * docs/SCHEMES.md §11 states validity as b > 0, i.e. δ < e^ε(e^ε − 1 − ε)/ε. That is necessary
 * but not sufficient: b → ∞ as δ approaches that bound, and once 2b·δ ≥ 1 the density t
 * outside the window is ≤ 0 (e.g. ε = 1, δ = 0.9 gives b > 0 but t < 0), so no mechanism
 * exists and the "(ε, 2bδ)" guarantee is void. t > 0 ⇔ 2bδ < 1 ⇔ εδ² − c₁δ + c₀ < 0 with
 * c₁ = e^ε − 1 − εe^ε − ε < 0 and c₀ = e^ε(1 − e^ε + ε) < 0, whose positive root δ* lies
 * below e^ε(e^ε − 1 − ε)/ε = −c₀/ε; so δ < δ* is the whole condition.
 */
export function squareWaveMaxDelta(epsilon: number): number {
  ensure(Number.isFinite(epsilon) && epsilon > 0, 'ε must be a finite number > 0', { epsilon });
  const ee = Math.exp(epsilon);
  const c1 = Math.expm1(epsilon) - epsilon * ee - epsilon;
  const c0 = ee * (epsilon - Math.expm1(epsilon));
  // Positive root (c₁ + √D)/(2ε), written as 2c₀/(c₁ − √D) to avoid cancellation.
  return (2 * c0) / (c1 - Math.sqrt(c1 * c1 - 4 * epsilon * c0));
}

/**
 * b, r, t, A, B of docs/SCHEMES.md §11. Throws INVALID_PRIVACY_PARAMETERS unless b > 0 (the
 * condition of §11, δ < e^ε(e^ε − 1 − ε)/ε) and t > 0 (2bδ < 1; see squareWaveMaxDelta).
 */
export function squareWaveParameters(epsilon: number, delta = 0): SquareWaveParameters {
  ensure(Number.isFinite(epsilon) && epsilon > 0, 'ε must be a finite number > 0', { epsilon });
  ensure(Number.isFinite(delta) && delta >= 0 && delta < 1, 'δ must be a number in [0, 1)', {
    delta,
  });
  const ee = Math.exp(epsilon);
  // b = (e^ε − 1 − ε(e^ε+δ)) / (2(e^ε(1−e^ε) + ε(e^ε+δ))); expm1 keeps small ε accurate.
  const numerator = Math.expm1(epsilon) - epsilon * (ee + delta);
  const denominator = 2 * (epsilon * (ee + delta) - ee * Math.expm1(epsilon));
  const b = numerator / denominator;
  const bBound = (ee * (Math.expm1(epsilon) - epsilon)) / epsilon;
  if (!(b > 0) || !Number.isFinite(b) || !(delta < bBound)) {
    throw new PrivaggError(
      ErrorCode.INVALID_PRIVACY_PARAMETERS,
      `the square-wave mechanism needs δ < e^ε(e^ε − 1 − ε)/ε = ${bBound} at ε = ${epsilon} ` +
        `(else its window half-width b is ≤ 0); got δ = ${delta}`,
      { epsilon, delta, maxDelta: squareWaveMaxDelta(epsilon) },
    );
  }
  const r = (ee + delta) / (1 + 2 * b * ee);
  const t = (1 - 2 * b * delta) / (1 + 2 * b * ee);
  if (!(t > 0)) {
    const maxDelta = squareWaveMaxDelta(epsilon);
    throw new PrivaggError(
      ErrorCode.INVALID_PRIVACY_PARAMETERS,
      `the square-wave mechanism needs 2b·δ < 1 (a positive density outside the window), ` +
        `i.e. δ < ${maxDelta} at ε = ${epsilon}; got δ = ${delta} (b = ${b}, 2bδ = ${2 * b * delta})`,
      { epsilon, delta, maxDelta },
    );
  }
  const A = (t * (1 + 2 * b)) / 2;
  const B = 2 * b * (r - t);
  const C = (t * ((1 + b) ** 3 + b ** 3)) / 3 + ((r - t) * 2 * b * b * b) / 3;
  return { epsilon, delta, b, r, t, A, B, C, guaranteedDelta: 2 * b * delta };
}

function checkReading(x: number): void {
  ensure(Number.isFinite(x) && x >= 0 && x <= 1, 'a square-wave reading must be in [0, 1]', {
    x,
  });
}

/** Perturbs one reading x ∈ [0, 1] into y ∈ [−b, 1+b]. */
export function perturbSquareWave(
  rng: RandomSource,
  params: SquareWaveParameters,
  x: number,
): number {
  checkReading(x);
  const { b, r } = params;
  if (uniformUnit(rng) < 2 * b * r) {
    const y = x - b + 2 * b * uniformUnit(rng);
    return Math.min(x + b, Math.max(x - b, y)); // rounding must not leave the window
  }
  // Uniform on [−b, 1+b] minus the window, a set of length 1: shift z ∈ [0,1) past it.
  // (docs/SCHEMES.md: y = −b + z if z < x, else x + b + (z − x) = z + b.)
  const z = uniformUnit(rng);
  return z < x ? z - b : z + b;
}

/** The unbiased per-report estimate x̂ = (y − A)/B. */
export function estimateReading(params: SquareWaveParameters, y: number): number {
  return (y - params.A) / params.B;
}

/** Var[x̂ | x] = [t((1+b)³ + b³)/3 + (r−t)·2b(x² + b²/3) − (A+Bx)²] / B². */
export function reportVariance(params: SquareWaveParameters, x: number): number {
  checkReading(x);
  const { A, B, C } = params;
  const mean = A + B * x;
  return (C + B * x * x - mean * mean) / (B * B);
}

/** Σx̂ = (Σy − nA)/B: the unbiased estimate of Σx from the aggregate of n reports. */
export function estimateSum(params: SquareWaveParameters, sumY: number, n: number): number {
  checkCount(n);
  return (sumY - n * params.A) / params.B;
}

function checkCount(n: number): void {
  ensure(Number.isSafeInteger(n) && n >= 0, 'the report count n must be an integer ≥ 0', { n });
}

/**
 * Var[Σx̂ | x₁…xₙ] = Σ var(xᵢ), exactly, from n, Σx and Σx² (var is a quadratic in x:
 * (C − A² − 2ABx + B(1−B)x²)/B²).
 */
export function sumVarianceGivenInputs(
  params: SquareWaveParameters,
  n: number,
  sumX: number,
  sumXSquared: number,
): number {
  checkCount(n);
  const { A, B, C } = params;
  return (n * (C - A * A) - 2 * A * B * sumX + B * (1 - B) * sumXSquared) / (B * B);
}

/** Over x ∈ [0, 1] the per-report variance is convex in x, so it is largest at 0 or 1. */
export function maxReportVariance(params: SquareWaveParameters): number {
  return Math.max(reportVariance(params, 0), reportVariance(params, 1));
}

function minReportVariance(params: SquareWaveParameters): number {
  const { A, B } = params;
  // Vertex of the parabola (C − A² − 2ABx + B(1−B)x²), clamped into [0, 1].
  const vertex = B < 1 ? Math.min(1, Math.max(0, A / (1 - B))) : 1;
  return reportVariance(params, vertex);
}

/**
 * A plug-in estimate of Var[Σx̂] from the aggregate alone, for a standard error.
 * - With Σy² (when the pipeline also aggregates squares): unbiased, using E[Σx] = Σx̂ and
 *   E[(Σy² − nC)/B] = Σx²; clamped into [n·min var, n·max var], where the truth lies.
 * - With Σy only: n·var(x̄) at x̄ = clamp(Σx̂/n, 0, 1). This leaves out the spread term
 *   (1−B)/B·Σ(xᵢ − x̄)² ≥ 0, so it underestimates when readings differ; pass Σy² or use
 *   n·maxReportVariance for a bound that always holds.
 */
export function plugInSumVariance(
  params: SquareWaveParameters,
  n: number,
  sumY: number,
  sumYSquared?: number,
): number {
  checkCount(n);
  if (n === 0) return 0;
  const sumXHat = estimateSum(params, sumY, n);
  if (sumYSquared === undefined) {
    const mean = Math.min(1, Math.max(0, sumXHat / n));
    return n * reportVariance(params, mean);
  }
  const sumX2Hat = (sumYSquared - n * params.C) / params.B;
  const v = sumVarianceGivenInputs(params, n, sumXHat, sumX2Hat);
  return Math.min(n * maxReportVariance(params), Math.max(n * minReportVariance(params), v));
}

/**
 * A standard error of Σx̂ from public quantities only: √(n · max_x Var[x̂ | x]), the largest
 * variance any n readings could have. It covers at ≥ the nominal rate whatever the readings
 * (the plug-in at the mean leaves out their spread: the audit's 95 % intervals covered
 * 0.924–0.942), and it depends on n alone, so a released standard error says nothing about
 * the data: one computed from the aggregate (the plug-in, or the largest variance given
 * Σx̂) lets a querier solve for the noise-free sum from an answer's error bars
 * (test/dp/ldpCoverage.test.ts measures both).
 */
export function publicSumStandardError(params: SquareWaveParameters, n: number): number {
  checkCount(n);
  return Math.sqrt(n * maxReportVariance(params));
}

/** √plugInSumVariance: the standard error of the de-biased sum. */
export function sumStandardError(
  params: SquareWaveParameters,
  n: number,
  sumY: number,
  sumYSquared?: number,
): number {
  return Math.sqrt(plugInSumVariance(params, n, sumY, sumYSquared));
}
