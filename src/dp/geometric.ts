import { ErrorCode, ensure, PrivaggError } from '../errors.js';
import { type RandomSource, uniformBigint } from '../math/random.js';
import { bernoulliExpBig, bernoulliExpMinusOne, bernoulliExpSmall } from './bernoulli.js';
import { describeRationalLike, type RationalLike, signRational, toRational } from './rational.js';
import { uniformBelow } from './uniformBelow.js';

/**
 * The geometric distribution Pr[Y = y] = (1 − e^{−γ}) e^{−γy}, y ≥ 0, for rational γ = s/t,
 * sampled exactly by the inner part of CKS 2020 Alg. 2:
 *   U uniform in {0, …, t−1}, kept with probability exp(−U/t)  (Alg. 1 coin; else retry),
 *   V = number of heads of Bernoulli(exp(−1)) before the first tails,
 *   X = U + tV has Pr[X = x] ∝ e^{−x/t} (the decomposition x = U + tV is unique),
 *   Y = ⌊X/s⌋ has Pr[Y = y] ∝ e^{−ys/t} = e^{−γy}.
 * Expected cost: U is kept with probability ≈ 1 − e^{−1} at worst, V takes 1/(1 − e^{−1}) coins.
 */

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MAX_SAFE_BIG = BigInt(MAX_SAFE);

function countExpMinusOneHeads(rng: RandomSource): number {
  let v = 0;
  while (bernoulliExpMinusOne(rng)) v++;
  return v;
}

function toSafeNoise(y: bigint): number {
  if (y > MAX_SAFE_BIG) {
    // Reachable only for a scale t/s near 2^50, which no DP deployment uses.
    throw new PrivaggError(
      ErrorCode.INVALID_ARGUMENT,
      'geometric draw exceeds 2^53; scale too large',
    );
  }
  return Number(y);
}

/** @internal Geometric with γ = s/t for safe integers s, t ≥ 1. */
export function geometricSmall(rng: RandomSource, s: number, t: number): number {
  for (;;) {
    const u = t === 1 ? 0 : uniformBelow(rng, t);
    if (u !== 0 && !bernoulliExpSmall(rng, u, t)) continue;
    const v = countExpMinusOneHeads(rng);
    const x = u + t * v;
    if (x <= MAX_SAFE) return (x - (x % s)) / s; // ⌊x/s⌋ without floating-point rounding
    return toSafeNoise((BigInt(u) + BigInt(t) * BigInt(v)) / BigInt(s));
  }
}

/** @internal Geometric with γ = s/t for bigints s, t ≥ 1 (any size). */
export function geometricBig(rng: RandomSource, s: bigint, t: bigint): number {
  if (s <= MAX_SAFE_BIG && t <= MAX_SAFE_BIG) return geometricSmall(rng, Number(s), Number(t));
  for (;;) {
    const u = uniformBigint(rng, t);
    if (u !== 0n && !bernoulliExpBig(rng, u, t)) continue;
    const v = BigInt(countExpMinusOneHeads(rng));
    return toSafeNoise((u + t * v) / s);
  }
}

/** Pr[Y = y] = (1 − e^{−γ}) e^{−γy} for y = 0, 1, 2, …; γ a rational > 0. */
export function sampleGeometric(rng: RandomSource, gamma: RationalLike): number {
  const g = toRational(gamma, 'gamma');
  ensure(signRational(g) > 0, 'the geometric distribution needs γ > 0', {
    gamma: describeRationalLike(gamma),
  });
  return geometricBig(rng, g.num, g.den);
}
