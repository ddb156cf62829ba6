import { ReplayCache } from '../common/freshness.js';
import type {
  FailedOutcome,
  RestoredOutcome,
  RestoreOutcome,
  StoredPartial,
} from './ledgerRecords.js';

/** (IAN, round) as one number: IAN < 2^16 and round < 2^32, so the key is exact (< 2^48). */
const keyOf = (ian: number, round: number) => round * 65_536 + ian;

/** The re-aggregation the ledger last asked for in an IAN-round. */
export interface ReaggregationRequest {
  attempt: number;
  /** The target contributor set, sorted and joined with ','. */
  contributors: string;
  gateways: number[];
}

/** Sizes of the per-round state (entries, not bytes). */
export interface RetainedSizes {
  ianRounds: number;
  partials: number;
  requested: number;
  restored: number;
  failed: number;
  replayKeys: number;
}

/**
 * The ledger contract's per-(IAN, round) state: stored partials and their replay keys,
 * re-aggregation requests, refused devices, final outcomes — and its retention (a
 * long-running ledger keeps per-round state only while it is needed). Pure and
 * deterministic like the contract: a replay of the same calls reaches the same state.
 */
export class LedgerRoundState {
  /** Rebuilt by `pruneBefore` (the cache has no per-round removal of its own). */
  private replay = new ReplayCache(Number.MAX_SAFE_INTEGER);
  /** (ian, round) → attempt → gateway → partial */
  private readonly partials = new Map<number, Map<number, Map<number, StoredPartial>>>();
  /** (ian, round) → the set asked for in a re-aggregation, by attempt. */
  private readonly requested = new Map<number, ReaggregationRequest>();
  private readonly failed = new Map<number, FailedOutcome>();
  private newestFinalRound = -1;
  private readonly listeners: ((outcome: RestoredOutcome) => void)[] = [];
  private readonly restored = new Map<number, RestoredOutcome>();
  /** (ian, round) → device → why its validity proof was refused. */
  private readonly refusedDevices = new Map<number, Map<number, string>>();

  // ─── Partials ───

  /** Throws REPLAY if that gateway's partial of that attempt is already stored. */
  checkReplay(ian: number, round: number, gateway: number, attempt: number): void {
    this.replay.check(round, `${ian}/${gateway}/${attempt}`);
  }

  /** Stores an accepted partial and remembers its replay key. */
  addPartial(ian: number, round: number, partial: StoredPartial): void {
    const k = keyOf(ian, round);
    let byAttempt = this.partials.get(k);
    if (!byAttempt) {
      byAttempt = new Map();
      this.partials.set(k, byAttempt);
    }
    let byGateway = byAttempt.get(partial.attempt);
    if (!byGateway) {
      byGateway = new Map();
      byAttempt.set(partial.attempt, byGateway);
    }
    byGateway.set(partial.gateway, partial);
    this.replay.remember(round, `${ian}/${partial.gateway}/${partial.attempt}`);
  }

  partialsOf(ian: number, round: number): StoredPartial[] {
    const byAttempt = this.partials.get(keyOf(ian, round));
    if (!byAttempt) return [];
    return [...byAttempt.values()].flatMap((m) => [...m.values()]);
  }

  /** The partials of the latest attempt, by gateway, or undefined when none arrived. */
  latestAttempt(
    ian: number,
    round: number,
  ): { attempt: number; partials: StoredPartial[] } | undefined {
    const byAttempt = this.partials.get(keyOf(ian, round));
    if (!byAttempt || byAttempt.size === 0) return undefined;
    const attempt = Math.max(...byAttempt.keys());
    const partials = [...byAttempt.get(attempt)!.values()].sort((a, b) => a.gateway - b.gateway);
    return { attempt, partials };
  }

  /** The attempt-0 partials (those that carry verifier shares), by gateway. */
  firstPartials(ian: number, round: number): ReadonlyMap<number, StoredPartial> | undefined {
    return this.partials.get(keyOf(ian, round))?.get(0);
  }

  // ─── Re-aggregation requests and refused devices ───

  requestOf(ian: number, round: number): ReaggregationRequest | undefined {
    return this.requested.get(keyOf(ian, round));
  }

  setRequest(ian: number, round: number, request: ReaggregationRequest): void {
    this.requested.set(keyOf(ian, round), request);
  }

  /** Devices of the IAN-round whose validity proofs were refused, with the reasons. */
  refusedOf(ian: number, round: number): ReadonlyMap<number, string> | undefined {
    return this.refusedDevices.get(keyOf(ian, round));
  }

  refuse(ian: number, round: number, device: number, reason: string): void {
    const k = keyOf(ian, round);
    let refused = this.refusedDevices.get(k);
    if (!refused) {
      refused = new Map();
      this.refusedDevices.set(k, refused);
    }
    refused.set(device, reason);
  }

  // ─── Final outcomes ───

  /** The final outcome (restored or failed) of an IAN-round still held in memory. */
  finalOutcomeOf(ian: number, round: number): RestoreOutcome | undefined {
    const k = keyOf(ian, round);
    return this.restored.get(k) ?? this.failed.get(k);
  }

  restoredOf(ian: number, round: number): RestoredOutcome | undefined {
    return this.restored.get(keyOf(ian, round));
  }

  /** A failed restore is final for that IAN-round (the query reports it as missing). */
  fail(ian: number, round: number, reason: string): RestoreOutcome {
    const outcome = { status: 'failed' as const, ian, round, reason };
    this.failed.set(keyOf(ian, round), outcome);
    this.noteFinal(round);
    return outcome;
  }

  store(outcome: RestoredOutcome): RestoreOutcome {
    this.restored.set(keyOf(outcome.ian, outcome.round), outcome);
    this.noteFinal(outcome.round);
    for (const listener of this.listeners) listener(outcome);
    return outcome;
  }

  private noteFinal(round: number): void {
    if (round > this.newestFinalRound) this.newestFinalRound = round;
  }

  /** The newest round any IAN has finished restoring (restored or failed); −1 before any. */
  get latestFinalRound(): number {
    return this.newestFinalRound;
  }

  /** Called with every newly restored IAN-round. */
  onRestored(listener: (outcome: RestoredOutcome) => void): void {
    this.listeners.push(listener);
  }

  // ─── Retention ───

  /**
   * Forgets every per-round fact of rounds < `round`: stored partials, re-aggregation
   * requests, refused devices, restored and failed outcomes, replay keys.
   * `latestFinalRound` is kept. Deterministic: a replay that prunes at the same
   * transactions reaches the same state.
   */
  pruneBefore(round: number): void {
    const old = (k: number) => Math.floor(k / 65_536) < round;
    for (const map of [
      this.partials,
      this.requested,
      this.restored,
      this.failed,
      this.refusedDevices,
    ]) {
      for (const k of map.keys()) if (old(k)) map.delete(k);
    }
    // The replay cache holds exactly one key per stored partial: rebuild it from those kept.
    this.replay = new ReplayCache(Number.MAX_SAFE_INTEGER);
    for (const [k, byAttempt] of this.partials) {
      const rd = Math.floor(k / 65_536);
      const ian = k - rd * 65_536;
      for (const [attempt, byGateway] of byAttempt)
        for (const gateway of byGateway.keys())
          this.replay.remember(rd, `${ian}/${gateway}/${attempt}`);
    }
  }

  /** Sizes of the per-round state, for tests and metrics (entries, not bytes). */
  retained(): RetainedSizes {
    let partials = 0;
    for (const byAttempt of this.partials.values())
      for (const byGateway of byAttempt.values()) partials += byGateway.size;
    return {
      ianRounds: this.partials.size,
      partials,
      requested: this.requested.size,
      restored: this.restored.size,
      failed: this.failed.size,
      replayKeys: this.replay.size,
    };
  }
}
