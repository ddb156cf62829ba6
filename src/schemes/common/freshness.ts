import { ErrorCode, PrivaggError } from '../../errors.js';

/** STALE_TIMESTAMP unless |now − timestamp| ≤ window (both directions: a clock far ahead is as suspect). */
export function checkFreshness(timestampMs: number, nowMs: number, windowMs: number): void {
  if (Math.abs(nowMs - timestampMs) > windowMs) {
    throw new PrivaggError(
      ErrorCode.STALE_TIMESTAMP,
      `timestamp ${nowMs - timestampMs} ms from now, window ${windowMs} ms`,
      {
        skewMs: nowMs - timestampMs,
      },
    );
  }
}

/**
 * Remembers which (sender, round, index) keys were accepted, so a second copy is a
 * REPLAY. Memory is bounded: keys of rounds older than `keepRounds` behind the newest
 * round seen are dropped; such old rounds are refused by the round check anyway.
 */
export class ReplayCache {
  private readonly byRound = new Map<number, Set<string>>();
  private newest = -1;

  constructor(private readonly keepRounds = 4) {}

  /** Throws REPLAY if seen; otherwise does not record (call `remember` once the message is accepted). */
  check(round: number, key: string): void {
    if (this.byRound.get(round)?.has(key)) {
      throw new PrivaggError(ErrorCode.REPLAY, `already accepted ${key} in round ${round}`, {
        round,
      });
    }
  }

  remember(round: number, key: string): void {
    let set = this.byRound.get(round);
    if (!set) {
      set = new Set();
      this.byRound.set(round, set);
    }
    set.add(key);
    if (round > this.newest) {
      this.newest = round;
      for (const r of this.byRound.keys())
        if (r < this.newest - this.keepRounds) this.byRound.delete(r);
    }
  }

  get size(): number {
    let n = 0;
    for (const s of this.byRound.values()) n += s.size;
    return n;
  }
}
