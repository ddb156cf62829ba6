import { PrivaggError } from '../../errors.js';
import type { AddResult, RestoreOutcome } from '../../schemes/maas/ledgerContract.js';
import type { QueryResult } from '../../schemes/maas/query.js';
import type { LedgerCounters, LedgerHealth, LedgerService } from '../service.js';

/**
 * What a gateway, an OEM or an operator needs from a ledger, whichever one it is: the
 * embedded block store (a LedgerService, as it is) or Hyperledger Fabric
 * (FabricLedgerClient). The block-level views of LedgerService (block, blocks, verify,
 * height) have no synchronous Fabric counterpart and are left out; Fabric's own tools
 * (qscc, the peer CLI, block events) serve them there.
 *
 * Bad input is answered with { ok: false, code } as the core does. A ledger that cannot be
 * reached throws: a PrivaggError from the embedded store, a LedgerClientError
 * (LEDGER_UNAVAILABLE, ENDORSEMENT_FAILED, COMMIT_FAILED, …) from Fabric.
 */
export interface LedgerClient {
  addPartial(bytes: Uint8Array): Promise<AddResult>;
  restore(ian: number, round: number): Promise<RestoreOutcome>;
  query(bytes: Uint8Array): Promise<QueryResult>;
  /** Embedded: seal pending transactions now. Fabric: nothing (each submit waits for its commit). */
  flush(): Promise<void>;
  health(): LedgerHealth | Promise<LedgerHealth>;
  counters(): LedgerCounters;
  close(): Promise<void>;
}

/**
 * The embedded store as a LedgerClient. Its operator restore can refuse (an IAN it does
 * not have, a round already final): the refusal is thrown as a PrivaggError with its code,
 * as a Fabric endorsement refusal is thrown.
 */
export function embeddedLedgerClient(service: LedgerService): LedgerClient {
  return {
    addPartial: (bytes) => service.addPartial(bytes),
    async restore(ian, round) {
      const res = await service.restore(ian, round);
      if (!res.ok) throw new PrivaggError(res.code, res.reason);
      return res.outcome;
    },
    query: (bytes) => service.query(bytes),
    flush: () => service.flush(),
    health: () => service.health(),
    counters: () => service.counters(),
    close: () => service.close(),
  };
}
