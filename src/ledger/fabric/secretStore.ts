import { ErrorCode, PrivaggError } from '../../errors.js';
import type { RestoreOutcome } from '../../schemes/maas/ledgerContract.js';
import {
  type ChaincodeConfig,
  canonicalBytes,
  type KeyRecord,
  parseStored,
  type StateStub,
} from './stateLayout.js';

// ── Secrets ────────────────────────────────────────────────────────────────────

export async function getSecret(stub: StateStub, config: ChaincodeConfig, key: string) {
  return config.secrets.store === 'private-data'
    ? stub.getPrivateData(config.secrets.collection, key)
    : stub.getState(key);
}

export async function putSecret(
  stub: StateStub,
  config: ChaincodeConfig,
  key: string,
  value: unknown,
) {
  if (config.secrets.store === 'private-data') {
    await stub.putPrivateData(config.secrets.collection, key, canonicalBytes(value));
  } else {
    // ⚠ TEST-NETWORK SHORTCUT: a world-state write is part of the transaction's public
    // write set, so the query-noise key ends up in every block replica of the channel and
    // anyone who can read the chain can remove query noise (the gateways' and OEMs' keys
    // stored here are public: nobody can forge with them). Use a private data collection
    // (secretCollection). See docs/FABRIC.md.
    await stub.putState(key, canonicalBytes(value));
  }
}

// ── Confidential values ────────────────────────────────────────────────────────

/**
 * Partials (k of them interpolate an IAN's exact total) and final outcomes (each IAN's
 * estimates) are kept where the secrets are: in the private data collection when there is
 * one — member peers hold the values, the channel's blocks only their hashes — else in
 * world state (the test-network shortcut, which InitLedger's warning names).
 */
export async function getValue(stub: StateStub, config: ChaincodeConfig, key: string) {
  return getSecret(stub, config, key);
}

export async function putValue(
  stub: StateStub,
  config: ChaincodeConfig,
  key: string,
  bytes: Uint8Array,
) {
  if (config.secrets.store === 'private-data')
    await stub.putPrivateData(config.secrets.collection, key, bytes);
  else await stub.putState(key, bytes);
}

export function valuesByPartialKey(
  stub: StateStub,
  config: ChaincodeConfig,
  type: string,
  attrs: string[],
) {
  return config.secrets.store === 'private-data'
    ? stub.getPrivateDataByPartialCompositeKey(config.secrets.collection, type, attrs)
    : stub.getStateByPartialCompositeKey(type, attrs);
}

/**
 * What Restore returns, and so what its transaction records in the block: the outcome
 * without its estimates when they are kept in the collection (the operator reads them with
 * GetOutcome, an evaluation that records nothing). With world-state values, the outcome.
 */
export function restoreReceipt(outcome: RestoreOutcome, config: ChaincodeConfig): RestoreOutcome {
  if (config.secrets.store !== 'private-data' || outcome.status !== 'restored') return outcome;
  return { ...outcome, estimates: [] };
}

export async function getKeyRecord(
  stub: StateStub,
  config: ChaincodeConfig,
  key: string,
): Promise<KeyRecord> {
  const rec = parseStored<KeyRecord>(await getSecret(stub, config, key));
  if (!rec) {
    throw new PrivaggError(
      ErrorCode.BAD_KEY,
      config.secrets.store === 'private-data'
        ? `secret missing from collection ${config.secrets.collection}: is this peer a member?`
        : 'secret missing from world state',
    );
  }
  return rec;
}
