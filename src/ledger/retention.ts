import type { MaasLedgerContract, RestoreOutcome } from '../schemes/maas/ledgerContract.js';
import { MaasLedgerContract as Contract } from '../schemes/maas/ledgerContract.js';
import type { MaasQueryEngine } from '../schemes/maas/query.js';

/**
 * How long the ledger keeps a round's state in memory. A ledger runs for weeks, so
 * per-round state (stored partials, replay keys, restore outcomes, noise cells) must not
 * outlive the round's use: once RETAIN_ROUNDS newer rounds have a final outcome, a round's
 * state is dropped, and its restored outcome, which queries still read, is served from
 * the block store.
 *
 * Why a fixed number and not a setting: the window decides which recorded transactions a
 * replay accepts (a partial for a pruned round is refused live, so a chain holding one was
 * not written by a ledger), so every ledger and every verifier must apply the same one.
 *
 * What the window bounds: the ledger's round driver concludes rounds in order and a round
 * is concluded within a few restore delays of its end, so a round 16 final rounds behind
 * the newest is done with; a late partial for it is refused (WRONG_ROUND) rather than
 * stored for ever, and so is an operator's restore of it.
 *
 * Pruning runs when the window has moved PRUNE_STEP rounds, so memory holds between
 * RETAIN_ROUNDS and RETAIN_ROUNDS + PRUNE_STEP rounds and a prune (which walks the kept
 * state) runs once per PRUNE_STEP rounds.
 */
export const RETAIN_ROUNDS = 16;
export const PRUNE_STEP = 8;

export class RoundRetention {
  private horizon = 0;

  /** Rounds below this have been pruned. */
  get prunedBefore(): number {
    return this.horizon;
  }

  /** Whether the contract still holds (or can still take) state for `round`. */
  admits(round: number): boolean {
    return round >= this.horizon;
  }

  /**
   * Called after every restore, live or replayed (the same transactions, so the same
   * prunes). Prunes when the newest final round has moved the window by PRUNE_STEP.
   */
  afterRestore(contract: MaasLedgerContract, queries?: MaasQueryEngine): boolean {
    const target = contract.latestFinalRound - RETAIN_ROUNDS + 1;
    if (target - this.horizon < PRUNE_STEP) return false;
    contract.pruneBefore(target);
    queries?.pruneBefore(target);
    this.horizon = target;
    return true;
  }
}

export type Restored = Extract<RestoreOutcome, { status: 'restored' }>;

/**
 * The contract as the ledger node runs it: restored outcomes of pruned rounds come from
 * `archive` (the block store), so queries over old rounds answer exactly as before.
 * Rounds still in the window are answered from memory only: their outcome, if any, is there.
 */
export class RetainingLedgerContract extends Contract {
  archive: ((ian: number, round: number) => Restored | undefined) | undefined;
  readonly retention = new RoundRetention();

  override restoredOf(ian: number, round: number): Restored | undefined {
    const held = super.restoredOf(ian, round);
    if (held || this.retention.admits(round) || !this.archive) return held;
    return this.archive(ian, round);
  }

  /** A pruned round is concluded already; nothing of it is held again. */
  override concludeUnrestored(ian: number, round: number, reason: string): void {
    if (this.retention.admits(round)) super.concludeUnrestored(ian, round, reason);
  }
}

/** The restored outcome among recorded restore bodies (canonical JSON), if one is. */
export function restoredFromBodies(bodies: readonly Buffer[]): Restored | undefined {
  for (const body of bodies) {
    const outcome = JSON.parse(body.toString('utf8')) as RestoreOutcome;
    if (outcome.status === 'restored') return outcome;
  }
  return undefined;
}
