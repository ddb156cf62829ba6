import { canonicalJson } from '../canonicalJson.js';
import { loadDeployment } from './loadDeployment.js';
import { latestFinalRound } from './restore.js';
import { CONFIG_KEY, type StateStub } from './stateLayout.js';

/**
 * The MaaS contract (Add/Verify, Restore, Query) over Fabric world state, built on the
 * sans-I/O core. The core keeps its state in Maps; here each transaction reads what it
 * needs from world state, replays it into a fresh core object, runs the operation there,
 * and writes back what changed as canonical JSON. So the chaincode cannot drift from the
 * core: it *is* the core, fed from the ledger.
 *
 * Determinism (every endorser must produce the same write set):
 *  - the clock is the proposal's timestamp (`txTimeMs`), never Date.now;
 *  - there is no randomness: query noise is derived (HMAC-keyed PRG, dpUtils.ts) and the
 *    paper's fresh-noise mode is refused at InitLedger; the fresh-randomness source handed
 *    to the core throws if it is ever used;
 *  - stored records are replayed in key order, and every value written is canonical JSON;
 *  - the only module-level state is a memo of pure derivations from the stored config.
 *
 * Concurrency (Fabric invalidates a transaction whose read set changed before it
 * committed): a first-attempt Add reads only point keys that no other transaction writes
 * (the config, its IAN's gateway keys, its own partial key) and writes only its own
 * partial key, so the m gateways of an IAN never conflict with one another. Restore reads
 * the range of its (IAN, round), so a Restore racing an Add of the same IAN-round is
 * invalidated and must be resubmitted — which is what should happen.
 */

export { addPartial } from './addPartial.js';
export { initLedger } from './initLedger.js';
export { query } from './queryOverState.js';
export { getOutcome, restore } from './restore.js';
export { restoreReceipt } from './secretStore.js';

// ── Read-only ──────────────────────────────────────────────────────────────────

/** Whether the ledger is initialised, its deployment, and the newest final round. */
export async function health(stub: StateStub): Promise<string> {
  const raw = await stub.getState(CONFIG_KEY);
  if (!raw || raw.length === 0) return canonicalJson({ ok: false, initialised: false });
  const dep = await loadDeployment(stub);
  return canonicalJson({
    ok: true,
    initialised: true,
    deployment: dep.params.deployment,
    latestFinalRound: await latestFinalRound(stub),
    secretStore: dep.config.secrets.store,
  });
}

/** The public configuration (parameters, grants, operators; no secret). */
export async function getConfig(stub: StateStub): Promise<string> {
  const dep = await loadDeployment(stub);
  return canonicalJson(dep.config);
}
