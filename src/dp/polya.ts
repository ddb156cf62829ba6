import { ensure } from '../errors.js';
import type { RandomSource } from '../math/random.js';
import { bernoulliBig, bernoulliExpBig, bernoulliExpSmall, bernoulliSmall } from './bernoulli.js';
import { geometricBig, geometricSmall } from './geometric.js';
import {
  compareRational,
  describeRationalLike,
  divRational,
  mulRational,
  type Rational,
  type RationalLike,
  rational,
  signRational,
  subRational,
  toRational,
} from './rational.js';

/**
 * Pólya(r, ρ) = negative binomial NB(r, ρ): Pr[Y = y] = c_y·(1−ρ)^r·ρ^y, y ≥ 0, with
 * c_y = r(r+1)…(r+y−1)/y!, here for rational r > 0 and ρ = e^{−γ}, γ rational > 0.
 * NB is infinitely divisible: NB(r₁, ρ) + NB(r₂, ρ) = NB(r₁ + r₂, ρ) and NB(1, ρ) is the
 * geometric, so n devices each adding Pólya(1/n, ρ) − Pólya(1/n, ρ) give in total exactly
 * a two-sided geometric with α = 1/ρ (docs/SCHEMES.md §0, distributed noise).
 *
 * EXACT sampler (integer uniforms and exact coins only; no Gamma or Poisson in floating point):
 * - ⌊r⌋ of the shape: a sum of ⌊r⌋ geometrics (CKS Alg. 2 inner part).
 * - a fractional shape r ∈ (0, 1):
 *   1. Y = 0 with probability (1−ρ)^r, by the Bernoulli factory for p^λ, 0 < λ < 1:
 *      for i = 1, 2, …: if Bernoulli(p) return heads; if Bernoulli(λ/i) return tails.
 *      Pr[heads] = p·Σ_m (1−p)^m Π_{j≤m}(1 − λ/j) = p·p^{λ−1} = p^λ (binomial series).
 *      Here p = 1 − ρ is the complement of the exact Bernoulli(e^{−γ}) coin (CKS Alg. 1).
 *   2. Otherwise Y | Y ≥ 1 by rejection: propose y = 1 + Geometric(γ), whose law is
 *      (1−ρ)ρ^{y−1} ∝ ρ^y; the target is ∝ c_y·ρ^y, and c_y/c_1 = Π_{j=1}^{y−1} (r+j)/(j+1) ≤ 1
 *      (c_y decreases for r < 1), so accept with that probability: one exact rational coin
 *      per factor, stopping at the first tails.
 *   Costs: step 1 takes about 1/(1−ρ) rounds; step 2 runs with probability 1 − (1−ρ)^r ≈ r·ln(1/(1−ρ))
 *   and accepts with probability (1−ρ)·((1−ρ)^{−r} − 1)/(rρ) (≈ 0.79 at γ = 1). Small γ (ρ → 1)
 *   makes both slower (γ = 0.01: ~100 rounds), never inexact.
 */

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MAX_SAFE_BIG = BigInt(MAX_SAFE);

/** Bernoulli(a/(b·i)): the λ/i coin of the p^λ factory; bigint once b·i leaves the safe range. */
function factoryCoin(rng: RandomSource, a: number, b: number, i: number): boolean {
  const den = b * i; // a float product is ≥ 2^53 whenever the exact one is, so the test is sound
  return den <= MAX_SAFE
    ? bernoulliSmall(rng, a, den)
    : bernoulliBig(rng, BigInt(a), BigInt(b) * BigInt(i));
}

/** Bernoulli((r + j)/(j + 1)) = Bernoulli((a + j·b)/(b·(j + 1))), exactly at any size. */
function ratioCoin(rng: RandomSource, a: number, b: number, j: number): boolean {
  const den = b * (j + 1);
  if (den <= MAX_SAFE) return bernoulliSmall(rng, a + j * b, den);
  const bb = BigInt(b);
  const jj = BigInt(j);
  return bernoulliBig(rng, BigInt(a) + jj * bb, bb * (jj + 1n));
}

/** NB(a/b, e^{−s/t}) for 0 < a < b and safe integers. */
function fractionalPolyaSmall(
  rng: RandomSource,
  a: number,
  b: number,
  s: number,
  t: number,
): number {
  for (let i = 1; ; i++) {
    if (!bernoulliExpSmall(rng, s, t)) return 0; // Bernoulli(1 − ρ) heads: (1−ρ)^r factory says 0
    if (factoryCoin(rng, a, b, i)) break;
  }
  for (;;) {
    const y = 1 + geometricSmall(rng, s, t);
    let j = 1;
    while (j < y && ratioCoin(rng, a, b, j)) j++;
    if (j === y) return y;
  }
}

function fractionalPolyaBig(rng: RandomSource, a: bigint, b: bigint, s: bigint, t: bigint): number {
  for (let i = 1n; ; i++) {
    if (!bernoulliExpBig(rng, s, t)) return 0;
    if (bernoulliBig(rng, a, b * i)) break;
  }
  for (;;) {
    const y = BigInt(1 + geometricBig(rng, s, t));
    let j = 1n;
    while (j < y && bernoulliBig(rng, a + j * b, b * (j + 1n))) j++;
    if (j === y) return Number(y);
  }
}

function polya(rng: RandomSource, r: Rational, g: Rational): number {
  const whole = r.num / r.den;
  const a = r.num % r.den;
  let y = 0;
  for (let k = 0n; k < whole; k++) y += geometricBig(rng, g.num, g.den);
  if (a === 0n) return y;
  const safe = r.den <= MAX_SAFE_BIG && g.num <= MAX_SAFE_BIG && g.den <= MAX_SAFE_BIG;
  return (
    y +
    (safe
      ? fractionalPolyaSmall(rng, Number(a), Number(r.den), Number(g.num), Number(g.den))
      : fractionalPolyaBig(rng, a, r.den, g.num, g.den))
  );
}

function positive(x: RationalLike, name: string): Rational {
  const r = toRational(x, name);
  ensure(signRational(r) > 0, `${name} must be > 0`, { [name]: describeRationalLike(x) });
  return r;
}

/** Pólya(r, e^{−γ}) = NB(r, e^{−γ}), exactly; shape r and γ rationals > 0. Cost grows with ⌊r⌋. */
export function samplePolya(rng: RandomSource, shape: RationalLike, gamma: RationalLike): number {
  return polya(rng, positive(shape, 'shape'), positive(gamma, 'gamma'));
}

/**
 * The shape 1/((1−f)·n) of each device's Pólya share: any (1−f)·n of the n shares still sum
 * to at least the noise of one two-sided geometric (shape ≥ 1); with no failures, the total
 * is NB(1/(1−f)) per side, i.e. more noise than needed. f = 0 gives exactly 1/n.
 */
export function polyaShareShape(devices: number, failureFraction: RationalLike = 0): Rational {
  ensure(Number.isSafeInteger(devices) && devices >= 1, 'devices must be an integer ≥ 1', {
    devices,
  });
  const f = toRational(failureFraction, 'failureFraction');
  ensure(
    signRational(f) >= 0 && compareRational(f, rational(1)) < 0,
    'failureFraction must be in [0, 1)',
    {
      failureFraction: describeRationalLike(failureFraction),
    },
  );
  return divRational(rational(1), mulRational(subRational(rational(1), f), rational(devices)));
}

export interface PolyaShareParameters {
  /** The ε of the aggregate's two-sided geometric, α = e^{ε/Δ}. */
  readonly epsilon: RationalLike;
  readonly sensitivity: RationalLike;
  /** n, the number of devices whose shares are summed. */
  readonly devices: number;
  /** f: the fraction of devices that may fail to report (default 0). */
  readonly failureFraction?: RationalLike;
}

/**
 * One device's noise share, Pólya(r, 1/α) − Pólya(r, 1/α) with α = e^{ε/Δ} and
 * r = polyaShareShape(n, f). The shares of (1−f)·n devices sum exactly to Geom(α) (when
 * (1−f)·n is an integer; to more noise otherwise).
 */
export function samplePolyaShare(rng: RandomSource, params: PolyaShareParameters): number {
  const gamma = divRational(
    positive(params.epsilon, 'epsilon'),
    positive(params.sensitivity, 'sensitivity'),
  );
  const shape = polyaShareShape(params.devices, params.failureFraction ?? 0);
  return polya(rng, shape, gamma) - polya(rng, shape, gamma);
}
