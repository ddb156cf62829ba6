import { ensure } from '../errors.js';
import type { RandomSource } from '../math/random.js';
import { bernoulliExpBig, bernoulliExpSmall } from './bernoulli.js';
import { discreteLaplaceSmall } from './discreteLaplace.js';
import { geometricBig } from './geometric.js';
import {
  describeRationalLike,
  type RationalLike,
  rationalToNumber,
  signRational,
  toRational,
} from './rational.js';
import { fairBit } from './uniformBelow.js';

/**
 * The discrete Gaussian N_ℤ(0, σ²): Pr[k] ∝ exp(−k²/(2σ²)), k ∈ ℤ, for rational σ² = p/q,
 * sampled exactly by CKS 2020 Alg. 3: propose Y from the discrete Laplace with scale
 * t = ⌊σ⌋ + 1 (Alg. 2), accept with probability exp(−(|Y| − σ²/t)² / (2σ²)) (Alg. 1).
 *
 * The acceptance exponent is kept as an exact rational:
 *   (|Y| − p/(qt))² / (2p/q) = (|Y|·q·t − p)² / (2·p·q·t²).
 * The proposal is accepted with probability bounded below by a constant for every σ
 * (CKS §5.3), so a draw costs a few discrete-Laplace proposals.
 */

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MAX_SAFE_BIG = BigInt(MAX_SAFE);
const SQRT_MAX_SAFE = 94906265; // ⌊√(2^53 − 1)⌋: a² stays an exact integer below this

/** ⌊√m⌋ for a bigint m ≥ 0 (Newton's method from above). */
function isqrt(m: bigint): bigint {
  if (m < 2n) return m;
  if (m <= 1n << 52n) {
    let r = BigInt(Math.floor(Math.sqrt(Number(m))));
    while (r * r > m) r--;
    while ((r + 1n) * (r + 1n) <= m) r++;
    return r;
  }
  let x = 1n << BigInt((m.toString(2).length >> 1) + 1);
  for (;;) {
    const y = (x + m / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

function discreteLaplaceBigScale(rng: RandomSource, t: bigint): number {
  for (;;) {
    const y = geometricBig(rng, 1n, t);
    const negative = fairBit(rng);
    if (negative && y === 0) continue;
    return negative ? -y : y;
  }
}

/** Pr[k] ∝ exp(−k²/(2σ²)), k ∈ ℤ; σ² a rational > 0. */
export function sampleDiscreteGaussian(rng: RandomSource, sigma2: RationalLike): number {
  const v = toRational(sigma2, 'sigma2');
  ensure(signRational(v) > 0, 'the discrete Gaussian needs σ² > 0', {
    sigma2: describeRationalLike(sigma2),
  });
  const { num: p, den: q } = v;
  const t = isqrt(p / q) + 1n; // ⌊σ⌋ + 1, since ⌊√(p/q)⌋ = ⌊√⌊p/q⌋⌋
  const den = 2n * p * q * t * t;
  if (den <= MAX_SAFE_BIG) {
    // Everything but (|Y|qt − p)² is a small integer: the fast path for every practical σ².
    const pn = Number(p);
    const qt = Number(q * t);
    const tn = Number(t);
    const dn = Number(den);
    for (;;) {
      const y = discreteLaplaceSmall(rng, 1, tn);
      const a = Math.abs(y) * qt - pn;
      const accept =
        Math.abs(a) <= SQRT_MAX_SAFE
          ? bernoulliExpSmall(rng, a * a, dn)
          : bernoulliExpBig(rng, (BigInt(Math.abs(y)) * BigInt(qt) - p) ** 2n, den);
      if (accept) return y;
    }
  }
  for (;;) {
    const y = discreteLaplaceBigScale(rng, t);
    const a = BigInt(Math.abs(y)) * q * t - p;
    if (bernoulliExpBig(rng, a * a, den)) return y;
  }
}

/**
 * The variance of N_ℤ(0, σ²), which is slightly below σ² for small σ (CKS Prop. 19);
 * summed numerically, and σ² itself once the gap is below double precision.
 */
export function discreteGaussianVariance(sigma2: RationalLike): number {
  const s2 = rationalToNumber(toRational(sigma2, 'sigma2'));
  ensure(s2 > 0, 'the discrete Gaussian needs σ² > 0', { sigma2: describeRationalLike(sigma2) });
  // σ² − Var ≤ σ²·O(e^{−2π²σ²}) (Poisson summation): invisible in a double for σ² ≥ 4.
  if (s2 >= 4) return s2;
  const kMax = Math.ceil(40 * Math.sqrt(s2)) + 1;
  let z = 1;
  let m2 = 0;
  for (let k = 1; k <= kMax; k++) {
    const w = Math.exp((-k * k) / (2 * s2));
    z += 2 * w;
    m2 += 2 * k * k * w;
  }
  return m2 / z;
}
