import { ensure } from '../errors.js';
import type { RandomSource } from '../math/random.js';
import { geometricBig, geometricSmall } from './geometric.js';
import {
  describeRationalLike,
  divRational,
  type Rational,
  type RationalLike,
  rationalToNumber,
  signRational,
  toRational,
} from './rational.js';
import { fairBit } from './uniformBelow.js';

/**
 * The discrete Laplace (two-sided geometric) distribution, Pr[k] ∝ e^{−γ|k|} on ℤ, sampled
 * exactly by CKS 2020 Alg. 2: a geometric magnitude Y, a fair sign, and the draw "−0"
 * rejected so that 0 is not counted twice.
 *
 * With α = e^{ε/Δ} (docs/SCHEMES.md §0) this is Geom(α): Pr[k] = (α−1)/(α+1) · α^{−|k|}, the
 * ε-DP noise for an integer query of sensitivity Δ; γ = ε/Δ, scale = Δ/ε.
 */

/** @internal γ = s/t for safe integers. */
export function discreteLaplaceSmall(rng: RandomSource, s: number, t: number): number {
  for (;;) {
    const y = geometricSmall(rng, s, t);
    const negative = fairBit(rng);
    if (negative && y === 0) continue;
    return negative ? -y : y;
  }
}

function discreteLaplaceRate(rng: RandomSource, gamma: Rational): number {
  for (;;) {
    const y = geometricBig(rng, gamma.num, gamma.den);
    const negative = fairBit(rng);
    if (negative && y === 0) continue;
    return negative ? -y : y;
  }
}

function positive(x: RationalLike, name: string): Rational {
  const r = toRational(x, name);
  ensure(signRational(r) > 0, `${name} must be > 0`, { [name]: describeRationalLike(x) });
  return r;
}

/** Pr[k] ∝ exp(−|k|/scale), k ∈ ℤ; scale a rational > 0. */
export function sampleDiscreteLaplace(rng: RandomSource, scale: RationalLike): number {
  const b = positive(scale, 'scale');
  return discreteLaplaceRate(rng, { num: b.den, den: b.num });
}

/**
 * ε-DP noise for an integer-valued query of sensitivity Δ: Geom(α), α = e^{ε/Δ}, i.e. the
 * discrete Laplace with scale Δ/ε. ε and Δ are rationals > 0.
 */
export function sampleTwoSidedGeometric(
  rng: RandomSource,
  epsilon: RationalLike,
  sensitivity: RationalLike,
): number {
  const e = positive(epsilon, 'epsilon');
  const d = positive(sensitivity, 'sensitivity');
  return discreteLaplaceRate(rng, divRational(e, d));
}

/** Var = 2α/(α−1)² with α = e^{ε/Δ}, written as 2e^{−γ}/(1−e^{−γ})² to stay finite. */
export function twoSidedGeometricVariance(
  epsilon: RationalLike,
  sensitivity: RationalLike,
): number {
  const gamma = rationalToNumber(
    divRational(positive(epsilon, 'epsilon'), positive(sensitivity, 'sensitivity')),
  );
  const m = Math.expm1(-gamma);
  return (2 * Math.exp(-gamma)) / (m * m);
}

/** Variance of the discrete Laplace with the given scale (the same law, γ = 1/scale). */
export function discreteLaplaceVariance(scale: RationalLike): number {
  return twoSidedGeometricVariance(1, positive(scale, 'scale'));
}
