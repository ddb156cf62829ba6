/**
 * When each role of a networked scheme run acts, from one epoch and round length every
 * process shares. The simulator's driver (sim/schemeRunner.ts) steps through the same order
 * with a clock it controls; here each process reads the wall clock:
 *
 *   0        aggregators open the round
 *   0.10 R   devices report
 *   0.35 R … 0.60 R   aggregators close in the topology's order (children first), each in
 *            its own slot so a parent closes after its children's partials have arrived
 *   0.70 R   the center recovers each group; each pending phase (a reconcile request, a
 *            failure announcement) gets 0.05 R for its answers before the center tries again
 */
export interface SeamSchedule {
  /** Start of round 0, ms since the Unix epoch. */
  readonly epochMs: number;
  readonly roundMs: number;
  /** Rounds to run; 0: until stopped. */
  readonly rounds: number;
}

/** Fractions of a round, in thousandths (integers: no float sum lands a millisecond early). */
export const SEAM_TIMING = {
  report: 100,
  closeFrom: 350,
  closeTo: 600,
  recover: 700,
  phase: 50,
} as const;

/** The shortest round the schedule keeps in order for `aggregators` closing one after another. */
export function minRoundMs(aggregators: number): number {
  return Math.max(40, 8 * aggregators);
}

export function roundStart(s: SeamSchedule, round: number): number {
  return s.epochMs + round * s.roundMs;
}

const at = (s: SeamSchedule, round: number, thousandths: number) =>
  roundStart(s, round) + Math.floor((thousandths * s.roundMs) / 1000);

export function reportAt(s: SeamSchedule, round: number): number {
  return at(s, round, SEAM_TIMING.report);
}

/** The close of the aggregator at `position` of `count` in its group's closing order. */
export function closeAt(s: SeamSchedule, round: number, position: number, count: number): number {
  const span = SEAM_TIMING.closeTo - SEAM_TIMING.closeFrom;
  return (
    roundStart(s, round) +
    Math.floor(((SEAM_TIMING.closeFrom * count + span * position) * s.roundMs) / (1000 * count))
  );
}

/** Phase 0 is the first recovery; phase k ≥ 1 the retry after the k-th pending phase. */
export function recoverAt(s: SeamSchedule, round: number, phase = 0): number {
  return at(s, round, SEAM_TIMING.recover + phase * SEAM_TIMING.phase);
}

/**
 * The first round a process that starts at `nowMs` can take part in whole: a round that has
 * already started is left to the others (an aggregator that opens late misses reports, and
 * a device's report may meet aggregators that already closed).
 */
export function firstRoundAt(s: SeamSchedule, nowMs: number): number {
  if (nowMs <= s.epochMs) return 0;
  return Math.ceil((nowMs - s.epochMs) / s.roundMs);
}

/** True when `round` is past the run's last round. */
export function isPastEnd(s: SeamSchedule, round: number): boolean {
  return s.rounds > 0 && round >= s.rounds;
}

/** Pending phases per group-round before the center counts it failed. */
export const SEAM_MAX_PHASES = 4;

/**
 * When every role of a run with a known number of rounds may leave: after the last
 * round's last possible phase, so devices and aggregators still answer it.
 */
export function runEndsAt(s: SeamSchedule): number {
  return recoverAt(s, Math.max(0, s.rounds - 1), SEAM_MAX_PHASES + 1);
}
