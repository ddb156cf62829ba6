import { type AeadKey, aeadKey } from '../../crypto/aead.js';
import { lengthPrefixed, sha256, utf8 } from '../../crypto/bytes.js';
import {
  type Ed25519PrivateKey,
  type Ed25519PublicKey,
  ed25519PrivateKey,
  ed25519PublicKey,
} from '../../crypto/ed25519.js';
import { hkdf } from '../../crypto/kdf.js';
import { type MacKey, macKey } from '../../crypto/mac.js';
import { ensure } from '../../errors.js';
import { type RandomSource, systemRandom } from '../../math/random.js';
import { deviceRealId, gatewayRealId, roleIdentity } from './identity.js';
import type { MaasParams } from './params.js';

/**
 * The TA's registration (paper §V.A–B) with keys that mean something.
 *
 * The paper hands every party public identities and keys its MAC with them, so any
 * gateway can compute any device's MAC. privagg's TA instead holds a 32-byte master
 * secret and derives one key per link with HKDF-SHA256:
 *
 *   K(label, A, B) = HKDF(ikm = master, salt = SHA-256(deployment), info = label ‖ ID_A ‖ ID_B)
 *
 * with labels 'ds-gw/mac', 'ds-gw/aead' (device i ↔ gateway l of its IAN) and
 * 'bc/query-noise' (the ledger's secret for deriving query noise), 'bc/chain-content' (seals
 * the chain's noise-free values; the ledger and the auditor hold it), and the Ed25519 seeds
 * of 'gw/sign' (a gateway signs its partials) and 'oem/sign' (a querier signs its
 * queries), whose public halves are all the ledger gets: it checks partials and queries
 * but cannot make them (tags.ts). Each role's bundle holds only the keys of its own
 * links: a device cannot talk for another device, a gateway cannot forge a device's
 * message to another gateway, and a stolen gateway bundle reveals no other gateway's keys.
 */
export const KEY_LABEL = {
  dsGwMac: 'privagg/maas/v1/ds-gw/mac',
  dsGwAead: 'privagg/maas/v1/ds-gw/aead',
  gatewaySign: 'privagg/maas/v1/gw/sign',
  oemSign: 'privagg/maas/v1/oem/sign',
  queryNoise: 'privagg/maas/v1/bc/query-noise',
  chainContent: 'privagg/maas/v1/bc/chain-content',
} as const;

export interface DeviceKey {
  readonly ian: number;
  readonly device: number;
  readonly identity: Buffer;
  /** Index l − 1: the MAC key of the link to gateway l. */
  readonly gatewayMac: readonly MacKey[];
  readonly gatewayAead: readonly AeadKey[];
}

export interface GatewayKey {
  readonly ian: number;
  /** 1..m */
  readonly gateway: number;
  readonly identity: Buffer;
  /** Index i: the link keys of device i of this IAN. */
  readonly deviceMac: readonly MacKey[];
  readonly deviceAead: readonly AeadKey[];
  /** The devices' public identities (the paper's MAC needs them). */
  readonly deviceIdentity: readonly Buffer[];
  /** Signs this gateway's partials (the ledger holds the public half). */
  readonly signingKey: Ed25519PrivateKey;
}

export interface OemGrant {
  /** Real id of the querier, e.g. 'oem-acme'. */
  readonly name: string;
  /** Dimensions (by index) it may query. */
  readonly dimensions: readonly number[];
  /** Its total privacy budget for queries under basic composition. */
  readonly budget: { epsilon: number; delta: number };
  /** ε spent per dimension per distinct query (the paper's ε_j). */
  readonly epsilonPerDimension: readonly number[];
}

export interface OemKey {
  readonly oem: number;
  readonly identity: Buffer;
  /** Signs this querier's queries (the ledger holds the public half). */
  readonly signingKey: Ed25519PrivateKey;
}

export interface LedgerKey {
  /** [ian][l − 1]: public keys only, so the ledger cannot forge a partial. */
  readonly gatewayPublicKey: readonly (readonly Ed25519PublicKey[])[];
  readonly gatewayIdentity: readonly (readonly Buffer[])[];
  readonly oems: readonly {
    readonly grant: OemGrant;
    readonly identity: Buffer;
    readonly publicKey: Ed25519PublicKey;
  }[];
  /** Secret seed from which query noise is derived (never leaves the ledger). */
  readonly queryNoiseKey: Buffer;
  /**
   * Seals the chain's partials and restore outcomes (ledger/chainCipher.ts); the ledger and
   * the auditor hold it. Absent where no chain is written (a chaincode's view of one IAN).
   */
  readonly chainContentKey?: Buffer;
}

export interface MaasRegistry {
  deviceKey(ian: number, device: number): DeviceKey;
  gatewayKey(ian: number, gateway: number): GatewayKey;
  oemKey(oem: number): OemKey;
  ledgerKey(): LedgerKey;
}

export interface RegistrationOptions {
  oems: readonly OemGrant[];
  /** Registration time t of ID = H1(id ‖ service ‖ t). */
  registeredAtMs: number;
  /** The TA's master secret; drawn from `rng` when absent. */
  masterSecret?: Uint8Array;
  rng?: RandomSource;
}

/** An Ed25519 signer from a derived seed; the seed buffer is wiped. */
function signer(seed: Buffer): Ed25519PrivateKey {
  const key = ed25519PrivateKey(seed);
  seed.fill(0);
  return key;
}

/** Only the public half of a derived signing key leaves the TA for the ledger. */
function publicOf(seed: Buffer): Ed25519PublicKey {
  return ed25519PublicKey(signer(seed).publicKey);
}

/** Runs the TA's setup and registration; returns accessors for each role's bundle. */
export function registerDeployment(params: MaasParams, opts: RegistrationOptions): MaasRegistry {
  const master = Buffer.alloc(32);
  if (opts.masterSecret) {
    ensure(opts.masterSecret.length >= 32, 'master secret must have ≥ 32 bytes');
    master.set(opts.masterSecret.subarray(0, 32));
  } else {
    (opts.rng ?? systemRandom).fill(master);
  }
  const salt = sha256(utf8(params.deployment));
  const derive = (label: string, ...ids: Buffer[]) =>
    hkdf(master, salt, lengthPrefixed(utf8(label), ...ids), 32);
  const t = opts.registeredAtMs;
  const deviceId = (v: number, i: number) =>
    roleIdentity('DS', deviceRealId(params.deployment, v, i), t);
  const gatewayId = (v: number, l: number) =>
    roleIdentity('GW', gatewayRealId(params.deployment, v, l), t);
  const checkIan = (v: number) =>
    ensure(Number.isInteger(v) && v >= 0 && v < params.ians, 'IAN index out of range', { ian: v });
  for (const g of opts.oems) {
    ensure(
      g.epsilonPerDimension.every((e) => Number.isFinite(e) && e > 0),
      'every ε_j of a grant must be a finite number > 0',
      { oem: g.name },
    );
    ensure(
      Number.isFinite(g.budget.epsilon) && g.budget.epsilon >= 0,
      'a grant budget needs ε ≥ 0',
      {
        oem: g.name,
      },
    );
    ensure(g.epsilonPerDimension.length === params.dimensions.length, 'one ε_j per dimension', {
      oem: g.name,
    });
    for (const j of g.dimensions)
      ensure(j >= 0 && j < params.dimensions.length, 'grant names an unknown dimension');
  }

  return {
    deviceKey(v, i) {
      checkIan(v);
      ensure(
        Number.isInteger(i) && i >= 0 && i < params.devicesPerIan,
        'device index out of range',
        { device: i },
      );
      const id = deviceId(v, i);
      const gws = Array.from({ length: params.gateways }, (_, l) => gatewayId(v, l + 1));
      return {
        ian: v,
        device: i,
        identity: id,
        gatewayMac: gws.map((g) => macKey(derive(KEY_LABEL.dsGwMac, id, g))),
        gatewayAead: gws.map((g) => aeadKey(derive(KEY_LABEL.dsGwAead, id, g))),
      };
    },
    gatewayKey(v, l) {
      checkIan(v);
      ensure(Number.isInteger(l) && l >= 1 && l <= params.gateways, 'gateway index out of range', {
        gateway: l,
      });
      const id = gatewayId(v, l);
      const ids = Array.from({ length: params.devicesPerIan }, (_, i) => deviceId(v, i));
      return {
        ian: v,
        gateway: l,
        identity: id,
        deviceMac: ids.map((d) => macKey(derive(KEY_LABEL.dsGwMac, d, id))),
        deviceAead: ids.map((d) => aeadKey(derive(KEY_LABEL.dsGwAead, d, id))),
        deviceIdentity: ids,
        signingKey: signer(derive(KEY_LABEL.gatewaySign, id)),
      };
    },
    oemKey(o) {
      const grant = opts.oems[o];
      ensure(grant !== undefined, 'unknown OEM', { oem: o });
      const id = roleIdentity('OEM', grant.name, t);
      return { oem: o, identity: id, signingKey: signer(derive(KEY_LABEL.oemSign, id)) };
    },
    ledgerKey() {
      const gatewayIdentity = Array.from({ length: params.ians }, (_, v) =>
        Array.from({ length: params.gateways }, (_, l) => gatewayId(v, l + 1)),
      );
      return {
        gatewayIdentity,
        gatewayPublicKey: gatewayIdentity.map((row) =>
          row.map((g) => publicOf(derive(KEY_LABEL.gatewaySign, g))),
        ),
        oems: opts.oems.map((grant) => {
          const id = roleIdentity('OEM', grant.name, t);
          return { grant, identity: id, publicKey: publicOf(derive(KEY_LABEL.oemSign, id)) };
        }),
        queryNoiseKey: derive(KEY_LABEL.queryNoise),
        chainContentKey: derive(KEY_LABEL.chainContent),
      };
    },
  };
}
