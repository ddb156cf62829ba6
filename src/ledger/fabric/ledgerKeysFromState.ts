import { type Ed25519PublicKey, ed25519PublicKey } from '../../crypto/ed25519.js';
import { ErrorCode, PrivaggError } from '../../errors.js';
import type { LedgerKey } from '../../schemes/maas/keys.js';
import type { LoadedDeployment } from './loadDeployment.js';
import { getKeyRecord, getSecret } from './secretStore.js';
import {
  gatewayAttr,
  ianAttr,
  type KeyRecord,
  KeyType,
  parseStored,
  type StateStub,
} from './stateLayout.js';

const publicKey = (b64: string): Ed25519PublicKey => ed25519PublicKey(Buffer.from(b64, 'base64'));

/**
 * A LedgerKey holding only the gateway keys of one IAN: Add and Restore of (IAN, round)
 * check signatures of that IAN only (the core indexes gatewayPublicKey[ian] after checking the
 * IAN).
 * The OEM keys and the noise key are not loaded: the Add/Restore core never reads them.
 */
export async function gatewayKeysOf(
  stub: StateStub,
  dep: LoadedDeployment,
  ian: number,
): Promise<LedgerKey> {
  const row: KeyRecord[] = [];
  for (let l = 1; l <= dep.params.gateways; l++) {
    row.push(
      await getKeyRecord(
        stub,
        dep.config,
        stub.createCompositeKey(KeyType.gatewaySecret, [ianAttr(ian), gatewayAttr(l)]),
      ),
    );
  }
  const gatewayPublicKey: Ed25519PublicKey[][] = Array.from({ length: dep.params.ians }, () => []);
  const gatewayIdentity: Buffer[][] = Array.from({ length: dep.params.ians }, () => []);
  gatewayPublicKey[ian] = row.map((r) => publicKey(r.publicKey));
  gatewayIdentity[ian] = row.map((r) => Buffer.from(r.identity, 'base64'));
  return { gatewayPublicKey, gatewayIdentity, oems: [], queryNoiseKey: Buffer.alloc(0) };
}

/** The OEM keys and the query-noise key (what the query engine needs), no gateway keys. */
export async function queryKeysOf(stub: StateStub, dep: LoadedDeployment): Promise<LedgerKey> {
  const oems: LedgerKey['oems'][number][] = [];
  for (const [o, grant] of dep.deployment.oems.entries()) {
    const rec = await getKeyRecord(
      stub,
      dep.config,
      stub.createCompositeKey(KeyType.oemSecret, [String(o).padStart(5, '0')]),
    );
    oems.push({
      grant,
      identity: Buffer.from(rec.identity, 'base64'),
      publicKey: publicKey(rec.publicKey),
    });
  }
  const noise = parseStored<{ key: string }>(
    await getSecret(stub, dep.config, stub.createCompositeKey(KeyType.noiseSecret, [])),
  );
  if (!noise) throw new PrivaggError(ErrorCode.BAD_KEY, 'query-noise key missing');
  const empty = Array.from({ length: dep.params.ians }, () => []);
  return {
    gatewayPublicKey: empty,
    gatewayIdentity: empty,
    oems,
    queryNoiseKey: Buffer.from(noise.key, 'base64'),
  };
}
