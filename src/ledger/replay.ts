import type { RandomSource } from '../math/random.js';
import type { MaasLedgerContract } from '../schemes/maas/ledgerContract.js';
import type { MaasQueryEngine } from '../schemes/maas/query.js';
import { canonicalJson } from './canonicalJson.js';
import type { LedgerTransaction } from './service.js';

/**
 * Applies one recorded transaction to a contract and query engine; returns a reason
 * when the recorded outcome disagrees with the recomputed one (an answer can only be
 * recomputed by a node holding the query-noise key).
 */
export function replayInto(
  contract: MaasLedgerContract,
  queries: MaasQueryEngine | undefined,
  tx: LedgerTransaction,
  freshRng: RandomSource,
  lastQuery?: { answer?: string },
): string | undefined {
  switch (tx.kind) {
    case 'partial': {
      const res = contract.add(tx.body, tx.time);
      if (!res.ok) return `recorded partial rejected on replay (${res.code})`;
      // The labels the chain shows (and indexes by) must be the partial's own.
      if (res.ian !== tx.ian || res.round !== tx.round || res.gateway !== tx.gateway)
        return `recorded under IAN ${tx.ian}, round ${tx.round}, gateway ${tx.gateway}, but the partial is IAN ${res.ian}, round ${res.round}, gateway ${res.gateway}`;
      return undefined;
    }
    case 'restore': {
      const outcome = canonicalJson(contract.restore(tx.ian ?? -1, tx.round ?? -1));
      return outcome === tx.body.toString('utf8')
        ? undefined
        : 'recorded restore outcome differs from the recomputed one';
    }
    case 'query': {
      if (!queries) return undefined;
      const res = queries.query(tx.body, tx.time, freshRng);
      if (!res.ok) return `recorded query rejected on replay (${res.code})`;
      if (lastQuery) lastQuery.answer = canonicalJson(res.answer);
      return undefined;
    }
    case 'answer': {
      if (!lastQuery?.answer) return undefined;
      const same = lastQuery.answer === tx.body.toString('utf8');
      lastQuery.answer = undefined;
      return same ? undefined : 'recorded answer differs from the recomputed one';
    }
    case 'round': {
      // A status summary (its restore is recorded on its own); a failed one concludes an
      // IAN-round the driver gave up on, as it did when it was recorded.
      const record = statusRecord(tx.body);
      if (record) concludeFromStatus(contract, record);
      return undefined;
    }
    default:
      return `unknown transaction kind ${String((tx as { kind: unknown }).kind)}`;
  }
}

/**
 * A round status that says `failed` makes its IAN-round final in the contract (see
 * MaasLedgerContract.concludeUnrestored); any other status changes nothing. Shared by the
 * live path (EmbeddedLedger.recordRound) and replay, so both reach the same state.
 */
export function concludeFromStatus(
  contract: MaasLedgerContract,
  record: { ian?: unknown; round?: unknown; status?: unknown; reasons?: unknown },
): void {
  if (record.status !== 'failed') return;
  if (!Number.isSafeInteger(record.ian) || !Number.isSafeInteger(record.round)) return;
  const reasons = Array.isArray(record.reasons) ? record.reasons.map(String) : [];
  contract.concludeUnrestored(
    record.ian as number,
    record.round as number,
    `the round driver gave up: ${reasons.join('; ') || 'no reason recorded'}`,
  );
}

/** A recorded status body, or nothing when it is not a JSON object. */
function statusRecord(body: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
