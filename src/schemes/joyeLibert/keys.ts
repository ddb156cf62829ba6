import { ed25519PublicFromPrivate } from '../../crypto/ed25519.js';
import { MAC_KEY_BYTES } from '../../crypto/mac.js';
import { ErrorCode, PrivaggError } from '../../errors.js';
import { type RandomSource, uniformBigint } from '../../math/random.js';
import { decodeKeyBlob, encodeKeyBlob, keyOf } from '../keyBlob.js';
import { type Address, CENTER, deviceAt, type Population, type TrustedSetup } from '../scheme.js';
import { fromBytesBE, minimalBytesBE } from './modArith.js';
import { generateModulus } from './modulus.js';
import { SCHEME_ID } from './params.js';
import { encodePublicSetup } from './publicSetup.js';

/**
 * The TA's step and each role's share of it.
 *
 * - device (g, i): its Joye–Libert key s_i, uniform in [0, N²), and its HMAC key for the
 *   link to the group's aggregator;
 * - aggregator (g, 0): the n link keys of its devices and an Ed25519 signing seed for its
 *   partials — and no s: it multiplies ciphertexts it cannot open;
 * - center: per group, S_g = Σ_i s_i, i.e. −s_0.
 *
 * Where s_0 lives is our one departure from the paper: there the aggregator holds s_0 and
 * decrypts the sum itself. Here the aggregator is a gateway in the field and the center
 * (the ledger) is where sums are meant to surface, so the center holds s_0 and an
 * aggregator alone learns nothing, not even the sum. Together they hold exactly what the
 * paper's aggregator holds, so the paper's security argument (the sum and nothing else)
 * covers the pair.
 *
 * Every blob also carries the deployment id, so a blob of another deployment with the
 * same address is refused (BAD_KEY) instead of producing reports nobody can decrypt.
 * Draws from `rng` come in one fixed order (deployment id, p, q, then per group each
 * device's s_i and link key, then the aggregator's seed): a seed fixes every key.
 */
export interface DeviceKeys {
  readonly s: bigint;
  readonly link: Uint8Array;
}

export interface AggregatorKeys {
  readonly links: readonly Uint8Array[];
  readonly signingSeed: Uint8Array;
}

export interface CenterKeys {
  /** S_g = Σ s_i = −s_0 of each group. */
  readonly sumOfKeys: readonly bigint[];
}

const DEPLOYMENT_ID_BYTES = 16;

function fresh(rng: RandomSource, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  rng.fill(out);
  return out;
}

export function trustedSetup(
  modulusBits: number,
  pop: Population,
  rng: RandomSource,
): TrustedSetup {
  const n = pop.devicesPerGroup;
  const deployment = fresh(rng, DEPLOYMENT_ID_BYTES);
  const modulus = generateModulus(modulusBits, rng);
  const modulusSquared = modulus * modulus;
  const devices: DeviceKeys[][] = [];
  const aggregators: AggregatorKeys[] = [];
  const sums: bigint[] = [];
  for (let g = 0; g < pop.groups; g++) {
    const row: DeviceKeys[] = [];
    for (let i = 0; i < n; i++)
      row.push({ s: uniformBigint(rng, modulusSquared), link: fresh(rng, MAC_KEY_BYTES) });
    devices.push(row);
    aggregators.push({ links: row.map((d) => d.link), signingSeed: fresh(rng, 32) });
    sums.push(row.reduce((acc, d) => acc + d.s, 0n));
  }
  const publicSetup = encodePublicSetup({
    modulusBits,
    modulus,
    deployment: Buffer.from(deployment),
    aggregatorKeys: aggregators.map((a) => ed25519PublicFromPrivate(a.signingSeed)),
  });
  return {
    publicSetup,
    keysOf(who: Address): Uint8Array {
      const inGroup = who.group >= 0 && who.group < pop.groups && Number.isInteger(who.group);
      if (
        who.role === 'device' &&
        inGroup &&
        Number.isInteger(who.index) &&
        who.index >= 0 &&
        who.index < n
      ) {
        const d = devices[who.group]![who.index]!;
        return encodeKeyBlob(SCHEME_ID, who, { deployment, s: minimalBytesBE(d.s), link: d.link });
      }
      if (who.role === 'aggregator' && inGroup && who.index === 0) {
        const a = aggregators[who.group]!;
        const keys: Record<string, Uint8Array> = { deployment, signing: a.signingSeed };
        a.links.forEach((k, i) => {
          keys[`device${i}`] = k;
        });
        return encodeKeyBlob(SCHEME_ID, who, keys);
      }
      if (who.role === 'center') {
        const keys: Record<string, Uint8Array> = { deployment };
        sums.forEach((s, g) => {
          keys[`group${g}`] = minimalBytesBE(s);
        });
        return encodeKeyBlob(SCHEME_ID, who, keys);
      }
      throw new PrivaggError(
        ErrorCode.INVALID_ARGUMENT,
        `${SCHEME_ID} issues no keys for ${who.role}/${who.group}/${who.index}`,
      );
    },
  };
}

/** The blob's secrets if it was issued for `holder` in this deployment; BAD_KEY otherwise. */
function secretsOf(
  holder: Address,
  blob: Uint8Array,
  deployment: Uint8Array,
): Readonly<Record<string, Buffer>> {
  const keys = decodeKeyBlob(SCHEME_ID, holder, blob);
  if (!keyOf(keys, 'deployment').equals(deployment))
    throw new PrivaggError(ErrorCode.BAD_KEY, 'this key blob was issued for another deployment');
  return keys;
}

export function deviceKeysOf(
  g: number,
  i: number,
  blob: Uint8Array,
  deployment: Uint8Array,
): DeviceKeys {
  const keys = secretsOf(deviceAt(g, i), blob, deployment);
  return { s: fromBytesBE(keyOf(keys, 's')), link: keyOf(keys, 'link') };
}

export function aggregatorKeysOf(
  at: Address,
  blob: Uint8Array,
  deployment: Uint8Array,
  devices: number,
): AggregatorKeys {
  const keys = secretsOf(at, blob, deployment);
  const signingSeed = keyOf(keys, 'signing');
  if (signingSeed.length !== 32)
    throw new PrivaggError(ErrorCode.BAD_KEY, 'an Ed25519 seed is 32 bytes');
  return {
    links: Array.from({ length: devices }, (_, i) => keyOf(keys, `device${i}`)),
    signingSeed,
  };
}

export function centerKeysOf(blob: Uint8Array, deployment: Uint8Array, groups: number): CenterKeys {
  const keys = secretsOf(CENTER, blob, deployment);
  return {
    sumOfKeys: Array.from({ length: groups }, (_, g) => fromBytesBE(keyOf(keys, `group${g}`))),
  };
}
