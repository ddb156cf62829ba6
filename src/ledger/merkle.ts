import { createHash } from 'node:crypto';

/**
 * Merkle tree hash of RFC 6962 §2.1 (Certificate Transparency): leaves are
 * SHA-256(0x00 ‖ data), inner nodes SHA-256(0x01 ‖ left ‖ right), and a list of n > 1
 * leaves splits at the largest power of two below n. The domain bytes keep a leaf from
 * passing for an inner node; the split makes the root depend on the order.
 */
export function merkleRoot(leaves: readonly Uint8Array[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  return mth(leaves.map(leafHash), 0, leaves.length);
}

export function leafHash(data: Uint8Array): Buffer {
  return createHash('sha256').update(Buffer.of(0)).update(data).digest();
}

function mth(hashes: readonly Buffer[], lo: number, hi: number): Buffer {
  const n = hi - lo;
  if (n === 1) return hashes[lo]!;
  let k = 1;
  while (k * 2 < n) k *= 2;
  return createHash('sha256')
    .update(Buffer.of(1))
    .update(mth(hashes, lo, lo + k))
    .update(mth(hashes, lo + k, hi))
    .digest();
}
