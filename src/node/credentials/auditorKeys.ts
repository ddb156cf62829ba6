import type { VerifyOptions } from '../../ledger/verifyChain.js';
import type { LedgerKey } from '../../schemes/maas/keys.js';
import type { BundleOf } from './bundle.js';

/** What a full audit of a chain needs: its content key and the senders' public keys. */
export type AuditorKeys = Required<Pick<VerifyOptions, 'contentKey' | 'senders'>> &
  Pick<VerifyOptions, 'deploymentHash'>;

/** From the auditor's bundle (`privagg ledger verify --bundle`, the demo). */
export function auditorKeysOfBundle(bundle: BundleOf<'auditor'>): AuditorKeys {
  const hex = (h: string) => Buffer.from(h, 'hex');
  return {
    contentKey: hex(bundle.keys.contentKey),
    deploymentHash: hex(bundle.keys.deploymentHash),
    senders: {
      gatewayPublicKey: bundle.keys.gatewayPublicKey.map((row) => row.map(hex)),
      oemPublicKey: bundle.keys.oemPublicKey.map(hex),
    },
  };
}

/** From a ledger key (an in-process run, where the TA's registry is at hand). */
export function auditorKeysOfLedgerKey(lk: LedgerKey): AuditorKeys {
  if (!lk.chainContentKey) throw new Error('this ledger key has no chain content key');
  return {
    contentKey: lk.chainContentKey,
    senders: {
      gatewayPublicKey: lk.gatewayPublicKey.map((row) => row.map((k) => k.raw)),
      oemPublicKey: lk.oems.map((o) => o.publicKey.raw),
    },
  };
}
