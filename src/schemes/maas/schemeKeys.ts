import { aeadKey } from '../../crypto/aead.js';
import { sha256 } from '../../crypto/bytes.js';
import {
  type Ed25519PrivateKey,
  ed25519PrivateKey,
  ed25519PublicKey,
} from '../../crypto/ed25519.js';
import { macKey } from '../../crypto/mac.js';
import { exportRawPrivate } from '../../crypto/rawKeys.js';
import { ErrorCode, isPrivaggError, PrivaggError } from '../../errors.js';
import type { RandomSource } from '../../math/random.js';
import { type Address, addressKey, type Population, type TrustedSetup } from '../scheme.js';
import {
  type DeviceKey,
  type GatewayKey,
  type LedgerKey,
  type OemGrant,
  type OemKey,
  registerDeployment,
} from './keys.js';
import type { MaasParams } from './params.js';
import type { MaasSchemeParams } from './schemeParams.js';

/**
 * The TA's step behind the seam, and the bytes it hands out.
 *
 * `maasSetup` draws the TA's 32-byte master secret from `rng` and runs today's
 * registration (`registerDeployment`, keys.ts) with it, then draws a second 32-byte seed
 * for the center's Ed25519 control key (the ledger's signing key of wire/control.ts: the
 * networked runtime's TA draws it fresh per run too, credentials/issue.ts). The
 * registration time is the parameters' `registeredAtMs` (the seam's setup has no clock).
 * The OEMs are today's default: one, 'oem-1', every dimension, ε_j = 2, budget 4·Σε_j
 * (as the deployment file and the runner default); queries stay outside the seam for now,
 * but their keys are issued so the center's ledger key is today's.
 *
 * Public setup — canonical JSON (sorted keys, no whitespace), format
 * 'privagg/maas/public-setup/1': the resolved parameters and the population (a role built
 * for another configuration refuses it: BAD_KEY), the center's control public key, each
 * gateway's identity and Ed25519 verification key [v][l − 1] and each OEM's grant,
 * identity and verification key — what today's ledger key holds in public.
 *
 * Key blob — canonical JSON, format 'privagg/maas/keys/1':
 *   { format, scheme: 'maas', holder: addressKey(address), setup: hex SHA-256(public
 *     setup), keys } with every secret in lower-case hex:
 *   device      { identity, gatewayMac[m], gatewayAead[m] }   its links to its m gateways
 *   aggregator  { identity, deviceMac[n], deviceAead[n], deviceIdentity[n], signingKey }
 *               its links with its IAN's devices and its partials' Ed25519 seed
 *   center      { queryNoiseKey, chainContentKey, controlKey }  the ledger's secrets and
 *               the seed of the key that signs reconcile requests
 *   querier     { identity, signingKey }                       OEM `index` (not a seam role yet)
 * A role refuses (BAD_KEY) a blob issued to another address, another scheme, under
 * another setup, or of another format, before it reads a key.
 */
export const PUBLIC_SETUP_FORMAT = 'privagg/maas/public-setup/1';
export const KEY_BLOB_FORMAT = 'privagg/maas/keys/1';
const SCHEME = 'maas';

/** Today's default querier (deploymentFile.ts and maasRunner.ts agree on it). */
export function defaultOems(w: number): OemGrant[] {
  return [
    {
      name: 'oem-1',
      dimensions: Array.from({ length: w }, (_, j) => j),
      budget: { epsilon: 4 * 2 * w, delta: 0 },
      epsilonPerDimension: Array.from({ length: w }, () => 2),
    },
  ];
}

interface PublicSetupJson {
  format: string;
  scheme: string;
  config: MaasSchemeParams;
  population: Population;
  center: string;
  gateways: { identity: string; publicKey: string }[][];
  oems: { grant: OemGrant; identity: string; publicKey: string }[];
}

/** A public setup checked against the configuration that reads it. */
export interface OpenedSetup {
  /** SHA-256 of the public setup's bytes (hex): every blob names the setup it belongs to. */
  readonly id: string;
  readonly json: PublicSetupJson;
  readonly centerPublicKey: Buffer;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export function maasSetup(
  params: MaasParams,
  config: MaasSchemeParams,
  population: Population,
  rng: RandomSource,
): TrustedSetup {
  const master = Buffer.alloc(32);
  rng.fill(master);
  const controlSeed = Buffer.alloc(32);
  rng.fill(controlSeed);
  const oems = defaultOems(params.dimensions.length);
  const registry = registerDeployment(params, {
    oems,
    registeredAtMs: config.registeredAtMs,
    masterSecret: master,
  });
  master.fill(0);
  const control = ed25519PrivateKey(controlSeed);
  const ledger = registry.ledgerKey();
  const json: PublicSetupJson = {
    format: PUBLIC_SETUP_FORMAT,
    scheme: SCHEME,
    config,
    population,
    center: hex(control.publicKey),
    gateways: ledger.gatewayIdentity.map((row, v) =>
      row.map((identity, l) => ({
        identity: hex(identity),
        publicKey: hex(ledger.gatewayPublicKey[v]![l]!.raw),
      })),
    ),
    oems: ledger.oems.map((o) => ({
      grant: o.grant,
      identity: hex(o.identity),
      publicKey: hex(o.publicKey.raw),
    })),
  };
  const publicSetup = Buffer.from(canonicalJsonOf(json), 'utf8');
  const setup = hex(sha256(publicSetup));
  const blob = (who: Address, keys: Record<string, unknown>) =>
    Buffer.from(
      canonicalJsonOf({
        format: KEY_BLOB_FORMAT,
        scheme: SCHEME,
        holder: addressKey(who),
        setup,
        keys,
      }),
      'utf8',
    );
  return {
    publicSetup,
    keysOf(who) {
      switch (who.role) {
        case 'device': {
          const d = registry.deviceKey(who.group, who.index);
          return blob(who, {
            identity: hex(d.identity),
            gatewayMac: d.gatewayMac.map((k) => hex(k.bytes)),
            gatewayAead: d.gatewayAead.map((k) => hex(k.bytes)),
          });
        }
        case 'aggregator': {
          // Address index l − 1 is gateway l (1-based, as on the wire).
          const g = registry.gatewayKey(who.group, who.index + 1);
          return blob(who, {
            identity: hex(g.identity),
            deviceMac: g.deviceMac.map((k) => hex(k.bytes)),
            deviceAead: g.deviceAead.map((k) => hex(k.bytes)),
            deviceIdentity: g.deviceIdentity.map(hex),
            signingKey: hex(exportRawPrivate(g.signingKey.keyObject)),
          });
        }
        case 'center':
          if (who.group !== -1 || who.index !== 0) break;
          return blob(who, {
            queryNoiseKey: hex(ledger.queryNoiseKey),
            chainContentKey: hex(ledger.chainContentKey!),
            controlKey: hex(controlSeed),
          });
        case 'querier': {
          const o = registry.oemKey(who.index);
          return blob(who, {
            identity: hex(o.identity),
            signingKey: hex(exportRawPrivate(o.signingKey.keyObject)),
          });
        }
      }
      throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, `no MaaS role at ${addressKey(who)}`);
    },
  };
}

const badKey = (message: string): never => {
  throw new PrivaggError(ErrorCode.BAD_KEY, message);
};

function parseJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return badKey(`${what} is not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    return badKey(`${what} is not an object`);
  return v as Record<string, unknown>;
}

/**
 * Reads a public setup for the configuration (`config`, `population`) that builds roles
 * from it: BAD_KEY for another format, scheme or configuration.
 */
export function openSetup(
  publicSetup: Uint8Array,
  config: MaasSchemeParams,
  population: Population,
): OpenedSetup {
  const json = parseJson(publicSetup, 'the MaaS public setup') as unknown as PublicSetupJson;
  if (json.format !== PUBLIC_SETUP_FORMAT || json.scheme !== SCHEME)
    badKey(`not a MaaS public setup (${String(json.format)})`);
  if (
    canonicalJsonOf(json.config) !== canonicalJsonOf(config) ||
    canonicalJsonOf(json.population) !== canonicalJsonOf(population)
  ) {
    badKey('the public setup was issued for another configuration or population');
  }
  return {
    id: hex(sha256(publicSetup)),
    json,
    centerPublicKey: hexKey(json.center, 32, 'center public key'),
  };
}

function hexKey(v: unknown, bytes: number, what: string): Buffer {
  if (typeof v !== 'string' || v.length !== 2 * bytes || !/^[0-9a-f]*$/.test(v))
    return badKey(`${what} must be ${bytes} bytes of lower-case hex`);
  return Buffer.from(v, 'hex');
}

function hexKeys(v: unknown, count: number, what: string): Buffer[] {
  if (!Array.isArray(v) || v.length !== count) return badKey(`${what} must list ${count} keys`);
  return v.map((x) => hexKey(x, 32, what));
}

/** The `keys` of a blob issued to `holder` under `setup`; BAD_KEY otherwise. */
function openBlob(setup: OpenedSetup, holder: Address, blob: Uint8Array) {
  const b = parseJson(blob, 'a MaaS key blob');
  if (b.format !== KEY_BLOB_FORMAT || b.scheme !== SCHEME)
    badKey(`not a MaaS key blob (${String(b.format)}, scheme ${String(b.scheme)})`);
  if (b.holder !== addressKey(holder))
    badKey(`this key blob was issued to ${String(b.holder)}, not to ${addressKey(holder)}`);
  if (b.setup !== setup.id) badKey('this key blob was issued under another setup');
  const keys = b.keys;
  if (typeof keys !== 'object' || keys === null) return badKey('a key blob without keys');
  return keys as Record<string, unknown>;
}

/** Key material that fails to import (not a point, …) is BAD_KEY too. */
function asBadKey<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (isPrivaggError(e, ErrorCode.BAD_KEY)) throw e;
    throw new PrivaggError(ErrorCode.BAD_KEY, `unusable key in the blob (${String(e)})`);
  }
}

export function deviceKeyOf(
  setup: OpenedSetup,
  holder: Address,
  blob: Uint8Array,
  m: number,
): DeviceKey {
  const k = openBlob(setup, holder, blob);
  return asBadKey(() => ({
    ian: holder.group,
    device: holder.index,
    identity: hexKey(k.identity, 32, 'identity'),
    gatewayMac: hexKeys(k.gatewayMac, m, 'gatewayMac').map((x) => macKey(x)),
    gatewayAead: hexKeys(k.gatewayAead, m, 'gatewayAead').map((x) => aeadKey(x)),
  }));
}

/** Gateway l = holder.index + 1's keys (exported for tests that play a compromised gateway). */
export function gatewayKeyOf(
  setup: OpenedSetup,
  holder: Address,
  blob: Uint8Array,
  n: number,
): GatewayKey {
  const k = openBlob(setup, holder, blob);
  return asBadKey(() => ({
    ian: holder.group,
    gateway: holder.index + 1,
    identity: hexKey(k.identity, 32, 'identity'),
    deviceMac: hexKeys(k.deviceMac, n, 'deviceMac').map((x) => macKey(x)),
    deviceAead: hexKeys(k.deviceAead, n, 'deviceAead').map((x) => aeadKey(x)),
    deviceIdentity: hexKeys(k.deviceIdentity, n, 'deviceIdentity'),
    signingKey: ed25519PrivateKey(hexKey(k.signingKey, 32, 'signingKey')),
  }));
}

/** The center's keys: today's ledger key (public parts from the setup) and its control key. */
export function centerKeysOf(
  setup: OpenedSetup,
  holder: Address,
  blob: Uint8Array,
): { ledger: LedgerKey; control: Ed25519PrivateKey } {
  const k = openBlob(setup, holder, blob);
  const s = setup.json;
  return asBadKey(() => {
    const control = ed25519PrivateKey(hexKey(k.controlKey, 32, 'controlKey'));
    if (!control.publicKey.equals(setup.centerPublicKey))
      badKey("the blob's control key is not the one the public setup names");
    return {
      control,
      ledger: {
        gatewayPublicKey: s.gateways.map((row) =>
          row.map((g) => ed25519PublicKey(hexKey(g.publicKey, 32, 'gateway public key'))),
        ),
        gatewayIdentity: s.gateways.map((row) =>
          row.map((g) => hexKey(g.identity, 32, 'gateway identity')),
        ),
        oems: s.oems.map((o) => ({
          grant: o.grant,
          identity: hexKey(o.identity, 32, 'OEM identity'),
          publicKey: ed25519PublicKey(hexKey(o.publicKey, 32, 'OEM public key')),
        })),
        queryNoiseKey: hexKey(k.queryNoiseKey, 32, 'queryNoiseKey'),
        chainContentKey: hexKey(k.chainContentKey, 32, 'chainContentKey'),
      },
    };
  });
}

/** OEM `holder.index`'s keys (the querier is not a seam role yet; for the step that adds it). */
export function oemKeyOf(setup: OpenedSetup, holder: Address, blob: Uint8Array): OemKey {
  const k = openBlob(setup, holder, blob);
  return asBadKey(() => ({
    oem: holder.index,
    identity: hexKey(k.identity, 32, 'identity'),
    signingKey: ed25519PrivateKey(hexKey(k.signingKey, 32, 'signingKey')),
  }));
}

/**
 * Canonical JSON: keys sorted, no whitespace, bigints as decimal strings, bytes as hex,
 * undefined dropped (like the ledger's canonicalJson, which src/schemes may not import).
 */
export function canonicalJsonOf(value: unknown): string {
  return JSON.stringify(normalise(value));
}

function normalise(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return hex(v);
  if (Array.isArray(v)) return v.map(normalise);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = normalise(x);
    }
    return out;
  }
  return v;
}
