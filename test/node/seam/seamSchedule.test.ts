import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  closeAt,
  firstRoundAt,
  isPastEnd,
  recoverAt,
  reportAt,
  roundStart,
  runEndsAt,
  SEAM_MAX_PHASES,
  SEAM_TIMING,
  type SeamSchedule,
} from '../../../src/node/seam/seamSchedule.js';

/**
 * The wall-clock schedule every process of a networked scheme run follows: known answers
 * for one schedule, then the order every process relies on (reports before the first
 * close, children's closes before their parent's, every close before the center recovers,
 * every recovery phase the default budget allows inside its own round) for any epoch,
 * round length and round.
 */
const S: SeamSchedule = { epochMs: 1_000_000, roundMs: 2000, rounds: 3 };

/** Offsets of `s`'s instants from the start of `round`. */
const offset = (s: SeamSchedule, round: number, at: number) => at - roundStart(s, round);

describe('seam schedule: known answers (epoch 1 000 000, rounds of 2000 ms)', () => {
  it('rounds start every roundMs from the epoch; reports are due 0.1 R in', () => {
    expect(roundStart(S, 0)).toBe(1_000_000);
    expect(roundStart(S, 1)).toBe(1_002_000);
    expect(roundStart(S, 7)).toBe(1_014_000);
    expect(reportAt(S, 0)).toBe(1_000_200);
    expect(reportAt(S, 1)).toBe(1_002_200);
    expect(reportAt(S, 7)).toBe(1_014_200);
  });

  it('aggregators close in order, each in its own slot inside [0.35 R, 0.6 R)', () => {
    expect(closeAt(S, 0, 0, 1)).toBe(1_000_700);
    expect([0, 1].map((p) => closeAt(S, 0, p, 2))).toEqual([1_000_700, 1_000_950]);
    // tree-test with 2 leaves: leaf 1, leaf 2, then the root.
    expect([0, 1, 2].map((p) => closeAt(S, 1, p, 3))).toEqual([1_002_700, 1_002_866, 1_003_033]);
    for (const count of [1, 2, 3, 4, 7, 16, 65]) {
      const closes = Array.from({ length: count }, (_, p) => closeAt(S, 2, p, count));
      for (let p = 1; p < count; p++) expect(closes[p]).toBeGreaterThan(closes[p - 1]!);
      for (const c of closes) {
        expect(offset(S, 2, c)).toBeGreaterThanOrEqual(0.35 * S.roundMs);
        expect(offset(S, 2, c)).toBeLessThan(0.6 * S.roundMs);
      }
    }
  });

  it('the center recovers at 0.7 R, each pending phase 0.05 R later, after every close', () => {
    expect(recoverAt(S, 0)).toBe(1_001_400);
    expect(recoverAt(S, 0, 0)).toBe(1_001_400);
    expect(recoverAt(S, 0, 1)).toBe(1_001_500);
    expect(recoverAt(S, 0, 3)).toBe(1_001_700);
    expect(recoverAt(S, 2, 1)).toBe(1_005_500);
    for (const count of [1, 3, 65]) {
      expect(closeAt(S, 0, count - 1, count)).toBeLessThan(recoverAt(S, 0, 0));
    }
    // The phase budget (phases 0 … SEAM_MAX_PHASES) stays inside the round.
    expect(SEAM_MAX_PHASES).toBe(4);
    expect(recoverAt(S, 0, SEAM_MAX_PHASES)).toBeLessThan(roundStart(S, 1));
  });

  // Offsets are computed in integer thousandths: 0.7 + 2·0.05 must not land a millisecond early.
  it('every phase is exactly 0.05 R after the previous one, every close slot exactly 0.05 R apart at 5', () => {
    expect([0, 1, 2, 3, 4].map((k) => offset(S, 0, recoverAt(S, 0, k)))).toEqual([
      1400, 1500, 1600, 1700, 1800,
    ]);
    expect([0, 1, 2, 3, 4].map((p) => offset(S, 0, closeAt(S, 0, p, 5)))).toEqual([
      700, 800, 900, 1000, 1100,
    ]);
  });

  it("runEndsAt: one phase slot after the last round's last phase, before a next round would start", () => {
    expect(runEndsAt(S)).toBe(1_005_900); // round 2 (the last of 3) + 0.95 R
    expect(runEndsAt({ ...S, rounds: 1 })).toBe(1_001_900);
    expect(runEndsAt(S)).toBeGreaterThan(recoverAt(S, 2, SEAM_MAX_PHASES));
    expect(runEndsAt(S)).toBeLessThan(roundStart(S, 3));
  });

  it('firstRoundAt: round 0 up to the epoch itself, else the next round still to start', () => {
    expect(firstRoundAt(S, 0)).toBe(0);
    expect(firstRoundAt(S, 999_999)).toBe(0);
    expect(firstRoundAt(S, 1_000_000)).toBe(0);
    expect(firstRoundAt(S, 1_000_001)).toBe(1);
    expect(firstRoundAt(S, 1_001_999)).toBe(1);
    expect(firstRoundAt(S, 1_002_000)).toBe(1);
    expect(firstRoundAt(S, 1_002_001)).toBe(2);
  });

  it('isPastEnd: rounds 0 runs until stopped; otherwise round ≥ rounds is past the end', () => {
    const forever = { ...S, rounds: 0 };
    for (const r of [0, 1, 3, 1000, 2 ** 31]) expect(isPastEnd(forever, r)).toBe(false);
    expect([0, 1, 2, 3, 4].map((r) => isPastEnd(S, r))).toEqual([false, false, false, true, true]);
  });
});

describe('seam schedule: properties', () => {
  const epochMs = fc.integer({ min: 0, max: 2 ** 42 });
  const round = fc.integer({ min: 0, max: 1_000_000 });
  /** Aggregators per group: plain-sum and joye-libert 1, tree-test up to 65, MaaS up to m. */
  const count = fc.integer({ min: 1, max: 65 });

  it('with room for every slot (R ≥ 5·count, R ≥ 25): open ≤ report < close(0) < … < close(last) < recover(0) < … < recover(SEAM_MAX_PHASES) < run end < next round', () => {
    fc.assert(
      fc.property(
        epochMs,
        fc.integer({ min: 25, max: 3_600_000 }),
        round,
        count,
        (epoch, roundMs, r, n) => {
          fc.pre(roundMs >= 5 * n);
          const s: SeamSchedule = { epochMs: epoch, roundMs, rounds: 0 };
          const times = [
            reportAt(s, r),
            ...Array.from({ length: n }, (_, p) => closeAt(s, r, p, n)),
            ...Array.from({ length: SEAM_MAX_PHASES + 1 }, (_, k) => recoverAt(s, r, k)),
            // Every role stays until then when `r` is the last round.
            runEndsAt({ ...s, rounds: r + 1 }),
          ];
          expect(roundStart(s, r)).toBeLessThanOrEqual(times[0]!);
          for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1]!);
          expect(times.at(-1)).toBeLessThan(roundStart(s, r + 1));
          // Every close inside [0.35 R, 0.6 R) of its round, within the floor's millisecond.
          for (let p = 0; p < n; p++) {
            const o = offset(s, r, closeAt(s, r, p, n));
            expect(o).toBeGreaterThan((SEAM_TIMING.closeFrom * roundMs) / 1000 - 1);
            expect(o).toBeLessThan((SEAM_TIMING.closeTo * roundMs) / 1000);
          }
          // Integer instants: a timer waits for whole milliseconds.
          for (const t of times) expect(Number.isSafeInteger(t)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('for any round length ≥ 1 ms the order never inverts and phases 0…5 stay inside the round (phase 6 is the next round)', () => {
    fc.assert(
      fc.property(
        epochMs,
        fc.integer({ min: 1, max: 3_600_000 }),
        round,
        count,
        (epoch, roundMs, r, n) => {
          const s: SeamSchedule = { epochMs: epoch, roundMs, rounds: 0 };
          const times = [
            roundStart(s, r),
            reportAt(s, r),
            ...Array.from({ length: n }, (_, p) => closeAt(s, r, p, n)),
            ...Array.from({ length: 6 }, (_, k) => recoverAt(s, r, k)),
          ];
          for (let i = 1; i < times.length; i++)
            expect(times[i]).toBeGreaterThanOrEqual(times[i - 1]!);
          expect(recoverAt(s, r, 5)).toBeLessThan(roundStart(s, r + 1));
          expect(recoverAt(s, r, 6)).toBeGreaterThanOrEqual(roundStart(s, r + 1));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('firstRoundAt is the first round that starts at or after now (round 0 before the epoch)', () => {
    fc.assert(
      fc.property(
        epochMs,
        fc.integer({ min: 1, max: 3_600_000 }),
        fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
        (epoch, roundMs, delta) => {
          const s: SeamSchedule = { epochMs: epoch, roundMs, rounds: 0 };
          const now = epoch + delta;
          const first = firstRoundAt(s, now);
          expect(Number.isSafeInteger(first)).toBe(true);
          expect(first).toBeGreaterThanOrEqual(0);
          expect(roundStart(s, first)).toBeGreaterThanOrEqual(now);
          if (first > 0) expect(roundStart(s, first - 1)).toBeLessThan(now);
          else expect(now).toBeLessThanOrEqual(epoch);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('isPastEnd is exactly round ≥ rounds for a bounded run, never for rounds 0', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), round, (rounds, r) => {
        const s: SeamSchedule = { epochMs: 0, roundMs: 1000, rounds };
        expect(isPastEnd(s, r)).toBe(rounds > 0 && r >= rounds);
      }),
    );
  });
});
