/**
 * Ordinary least squares of y on x: the line y = intercept + slope·x that minimises the
 * squared vertical distances, and the standard error of its slope (how far the slope
 * could be off given the scatter around the line: a GC sawtooth makes RSS noisy, so a
 * slope is only meaningful next to its error).
 */
export interface Fit {
  slope: number;
  intercept: number;
  /** Standard error of the slope; NaN with fewer than 3 points. */
  slopeError: number;
  n: number;
}

export function leastSquares(xs: readonly number[], ys: readonly number[]): Fit {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return { slope: Number.NaN, intercept: Number.NaN, slopeError: Number.NaN, n };
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i]!;
    my += ys[i]!;
  }
  mx /= n;
  my /= n;
  // Centred sums: no catastrophic cancellation when x is a large timestamp.
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
  }
  if (sxx === 0) return { slope: Number.NaN, intercept: Number.NaN, slopeError: Number.NaN, n };
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (ys[i]! - intercept - slope * xs[i]!) ** 2;
  const slopeError = n > 2 ? Math.sqrt(sse / (n - 2) / sxx) : Number.NaN;
  return { slope, intercept, slopeError, n };
}
