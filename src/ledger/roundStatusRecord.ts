import { canonicalJson } from './canonicalJson.js';
import type { LedgerTransaction } from './service.js';
import type { SqliteBlockStore } from './sqliteStore.js';

/** A round's status for one IAN, as the round driver records it on the chain. */
export interface RoundStatusRecord {
  ian: number;
  round: number;
  status: 'complete' | 'degraded' | 'failed';
  reasons: string[];
  /**
   * Operator notes received since the previous status was recorded (operatorNotes.ts), e.g.
   * a role process `privagg up` restarted; absent when there were none (so a status without
   * notes has the same bytes as before notes existed). Not part of the round's verdict.
   */
  notes?: string[];
}

/**
 * The transaction recording `outcome` at `nowMs`. The operator notes given go with it:
 * they are set on `outcome` itself (appended to any it has), so the record its caller
 * announces is the one on the chain.
 */
export function roundStatusTransaction(
  outcome: RoundStatusRecord,
  notes: readonly string[],
  nowMs: number,
): LedgerTransaction {
  if (notes.length > 0) outcome.notes = [...(outcome.notes ?? []), ...notes];
  const body = Buffer.from(canonicalJson(outcome));
  return { kind: 'round', time: nowMs, body, ian: outcome.ian, round: outcome.round };
}

/**
 * The newest round with a recorded status, on the chain or in the batch not yet
 * committed; −1 when there is none. An index lookup, not a walk over the chain.
 */
export function newestRoundWithStatus(
  store: SqliteBlockStore,
  pending: readonly LedgerTransaction[],
): number {
  let newest = store.newestRoundOf('round');
  for (const t of pending) if (t.kind === 'round') newest = Math.max(newest, t.round ?? -1);
  return newest;
}

/** Whether (IAN, round) has a recorded status, on the chain or in the batch not yet committed. */
export function hasRoundStatus(
  store: SqliteBlockStore,
  pending: readonly LedgerTransaction[],
  ian: number,
  round: number,
): boolean {
  return (
    pending.some((t) => t.kind === 'round' && t.ian === ian && t.round === round) ||
    store.has(ian, round, 'round')
  );
}
