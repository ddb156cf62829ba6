import { createHash } from 'node:crypto';
import { lengthPrefixed, utf8 } from '../crypto/bytes.js';
import type { LedgerTransaction } from './service.js';

/**
 * The exact bytes a block commits to. A transaction is encoded as
 * lengthPrefixed(kind, time, ian, round, gateway, body) with numbers as decimal text
 * ('' when absent); the header hash is
 * SHA-256("privagg/block/v1" ‖ height ‖ previousHash ‖ merkleRoot ‖ time ‖ count).
 */
export const GENESIS_PREVIOUS = Buffer.alloc(32);

export function encodeTransaction(tx: LedgerTransaction): Buffer {
  const n = (x: number | undefined) => utf8(x === undefined ? '' : String(x));
  return lengthPrefixed(utf8(tx.kind), n(tx.time), n(tx.ian), n(tx.round), n(tx.gateway), tx.body);
}

export function headerHash(h: {
  height: number;
  previousHash: Uint8Array;
  merkleRoot: Uint8Array;
  time: number;
  count: number;
}): Buffer {
  const fixed = Buffer.alloc(8 + 8 + 4);
  fixed.writeBigUInt64BE(BigInt(h.height), 0);
  fixed.writeBigUInt64BE(BigInt(h.time), 8);
  fixed.writeUInt32BE(h.count, 16);
  return createHash('sha256')
    .update('privagg/block/v1')
    .update(fixed.subarray(0, 8))
    .update(h.previousHash)
    .update(h.merkleRoot)
    .update(fixed.subarray(8))
    .digest();
}
