import { type MacKey, macTag } from '../../crypto/mac.js';

/**
 * Pairwise masks that cancel in a sum, as secure aggregation and DDPFT use them: device i
 * adds Σ_{j ≠ i} ±PRF(k_ij, round, dimension) mod 2^64, + when i < j, − when i > j, so
 * the masks of a group's devices sum to zero and one aggregator sees only noise-like words.
 * When devices are missing, each device that reported can send the masks it shares with
 * the missing ones, and the center takes them out.
 */
export const MASK_MODULUS = 1n << 64n;

export function pairMask(key: MacKey, round: number, dimension: number): bigint {
  const label = Buffer.alloc(10);
  label.write('mask', 0, 'ascii');
  label.writeUInt32BE(round, 4);
  label.writeUInt16BE(dimension, 8);
  return macTag(key, label).readBigUInt64BE(0);
}

/** Σ over `others` of the signed masks device `self` shares with them, per dimension. */
export function maskSum(
  self: number,
  others: Iterable<number>,
  keyWith: (other: number) => MacKey,
  round: number,
  dimensions: number,
): bigint[] {
  const out = new Array<bigint>(dimensions).fill(0n);
  for (const j of others) {
    if (j === self) continue;
    const k = keyWith(j);
    for (let d = 0; d < dimensions; d++) {
      const m = pairMask(k, round, d);
      out[d] = (out[d]! + (self < j ? m : MASK_MODULUS - m)) % MASK_MODULUS;
    }
  }
  return out;
}

/** The TA's name for the key of the unordered pair {i, j}. */
export function pairName(i: number, j: number): string {
  return i < j ? `pair${i}_${j}` : `pair${j}_${i}`;
}
