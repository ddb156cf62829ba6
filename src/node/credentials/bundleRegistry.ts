import { aeadKey } from '../../crypto/aead.js';
import { ed25519PrivateKey, ed25519PublicKey } from '../../crypto/ed25519.js';
import { macKey } from '../../crypto/mac.js';
import { ErrorCode, PrivaggError } from '../../errors.js';
import type {
  DeviceKey,
  GatewayKey,
  LedgerKey,
  MaasRegistry,
  OemGrant,
  OemKey,
} from '../../schemes/maas/keys.js';
import type { CredentialBundle } from './bundle.js';

/**
 * The keys of one or more bundles as a MaasRegistry: the accessors the scheme's roles are
 * built with, answering only for the links the bundles hold. Asking for any other role's
 * keys is ACCESS_DENIED — a process cannot build a role it holds no credentials for.
 */
export function registryFromBundles(
  bundles: readonly CredentialBundle[],
  oems: readonly OemGrant[],
): MaasRegistry {
  const devices = new Map<string, DeviceKey>();
  const gateways = new Map<string, GatewayKey>();
  const oemKeys = new Map<number, OemKey>();
  let ledger: LedgerKey | undefined;
  const b = (h: string) => Buffer.from(h, 'hex');
  for (const bundle of bundles) {
    switch (bundle.role) {
      case 'devices':
        for (const d of bundle.keys.devices) {
          devices.set(`${d.ian}/${d.device}`, {
            ian: d.ian,
            device: d.device,
            identity: b(d.identity),
            gatewayMac: d.gatewayMac.map((k) => macKey(b(k))),
            gatewayAead: d.gatewayAead.map((k) => aeadKey(b(k))),
          });
        }
        break;
      case 'gateway': {
        const g = bundle.keys;
        gateways.set(`${g.ian}/${g.gateway}`, {
          ian: g.ian,
          gateway: g.gateway,
          identity: b(g.identity),
          deviceMac: g.deviceMac.map((k) => macKey(b(k))),
          deviceAead: g.deviceAead.map((k) => aeadKey(b(k))),
          deviceIdentity: g.deviceIdentity.map(b),
          signingKey: ed25519PrivateKey(b(g.signingKey)),
        });
        break;
      }
      case 'oem':
        oemKeys.set(bundle.keys.oem, {
          oem: bundle.keys.oem,
          identity: b(bundle.keys.identity),
          signingKey: ed25519PrivateKey(b(bundle.keys.signingKey)),
        });
        break;
      case 'ledger': {
        const l = bundle.keys;
        if (l.oems.length !== oems.length) {
          throw new PrivaggError(
            ErrorCode.BAD_KEY,
            `the ledger's bundle holds ${l.oems.length} OEM keys but the deployment grants ${oems.length} OEMs: issue the credentials again`,
          );
        }
        ledger = {
          gatewayPublicKey: l.gatewayPublicKey.map((row) => row.map((k) => ed25519PublicKey(b(k)))),
          gatewayIdentity: l.gatewayIdentity.map((row) => row.map(b)),
          oems: l.oems.map((o, i) => ({
            grant: oems[i]!,
            identity: b(o.identity),
            publicKey: ed25519PublicKey(b(o.publicKey)),
          })),
          queryNoiseKey: b(l.queryNoiseKey),
          chainContentKey: b(l.contentKey),
        };
        break;
      }
      default:
        break;
    }
  }
  const denied = (what: string): never => {
    throw new PrivaggError(
      ErrorCode.ACCESS_DENIED,
      `this process holds no credentials for ${what}`,
    );
  };
  return {
    deviceKey: (v, i) => devices.get(`${v}/${i}`) ?? denied(`device ${i} of IAN ${v}`),
    gatewayKey: (v, l) => gateways.get(`${v}/${l}`) ?? denied(`gateway ${l} of IAN ${v}`),
    oemKey: (o) => oemKeys.get(o) ?? denied(`OEM ${o}`),
    ledgerKey: () => ledger ?? denied('the ledger'),
  };
}
