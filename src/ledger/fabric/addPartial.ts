import { ErrorCode } from '../../errors.js';
import type { AddResult, MaasLedgerContract } from '../../schemes/maas/ledgerContract.js';
import { decodePartialOf } from '../../schemes/maas/partialCodec.js';
import { type decodeGatewayPartial, MAX_MESSAGE_BYTES } from '../../wire/maas.js';
import { newContract, partialId, partialKey, replayRequests, replayStored } from './coreReplay.js';
import { gatewayKeysOf } from './ledgerKeysFromState.js';
import { loadDeployment } from './loadDeployment.js';
import { getValue, putValue } from './secretStore.js';
import {
  canonicalBytes,
  decodeBase64Strict,
  type PartialRecord,
  parseStored,
  type StateStub,
  txTimeMs,
} from './stateLayout.js';

// ── Add ────────────────────────────────────────────────────────────────────────

/** Add + Verify of one gateway partial (base64). Never throws on bad input. */
export async function addPartial(stub: StateStub, partialBase64: string): Promise<AddResult> {
  const dep = await loadDeployment(stub);
  const nowMs = txTimeMs(stub);
  const bytes = decodeBase64Strict(partialBase64);
  if (!bytes) {
    return { ok: false, code: ErrorCode.MALFORMED_MESSAGE, reason: 'partial is not base64' };
  }
  // Peek at the header to load the state the core will consult; if it does not decode,
  // the core rejects the bytes the same way without touching any state.
  let header: ReturnType<typeof decodeGatewayPartial> | undefined;
  try {
    if (bytes.length <= MAX_MESSAGE_BYTES) header = decodePartialOf(dep.params, bytes);
  } catch {
    header = undefined;
  }
  const { ians, gateways } = dep.params;
  let contract: MaasLedgerContract;
  if (header && header.ian < ians && header.gateway >= 1 && header.gateway <= gateways) {
    const { ian, round, attempt, gateway } = header;
    contract = newContract(dep, await gatewayKeysOf(stub, dep, ian));
    const load = async (a: number, g: number) =>
      parseStored<PartialRecord>(
        await getValue(stub, dep.config, partialKey(stub, ian, round, a, g)),
      );
    // Re-aggregated partials are checked against the ledger's request: rebuild it.
    const added =
      attempt > 0 ? await replayRequests(stub, contract, ian, round, load) : new Set<string>();
    // The core's replay cache: is this (IAN, round, gateway, attempt) already stored?
    const own = await load(attempt, gateway);
    if (own && !added.has(partialId(attempt, gateway))) {
      replayStored(contract, own, `${ian}/${round}/${partialId(attempt, gateway)}`);
    }
  } else {
    const empty = Array.from({ length: ians }, () => []);
    contract = newContract(dep, {
      gatewayPublicKey: empty,
      gatewayIdentity: empty,
      oems: [],
      queryNoiseKey: Buffer.alloc(0),
    });
  }
  const res = contract.add(bytes, nowMs);
  if (res.ok) {
    await putValue(
      stub,
      dep.config,
      partialKey(stub, res.ian, res.round, res.attempt, res.gateway),
      canonicalBytes({
        acceptedAtMs: nowMs,
        bytes: partialBase64,
        txId: stub.getTxID(),
      } satisfies PartialRecord),
    );
  }
  return res;
}
