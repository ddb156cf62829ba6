import { ErrorCode, ensure, PrivaggError } from '../../errors.js';
import { registerDeployment } from '../../schemes/maas/keys.js';
import { canonicalJson } from '../canonicalJson.js';
import { putSecret } from './secretStore.js';
import {
  CONFIG_KEY,
  canonicalBytes,
  gatewayAttr,
  ianAttr,
  type KeyRecord,
  KeyType,
  MASTER_SECRET_TRANSIENT_KEY,
  parseInitLedgerArgs,
  type StateStub,
} from './stateLayout.js';

// ── InitLedger ─────────────────────────────────────────────────────────────────

/**
 * Stores the deployment and the ledger's key bundle, derived from the TA's master secret
 * passed in the transient map (never in the arguments, which are recorded in the block).
 * Only the ledger's own keys are stored — not the master secret, from which every device
 * and gateway link key could be derived. Once only.
 */
export async function initLedger(stub: StateStub, argsJson: string): Promise<string> {
  const existing = await stub.getState(CONFIG_KEY);
  if (existing && existing.length > 0) {
    throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, 'the ledger is already initialised');
  }
  const { config, deployment } = parseInitLedgerArgs(argsJson);
  const secret = stub.getTransient().get(MASTER_SECRET_TRANSIENT_KEY);
  ensure(
    secret !== undefined && secret.length >= 32,
    `InitLedger needs the TA's master secret (≥ 32 bytes) in the transient map under '${MASTER_SECRET_TRANSIENT_KEY}'`,
  );
  const { params, oems } = deployment;
  const ledgerKey = registerDeployment(params, {
    oems,
    registeredAtMs: config.registeredAtMs,
    masterSecret: secret,
  }).ledgerKey();

  await stub.putState(CONFIG_KEY, canonicalBytes(config));
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  for (let v = 0; v < params.ians; v++) {
    for (let l = 1; l <= params.gateways; l++) {
      await putSecret(
        stub,
        config,
        stub.createCompositeKey(KeyType.gatewaySecret, [ianAttr(v), gatewayAttr(l)]),
        {
          identity: b64(ledgerKey.gatewayIdentity[v]![l - 1]!),
          publicKey: b64(ledgerKey.gatewayPublicKey[v]![l - 1]!.raw),
        } satisfies KeyRecord,
      );
    }
  }
  for (const [o, k] of ledgerKey.oems.entries()) {
    await putSecret(
      stub,
      config,
      stub.createCompositeKey(KeyType.oemSecret, [String(o).padStart(5, '0')]),
      { identity: b64(k.identity), publicKey: b64(k.publicKey.raw) } satisfies KeyRecord,
    );
  }
  await putSecret(stub, config, stub.createCompositeKey(KeyType.noiseSecret, []), {
    key: b64(ledgerKey.queryNoiseKey),
  });
  return canonicalJson({
    deployment: params.deployment,
    ians: params.ians,
    gateways: params.gateways,
    oems: oems.map((g) => g.name),
    operatorMspIds: config.operatorMspIds,
    secretStore: config.secrets,
    warning:
      config.secrets.store === 'world-state'
        ? 'the query-noise key is in world state, readable by every channel member: test networks only'
        : undefined,
  });
}
