import { type Ed25519PrivateKey, ed25519Sign, ed25519Verify } from '../../crypto/ed25519.js';
import { encodeTransaction, headerHash } from '../blockCodec.js';
import { merkleRoot } from '../merkle.js';
import type { LedgerBlock, LedgerTransaction } from '../service.js';

/**
 * A block of the scheme ledger, built and signed the way the embedded ledger builds its
 * own (blockCodec.ts, merkle.ts): its time is its newest transaction's, its Merkle root is
 * over the stored (sealed) transactions, and the header hash is signed with Ed25519.
 */
export function signedBlock(
  height: number,
  previousHash: Buffer,
  transactions: LedgerTransaction[],
  signer: Ed25519PrivateKey,
): LedgerBlock {
  const time = transactions.reduce((t, x) => Math.max(t, x.time), 0);
  const root = merkleRoot(transactions.map(encodeTransaction));
  const count = transactions.length;
  const hash = headerHash({ height, previousHash, merkleRoot: root, time, count });
  const signature = ed25519Sign(signer, hash);
  return { height, previousHash, merkleRoot: root, time, transactions, hash, signature };
}

/** Why a stored block is not the one that belongs at `height` after `previousHash`, if it is not. */
export function blockFault(
  b: LedgerBlock,
  height: number,
  previousHash: Buffer,
  publicKey: Uint8Array,
): string | undefined {
  if (b.height !== height) return `block ${height} is missing (next stored block is ${b.height})`;
  if (!b.previousHash.equals(previousHash))
    return `previous-block hash does not match block ${height - 1}`;
  const root = merkleRoot(b.transactions.map(encodeTransaction));
  if (!root.equals(b.merkleRoot))
    return 'Merkle root does not match its transactions (edited, removed or reordered)';
  const count = b.transactions.length;
  if (!headerHash({ height, previousHash, merkleRoot: root, time: b.time, count }).equals(b.hash))
    return 'block hash does not match its header';
  if (!ed25519Verify(publicKey, b.hash, b.signature))
    return 'Ed25519 signature does not verify under the ledger key';
  return undefined;
}
