import type { LedgerKey } from '../../schemes/maas/keys.js';
import { MaasLedgerContract } from '../../schemes/maas/ledgerContract.js';
import { canonicalJson } from '../canonicalJson.js';
import type { LoadedDeployment } from './loadDeployment.js';
import {
  attemptAttr,
  gatewayAttr,
  ianAttr,
  KeyType,
  type PartialRecord,
  parseStored,
  type RequestRecord,
  roundAttr,
  type StateStub,
} from './stateLayout.js';

// ── Replay helpers ─────────────────────────────────────────────────────────────

export function newContract(dep: LoadedDeployment, key: LedgerKey): MaasLedgerContract {
  return new MaasLedgerContract(key, dep.params, dep.shamir, dep.codec);
}

export const partialId = (attempt: number, gateway: number) => `${attempt}/${gateway}`;

export function partialKey(
  stub: StateStub,
  ian: number,
  round: number,
  attempt: number,
  gw: number,
) {
  return stub.createCompositeKey(KeyType.partial, [
    ianAttr(ian),
    roundAttr(round),
    attemptAttr(attempt),
    gatewayAttr(gw),
  ]);
}

/** Feeds a stored partial back into a fresh core at the time it was accepted. */
export function replayStored(contract: MaasLedgerContract, rec: PartialRecord, what: string): void {
  const res = contract.add(Buffer.from(rec.bytes, 'base64'), rec.acceptedAtMs);
  if (!res.ok) {
    // State and code disagree (a chaincode upgrade changed Verify?): refuse to guess.
    throw new Error(
      `stored partial ${what} (tx ${rec.txId}) no longer verifies: ${res.code} ${res.reason}`,
    );
  }
}

/** The rows of a partial-composite-key scan (world state or a collection), parsed and sorted. */
export async function rangeOf<T>(
  stub: StateStub,
  rows: ReturnType<StateStub['getStateByPartialCompositeKey']>,
): Promise<{ attributes: number[]; value: T }[]> {
  const out: { attributes: number[]; value: T }[] = [];
  for await (const kv of rows) {
    const { attributes } = stub.splitCompositeKey(kv.key);
    out.push({ attributes: attributes.map(Number), value: parseStored<T>(kv.value)! });
  }
  // Fabric returns keys in order already; sorting again makes replay order explicit.
  return out.sort((a, b) => {
    for (let i = 0; i < a.attributes.length; i++) {
      const d = a.attributes[i]! - b.attributes[i]!;
      if (d !== 0) return d;
    }
    return 0;
  });
}

/**
 * Rebuilds the core's re-aggregation state of (IAN, round): for each stored request in
 * attempt order, adds the partials that were stored when it was made (its basis) and runs
 * Restore, which must yield the stored request again. Returns the partials added.
 */
export async function replayRequests(
  stub: StateStub,
  contract: MaasLedgerContract,
  ian: number,
  round: number,
  loadPartial: (attempt: number, gateway: number) => Promise<PartialRecord | undefined>,
): Promise<Set<string>> {
  const added = new Set<string>();
  const requests = await rangeOf<RequestRecord>(
    stub,
    stub.getStateByPartialCompositeKey(KeyType.request, [ianAttr(ian), roundAttr(round)]),
  );
  for (const { value: req } of requests) {
    for (const [attempt, gateway] of req.basis) {
      const id = partialId(attempt, gateway);
      if (added.has(id)) continue;
      const rec = await loadPartial(attempt, gateway);
      if (!rec) throw new Error(`request basis names a missing partial ${ian}/${round}/${id}`);
      replayStored(contract, rec, `${ian}/${round}/${id}`);
      added.add(id);
    }
    const again = contract.restore(ian, round);
    if (canonicalJson(again) !== canonicalJson(req.outcome)) {
      throw new Error(`replaying the re-aggregation request of ${ian}/${round} diverged`);
    }
  }
  return added;
}
