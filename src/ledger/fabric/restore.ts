import { ErrorCode, ensure, PrivaggError } from '../../errors.js';
import type { RestoreOutcome } from '../../schemes/maas/ledgerContract.js';
import { canonicalJson } from '../canonicalJson.js';
import { newContract, partialId, rangeOf, replayRequests, replayStored } from './coreReplay.js';
import { gatewayKeysOf } from './ledgerKeysFromState.js';
import { type LoadedDeployment, loadDeployment } from './loadDeployment.js';
import { getValue, putValue, restoreReceipt, valuesByPartialKey } from './secretStore.js';
import {
  attemptAttr,
  canonicalBytes,
  finalAttr,
  ianAttr,
  KeyType,
  MAX_ROUND,
  type PartialRecord,
  parseStored,
  type RequestRecord,
  roundAttr,
  type StateStub,
} from './stateLayout.js';

// ── Restore ────────────────────────────────────────────────────────────────────

/** Checks Restore's coordinates (the core would record a failure for any IAN-round). */
function checkCoordinates(dep: LoadedDeployment, ian: number, round: number): void {
  ensure(
    Number.isInteger(ian) && ian >= 0 && ian < dep.params.ians,
    `ian must be an integer in [0, ${dep.params.ians})`,
    { ian },
  );
  ensure(
    Number.isInteger(round) && round >= 0 && round <= MAX_ROUND,
    'round must be a u32 integer',
    { round },
  );
}

/**
 * The deployment, once (IAN, round) is checked and the caller is one of the operators
 * (any MSP when none are configured); `refused` names what a non-operator may not do.
 */
async function operatorDeployment(
  stub: StateStub,
  ian: number,
  round: number,
  callerMspId: string,
  refused: string,
): Promise<LoadedDeployment> {
  const dep = await loadDeployment(stub);
  checkCoordinates(dep, ian, round);
  const operators = dep.config.operatorMspIds;
  if (operators.length > 0 && !operators.includes(callerMspId)) {
    throw new PrivaggError(ErrorCode.ACCESS_DENIED, `MSP ${callerMspId} may not ${refused}`);
  }
  return dep;
}

/** Where the final outcome of (IAN, round) is kept (world state or the collection). */
export function outcomeKeyOf(stub: StateStub, ian: number, round: number): string {
  return stub.createCompositeKey(KeyType.outcome, [ianAttr(ian), roundAttr(round)]);
}

/**
 * Restore of (IAN, round), as canonical JSON of the core's RestoreOutcome. A final outcome
 * (restored or failed) is stored and returned as is afterwards; a re-aggregation request
 * is stored with the partials it was computed from, so later transactions can rebuild it.
 */
export async function restore(
  stub: StateStub,
  ian: number,
  round: number,
  callerMspId: string,
): Promise<string> {
  const dep = await operatorDeployment(stub, ian, round, callerMspId, 'call Restore');
  const outcomeKey = outcomeKeyOf(stub, ian, round);
  const done = parseStored<RestoreOutcome>(await getValue(stub, dep.config, outcomeKey));
  if (done) return canonicalJson(restoreReceipt(done, dep.config));

  const contract = newContract(dep, await gatewayKeysOf(stub, dep, ian));
  const partials = await rangeOf<PartialRecord>(
    stub,
    valuesByPartialKey(stub, dep.config, KeyType.partial, [ianAttr(ian), roundAttr(round)]),
  );
  const byId = new Map(
    partials.map((p) => [partialId(p.attributes[2]!, p.attributes[3]!), p.value]),
  );
  const added = await replayRequests(stub, contract, ian, round, async (a, g) =>
    byId.get(partialId(a, g)),
  );
  for (const p of partials) {
    const id = partialId(p.attributes[2]!, p.attributes[3]!);
    if (!added.has(id)) replayStored(contract, p.value, `${ian}/${round}/${id}`);
  }
  const outcome = contract.restore(ian, round);
  if (outcome.status === 'reconcile') {
    const record: RequestRecord = {
      basis: partials.map((p) => [p.attributes[2]!, p.attributes[3]!]),
      outcome,
    };
    const key = stub.createCompositeKey(KeyType.request, [
      ianAttr(ian),
      roundAttr(round),
      attemptAttr(outcome.attempt),
    ]);
    const before = await stub.getState(key);
    const bytes = canonicalBytes(record);
    // Asking again for the same thing changes nothing (and writes nothing).
    if (!before || !Buffer.from(before).equals(bytes)) await stub.putState(key, bytes);
  } else {
    await putValue(stub, dep.config, outcomeKey, canonicalBytes(outcome));
    // Blind write (never read in an update transaction): IANs finishing the same round
    // concurrently write the same value and do not conflict.
    await stub.putState(
      stub.createCompositeKey(KeyType.final, [finalAttr(round)]),
      canonicalBytes({ round }),
    );
  }
  return canonicalJson(restoreReceipt(outcome, dep.config));
}

/**
 * The stored final outcome of (IAN, round) with its estimates, or null: an evaluation
 * (nothing is recorded), for the operators who may restore — the estimates are noise-free.
 */
export async function getOutcome(
  stub: StateStub,
  ian: number,
  round: number,
  callerMspId: string,
): Promise<string> {
  const dep = await operatorDeployment(stub, ian, round, callerMspId, 'read outcomes');
  const done = await getValue(stub, dep.config, outcomeKeyOf(stub, ian, round));
  return done && done.length > 0 ? Buffer.from(done).toString('utf8') : 'null';
}

/** The newest round with a final outcome for some IAN (the core's latestFinalRound); −1 before any. */
export async function latestFinalRound(stub: StateStub): Promise<number> {
  for await (const kv of stub.getStateByPartialCompositeKey(KeyType.final, [])) {
    const [inverted] = stub.splitCompositeKey(kv.key).attributes;
    return MAX_ROUND - Number(inverted);
  }
  return -1;
}
