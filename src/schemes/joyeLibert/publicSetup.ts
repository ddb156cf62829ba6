import { z } from 'zod';
import { ErrorCode, PrivaggError } from '../../errors.js';
import { bitLength } from './modArith.js';
import { SCHEME_ID } from './params.js';

/**
 * What every role and an auditor may hold: the modulus N, the deployment id that
 * domain-separates the hash H, and each group's aggregator's Ed25519 public key (so anyone
 * replaying the chain can check who signed a partial). Canonical JSON — fields in this
 * order, integers in lower-case hex without padding, keys in hex — is easy for an auditor
 * to read and has one encoding per setup.
 */
export interface JoyeLibertPublicSetup {
  readonly modulusBits: number;
  readonly modulus: bigint;
  readonly deployment: Buffer;
  /** Raw 32-byte Ed25519 public key of aggregatorAt(g, 0), by group g. */
  readonly aggregatorKeys: readonly Buffer[];
}

const VERSION = 1;
const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${2 * bytes}}$`));

const schema = z
  .object({
    scheme: z.literal(SCHEME_ID),
    version: z.literal(VERSION),
    modulusBits: z.number().int(),
    modulus: z.string().regex(/^[1-9a-f][0-9a-f]*$/),
    deployment: hex(16),
    aggregatorKeys: z.array(hex(32)),
  })
  .strict();

export function encodePublicSetup(s: JoyeLibertPublicSetup): Buffer {
  return Buffer.from(
    JSON.stringify({
      scheme: SCHEME_ID,
      version: VERSION,
      modulusBits: s.modulusBits,
      modulus: s.modulus.toString(16),
      deployment: s.deployment.toString('hex'),
      aggregatorKeys: s.aggregatorKeys.map((k) => k.toString('hex')),
    }),
    'utf8',
  );
}

/**
 * The setup of a deployment of `modulusBits` and `groups` groups; BAD_KEY for bytes that are
 * not one (another scheme's, another size's, or damaged): roles built on a wrong N would
 * send messages nobody can decrypt.
 */
export function decodePublicSetup(
  bytes: Uint8Array,
  modulusBits: number,
  groups: number,
): JoyeLibertPublicSetup {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new PrivaggError(ErrorCode.BAD_KEY, 'a joye-libert public setup is JSON');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success)
    throw new PrivaggError(
      ErrorCode.BAD_KEY,
      `not a joye-libert public setup: ${parsed.error.message}`,
    );
  const p = parsed.data;
  const modulus = BigInt(`0x${p.modulus}`);
  if (p.modulusBits !== modulusBits || bitLength(modulus) !== modulusBits || (modulus & 1n) === 0n)
    throw new PrivaggError(
      ErrorCode.BAD_KEY,
      `the public setup's modulus has ${bitLength(modulus)} bits; this deployment uses ${modulusBits}`,
    );
  if (p.aggregatorKeys.length !== groups)
    throw new PrivaggError(
      ErrorCode.BAD_KEY,
      `the public setup has ${p.aggregatorKeys.length} aggregator keys for ${groups} group(s)`,
    );
  return {
    modulusBits,
    modulus,
    deployment: Buffer.from(p.deployment, 'hex'),
    aggregatorKeys: p.aggregatorKeys.map((k) => Buffer.from(k, 'hex')),
  };
}
