import { createHash, hash } from 'node:crypto';
import { constantTimeEqual, lengthPrefixed, utf8 } from '../../../crypto/bytes.js';
import { ensure } from '../../../errors.js';
import type { PrimeField } from '../../../math/field.js';

/**
 * Where the FLP's randomness comes from, fixed only after the device is committed
 * (docs/VALIDITY.md, "Randomness"). Pure functions of bytes; nothing here draws randomness.
 *
 * - Joint randomness (an input of the prover, so the device must know it) is Fiat–Shamir
 *   over the measurement shares, with one *part* per gateway as in Prio3:
 *   jointPart_l = SHA-256(tag ‖ context ‖ l ‖ blind_l ‖ bytes(x_l)), and
 *   jointSeed = SHA-256(tag ‖ config ‖ context ‖ jointPart_1 ‖ … ‖ jointPart_m).
 *   The blind (32 secret bytes, sent only to gateway l) keeps the part from revealing x_l:
 *   without it, k − 1 colluding gateways could test a guessed reading against part_l.
 * - Query randomness (which the prover must not know when it commits to π) is Fiat–Shamir
 *   over the proof shares as well: proofPart_l = SHA-256(tag ‖ context ‖ l ‖ blind_l ‖
 *   bytes(π_l)), querySeed = SHA-256(tag ‖ config ‖ context ‖ jointSeed ‖ proofPart_1 ‖ … ‖
 *   proofPart_m ‖ beacon), with an optional per-round beacon the ledger publishes after the
 *   round closed (empty when not used).
 * - Each gateway checks only its own two parts against the shares it holds, derives both
 *   seeds from the public parts, and hands querySeed to the ledger with its verifier
 *   share; the ledger requires every gateway it uses to report the same querySeed (which
 *   binds jointSeed, all parts, and the beacon). Absent gateways need not take part.
 * - Seeds expand to field elements with SHAKE256 and rejection sampling (no modulo bias).
 */

/** SHA-256 of one buffer: node:crypto's one-shot `hash`, ~2× faster than a Hash object here. */
function sha256(data: Uint8Array): Buffer {
  return hash('sha256', data, 'buffer');
}

export const BLIND_BYTES = 32;
export const PART_BYTES = 32;
export const SEED_BYTES = 32;

const TAG = 'privagg/maas-validity/v1/';
const JOINT_PART = utf8(`${TAG}joint-part`);
const PROOF_PART = utf8(`${TAG}proof-part`);
const JOINT_SEED = utf8(`${TAG}joint-seed`);
const QUERY_SEED = utf8(`${TAG}query-seed`);
const XOF = utf8(`${TAG}xof`);
const CONTEXT = utf8(`${TAG}context`);

/** What a report's randomness is bound to: the deployment, IAN, device and round. */
export interface ValidityContextFields {
  readonly deployment: string;
  readonly ian: number;
  readonly device: number;
  readonly round: number;
}

/** Canonical bytes of a report's context (length-prefixed, so fields never run together). */
export function validityContext(fields: ValidityContextFields): Buffer {
  const { deployment, ian, device, round } = fields;
  for (const [name, v] of Object.entries({ ian, device, round })) {
    ensure(Number.isSafeInteger(v) && v >= 0 && v <= 0xffffffff, `${name} must be a u32`, {
      [name]: v,
    });
  }
  const nums = Buffer.alloc(12);
  nums.writeUInt32BE(ian, 0);
  nums.writeUInt32BE(device, 4);
  nums.writeUInt32BE(round, 8);
  return lengthPrefixed(CONTEXT, utf8(deployment), nums);
}

function gatewayBytes(gateway: number): Buffer {
  ensure(
    Number.isSafeInteger(gateway) && gateway >= 1 && gateway <= 0xffff,
    'gateway must be 1..65535',
    {
      gateway,
    },
  );
  const b = Buffer.alloc(2);
  b.writeUInt16BE(gateway);
  return b;
}

function checkBytes(b: Uint8Array, length: number, what: string): void {
  ensure(b instanceof Uint8Array && b.length === length, `${what} must be ${length} bytes`, {
    given: b instanceof Uint8Array ? b.length : typeof b,
  });
}

/** Gateway l's part of the joint randomness, over its measurement share's bytes. */
export function jointRandPart(
  context: Uint8Array,
  gateway: number,
  blind: Uint8Array,
  measurementShare: Uint8Array,
): Buffer {
  checkBytes(blind, BLIND_BYTES, 'blind');
  return sha256(
    lengthPrefixed(JOINT_PART, context, gatewayBytes(gateway), blind, measurementShare),
  );
}

/** Gateway l's part of the query randomness, over its proof share's bytes. */
export function proofPart(
  context: Uint8Array,
  gateway: number,
  blind: Uint8Array,
  proofShare: Uint8Array,
): Buffer {
  checkBytes(blind, BLIND_BYTES, 'blind');
  return sha256(lengthPrefixed(PROOF_PART, context, gatewayBytes(gateway), blind, proofShare));
}

function checkParts(parts: readonly Uint8Array[]): void {
  ensure(parts.length >= 1 && parts.length <= 255, 'between 1 and 255 parts', {
    parts: parts.length,
  });
  for (const p of parts) checkBytes(p, PART_BYTES, 'part');
}

/** The joint-randomness seed from all m gateways' parts (in gateway order 1..m). */
export function jointRandSeed(
  config: Uint8Array,
  context: Uint8Array,
  jointParts: readonly Uint8Array[],
): Buffer {
  checkParts(jointParts);
  return sha256(lengthPrefixed(JOINT_SEED, config, context, ...jointParts));
}

/** The query-randomness seed: bound to the joint seed, every proof part and the beacon. */
export function queryRandSeed(
  config: Uint8Array,
  context: Uint8Array,
  jointSeed: Uint8Array,
  proofParts: readonly Uint8Array[],
  beacon: Uint8Array = new Uint8Array(0),
): Buffer {
  checkBytes(jointSeed, SEED_BYTES, 'joint seed');
  checkParts(proofParts);
  ensure(beacon.length <= 64, 'beacon must be at most 64 bytes', { given: beacon.length });
  return sha256(lengthPrefixed(QUERY_SEED, config, context, jointSeed, ...proofParts, beacon));
}

/** Constant-time comparison of a claimed part with the recomputed one. */
export function partMatches(claimed: Uint8Array, recomputed: Uint8Array): boolean {
  return constantTimeEqual(claimed, recomputed);
}

/**
 * `count` uniform field elements ≥ `min` from SHAKE256(tag ‖ label ‖ block ‖ seed): each
 * candidate is ⌈bits/8⌉ big-endian bytes masked to the bit length of p and rejected if
 * ≥ p or < min (for 2^61 − 1 a rejection has probability ~2^-61). Deterministic.
 */
export function expandFieldElements(
  field: PrimeField,
  seed: Uint8Array,
  label: string,
  count: number,
  min = 0n,
): bigint[] {
  ensure(Number.isSafeInteger(count) && count >= 0, 'count must be ≥ 0', { count });
  ensure(min >= 0n && min < field.p / 2n, 'min must be in [0, p/2)', { min: String(min) });
  const width = Math.ceil(field.bits / 8);
  const mask = (1n << BigInt(field.bits)) - 1n;
  const p = field.p;
  const out: bigint[] = [];
  const labelBytes = utf8(label);
  for (let block = 0; out.length < count; block++) {
    const want = (count - out.length) * width + 2 * width;
    const blockBytes = Buffer.alloc(4);
    blockBytes.writeUInt32BE(block);
    const bytes = createHash('shake256', { outputLength: want })
      .update(lengthPrefixed(XOF, labelBytes, blockBytes, seed))
      .digest();
    for (let at = 0; at + width <= bytes.length && out.length < count; at += width) {
      let v: bigint;
      if (width === 8) {
        v = bytes.readBigUInt64BE(at);
      } else {
        v = 0n;
        for (let b = 0; b < width; b++) v = (v << 8n) | BigInt(bytes[at + b]!);
      }
      v &= mask;
      if (v < p && v >= min) out.push(v);
    }
  }
  return out;
}
