import { type Fit, leastSquares } from './slope.js';

/**
 * When a process's memory counts as flat over a soak.
 *
 * The slope is the least-squares slope of RSS over the samples after the warm-up, in MiB
 * per minute. A process is flat when both hold:
 *
 * 1. |slope| ≤ 1 MiB/min. The failure this soak exists to catch (issue 9, finding 9) was a
 *    ledger growing ~12 MiB/min (≈ 26 KiB per IAN-round at 1,000 devices and 500 ms
 *    rounds); 1 MiB/min is an order of magnitude below it, so that bug fails even in a
 *    10-minute run. It is not much above the noise of a short run: in 10-minute runs
 *    (1,000 devices, 500 ms rounds) gateways, fleet and broker showed slopes between −1
 *    and +1 MiB/min (standard errors 0.03–0.7; heaps still settling, the second halves'
 *    slopes smaller), so a 10-minute verdict is coarse and the hour is the real check.
 * 2. the fitted growth over the measured window, |slope| × window, is ≤ 10 % of the
 *    process's fitted RSS at the window's start. This is the bound that matters for a
 *    long run: over a full hour it allows ~0.2 MiB/min to a 120 MiB process, i.e. well
 *    under a KiB per IAN-round — a process that grew a tenth of its size in an hour
 *    would not run for weeks. Over a short run it is looser than (1), so (1) decides.
 *
 * Neither bound can prove the absence of a slow leak below them; the JSON keeps every
 * sample so a longer run can be judged more strictly.
 */
export const FLAT_BOUND = { maxSlopeMiBPerMin: 1, maxGrowthShare: 0.1 };

/**
 * No verdict with fewer points after the warm-up than this, or over a shorter window: in
 * its first minutes a process's heaps are still growing to their working size, and a
 * slope over a minute or two measures that, not a leak (a 1-minute check run shows every
 * role "growing" by a few MiB/min).
 */
const MIN_POINTS = 5;
const MIN_WINDOW_MIN = 2;

export type Verdict = 'flat' | 'growing' | 'shrinking' | 'too short';

export interface RoleMemory {
  role: string;
  /** First sample after the warm-up, MiB. */
  startMiB: number;
  /** Last sample, MiB. */
  endMiB: number;
  /** Highest sample, MiB, and the process's own peak (VmHWM) at its last sample. */
  maxMiB: number;
  peakMiB: number;
  /** Slope after the warm-up (MiB/min) with its standard error; and over the last half only. */
  slopeMiBPerMin: number;
  slopeErrorMiBPerMin: number;
  lastHalfSlopeMiBPerMin: number;
  /** Fitted growth over the measured window, MiB and as a share of the fitted start. */
  growthMiB: number;
  growthShare: number;
  points: number;
  verdict: Verdict;
}

/**
 * Judges one role from its samples: t in minutes since round 0, RSS in MiB, and the
 * VmHWM seen last. Samples before `warmUpMin` are left out of every figure but the max.
 */
export function judge(
  role: string,
  ts: readonly number[],
  rss: readonly number[],
  lastHwm: number,
  warmUpMin: number,
): RoleMemory {
  const xs: number[] = [];
  const ys: number[] = [];
  ts.forEach((t, i) => {
    if (t >= warmUpMin) {
      xs.push(t);
      ys.push(rss[i]!);
    }
  });
  const fit: Fit = leastSquares(xs, ys);
  const half = xs.length >> 1;
  const lastHalf = leastSquares(xs.slice(half), ys.slice(half));
  const window = xs.length > 1 ? xs.at(-1)! - xs[0]! : 0;
  const fittedStart = fit.intercept + fit.slope * (xs[0] ?? 0);
  const growthMiB = fit.slope * window;
  const growthShare = fittedStart > 0 ? growthMiB / fittedStart : Number.NaN;
  let verdict: Verdict = 'flat';
  if (xs.length < MIN_POINTS || window < MIN_WINDOW_MIN || !Number.isFinite(fit.slope))
    verdict = 'too short';
  else if (
    Math.abs(fit.slope) > FLAT_BOUND.maxSlopeMiBPerMin ||
    Math.abs(growthShare) > FLAT_BOUND.maxGrowthShare
  )
    verdict = fit.slope > 0 ? 'growing' : 'shrinking';
  return {
    role,
    startMiB: ys[0] ?? Number.NaN,
    endMiB: rss.at(-1) ?? Number.NaN,
    maxMiB: rss.length > 0 ? Math.max(...rss) : Number.NaN,
    peakMiB: lastHwm,
    slopeMiBPerMin: fit.slope,
    slopeErrorMiBPerMin: fit.slopeError,
    lastHalfSlopeMiBPerMin: lastHalf.slope,
    growthMiB,
    growthShare,
    points: xs.length,
    verdict,
  };
}
