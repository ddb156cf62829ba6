import { ensure } from '../errors.js';
import { type RandomSource, uniformBigint } from '../math/random.js';
import {
  compareRational,
  describeRationalLike,
  type RationalLike,
  signRational,
  toRational,
} from './rational.js';
import { uniformBelow } from './uniformBelow.js';

/**
 * Exact Bernoulli coins: Bernoulli(num/den) and Bernoulli(exp(−γ)) for rational γ ≥ 0
 * (Canonne–Kamath–Steinke 2020, "The Discrete Gaussian for Differential Privacy", Alg. 1).
 * Only integer uniforms are used, so the probability of heads is exactly the parameter.
 *
 * The `…Small` variants take safe integers as numbers (the fast path every sampler uses
 * when its parameters fit); the `…Big` variants take bigints. Both are exact.
 */

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MAX_SAFE_BIG = BigInt(MAX_SAFE);

/** @internal Heads with probability num/den; safe integers, 0 ≤ num ≤ den, den ≥ 1. */
export function bernoulliSmall(rng: RandomSource, num: number, den: number): boolean {
  return uniformBelow(rng, den) < num;
}

/** @internal As bernoulliSmall, for bigints. */
export function bernoulliBig(rng: RandomSource, num: bigint, den: bigint): boolean {
  return den <= MAX_SAFE_BIG
    ? uniformBelow(rng, Number(den)) < Number(num)
    : uniformBigint(rng, den) < num;
}

/**
 * @internal Bernoulli(exp(−1)) by CKS Alg. 1 with γ = 1: count K while Bernoulli(1/K)
 * succeeds; heads iff K ends odd. Pr[K reaches k+1] = 1/k!, so Pr[odd] = Σ (−1)^j/j! = e^{−1}.
 */
export function bernoulliExpMinusOne(rng: RandomSource): boolean {
  // K = 1: Bernoulli(1/1) always succeeds, so start at K = 2.
  let k = 2;
  while (uniformBelow(rng, k) === 0) k++;
  return (k & 1) === 1;
}

/** CKS Alg. 1 for γ = num/den ∈ [0, 1]: K-loop with Bernoulli(γ/K) = Bernoulli(num/(den·K)). */
function bernoulliExpFractionSmall(rng: RandomSource, num: number, den: number): boolean {
  if (num === 0) return true;
  let k = 1;
  for (;;) {
    const d = den * k;
    const heads =
      d <= MAX_SAFE
        ? uniformBelow(rng, d) < num
        : bernoulliBig(rng, BigInt(num), BigInt(den) * BigInt(k));
    if (!heads) return (k & 1) === 1;
    k++;
  }
}

function bernoulliExpFractionBig(rng: RandomSource, num: bigint, den: bigint): boolean {
  if (num === 0n) return true;
  let k = 1n;
  for (;;) {
    if (!bernoulliBig(rng, num, den * k)) return (k & 1n) === 1n;
    k++;
  }
}

/**
 * @internal Bernoulli(exp(−num/den)) for safe integers num ≥ 0, den ≥ 1 (γ may exceed 1):
 * exp(−γ) = exp(−1)^⌊γ⌋ · exp(−(γ − ⌊γ⌋)), one independent coin per factor, stopping at
 * the first tails (CKS Alg. 1, the γ > 1 case).
 */
export function bernoulliExpSmall(rng: RandomSource, num: number, den: number): boolean {
  const rem = num % den; // exact for safe integers
  for (let whole = (num - rem) / den; whole > 0; whole--) {
    if (!bernoulliExpMinusOne(rng)) return false;
  }
  return bernoulliExpFractionSmall(rng, rem, den);
}

/** @internal As bernoulliExpSmall, for bigints. */
export function bernoulliExpBig(rng: RandomSource, num: bigint, den: bigint): boolean {
  if (num <= MAX_SAFE_BIG && den <= MAX_SAFE_BIG)
    return bernoulliExpSmall(rng, Number(num), Number(den));
  for (let whole = num / den; whole > 0n; whole--) {
    if (!bernoulliExpMinusOne(rng)) return false;
  }
  return bernoulliExpFractionBig(rng, num % den, den);
}

/** Heads with probability exactly p, a rational in [0, 1]. */
export function sampleBernoulli(rng: RandomSource, p: RationalLike): boolean {
  const q = toRational(p, 'p');
  ensure(
    signRational(q) >= 0 && compareRational(q, { num: 1n, den: 1n }) <= 0,
    'Bernoulli needs 0 ≤ p ≤ 1',
    {
      p: describeRationalLike(p),
    },
  );
  return bernoulliBig(rng, q.num, q.den);
}

/** Heads with probability exactly exp(−γ), γ a rational ≥ 0 (CKS Alg. 1). */
export function sampleBernoulliExp(rng: RandomSource, gamma: RationalLike): boolean {
  const g = toRational(gamma, 'gamma');
  ensure(signRational(g) >= 0, 'Bernoulli(exp(−γ)) needs γ ≥ 0', {
    gamma: describeRationalLike(gamma),
  });
  return bernoulliExpBig(rng, g.num, g.den);
}
