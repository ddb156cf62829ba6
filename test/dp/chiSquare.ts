/**
 * Chi-square goodness of fit for the samplers' statistical tests.
 *
 * Every test uses the same rule: bins are merged (from the pmf alone, before looking at the
 * data) until each expects ≥ 5 draws, so the χ² approximation holds; the p-value is the exact
 * upper tail of the χ² law (regularised incomplete gamma). A correct sampler passes when
 * p > 1e−6 — with a fixed seed the outcome is deterministic, and had the seed been random a
 * correct sampler would fail one run in a million. The "wrong sampler" tests show the same
 * test has the power to reject a 10% scale error at the sample sizes used (p < 1e−6).
 */
export const SIGNIFICANCE = 1e-6;

/** ln Γ(x), x > 0 (Lanczos, g = 7, n = 9; ~15 digits). */
export function lnGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The regularised upper incomplete gamma Q(a, x) (series / continued fraction). */
export function upperGammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const front = Math.exp(-x + a * Math.log(x) - lnGamma(a));
  if (x < a + 1) {
    let ap = a;
    let del = 1 / a;
    let sum = del;
    for (let n = 0; n < 10_000; n++) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * 1e-16) break;
    }
    return 1 - sum * front;
  }
  // Modified Lentz for the continued fraction of Q.
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return front * h;
}

export function chiSquarePValue(statistic: number, df: number): number {
  return upperGammaQ(df / 2, statistic / 2);
}

export interface ChiSquareResult {
  statistic: number;
  df: number;
  pValue: number;
  bins: number;
}

/** Draw counts of an integer-valued sampler. */
export function countDraws(n: number, draw: () => number): Map<number, number> {
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const k = draw();
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

/**
 * χ² of `counts` against `pmf` on the integers lo..hi (pmf must be normalised there; draws
 * outside go to the end bins, whose mass outside lo..hi the caller keeps negligible).
 */
export function chiSquareTest(
  counts: Map<number, number>,
  pmf: (k: number) => number,
  lo: number,
  hi: number,
): ChiSquareResult {
  let total = 0;
  for (const c of counts.values()) total += c;
  const observedAt = (k: number) => counts.get(k) ?? 0;
  let below = 0;
  let above = 0;
  for (const [k, c] of counts) {
    if (k < lo) below += c;
    if (k > hi) above += c;
  }
  const bins: { expected: number; observed: number }[] = [];
  let exp = 0;
  let obs = below;
  for (let k = lo; k <= hi; k++) {
    exp += total * pmf(k);
    obs += observedAt(k);
    if (exp >= 5) {
      bins.push({ expected: exp, observed: obs });
      exp = 0;
      obs = 0;
    }
  }
  obs += above;
  const last = bins[bins.length - 1];
  if (last) {
    last.expected += exp;
    last.observed += obs;
  } else {
    bins.push({ expected: exp, observed: obs });
  }
  let statistic = 0;
  for (const b of bins) statistic += (b.observed - b.expected) ** 2 / b.expected;
  const df = bins.length - 1;
  return { statistic, df, pValue: chiSquarePValue(statistic, df), bins: bins.length };
}

/** Pr[k] of the two-sided geometric with ρ = e^{−γ}: (1−ρ)/(1+ρ)·ρ^{|k|}. */
export function twoSidedGeometricPmf(gamma: number): (k: number) => number {
  const rho = Math.exp(-gamma);
  return (k) => ((1 - rho) / (1 + rho)) * rho ** Math.abs(k);
}

/** Pr[k] ∝ exp(−k²/(2σ²)), normalised by summing over |k| ≤ 40σ + 10 (the rest is < e^{−800}). */
export function discreteGaussianPmf(sigma2: number): (k: number) => number {
  const kMax = Math.ceil(40 * Math.sqrt(sigma2)) + 10;
  let z = 1;
  for (let k = 1; k <= kMax; k++) z += 2 * Math.exp((-k * k) / (2 * sigma2));
  return (k) => Math.exp((-k * k) / (2 * sigma2)) / z;
}

/** NB(r, ρ) pmf by the ratio Pr[y+1]/Pr[y] = ρ(y+r)/(y+1) from Pr[0] = (1−ρ)^r. */
export function negativeBinomialPmf(r: number, rho: number, yMax: number): (k: number) => number {
  const p: number[] = [(1 - rho) ** r];
  for (let y = 0; y < yMax; y++) p.push((p[y]! * rho * (y + r)) / (y + 1));
  return (k) => (k >= 0 && k <= yMax ? p[k]! : 0);
}
