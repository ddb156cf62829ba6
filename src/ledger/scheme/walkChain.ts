import { GENESIS_PREVIOUS } from '../blockCodec.js';
import type { LedgerBlock, LedgerTransaction } from '../service.js';
import type { SqliteBlockStore } from '../sqliteStore.js';
import { blockFault } from './signedBlock.js';

export interface ChainWalk {
  blocks: number;
  transactions: number;
  /** The newest block that checked, if any. */
  last?: LedgerBlock;
  firstBad?: { height: number; reason: string };
}

/**
 * Walks a stored chain from height 0: each block's height, link, Merkle root, header hash
 * and signature (signedBlock.ts), then `visit` on each of its transactions in order, which
 * answers why a transaction is wrong, if it is. Stops at the first bad block.
 *
 * What the chain alone cannot show: blocks removed from its END. A chain cut after block
 * h is a valid chain of h + 1 blocks; only a head kept elsewhere (a signed head, an
 * auditor's earlier count) shows the cut.
 */
export function walkChain(
  store: SqliteBlockStore,
  publicKey: Uint8Array,
  visit: (tx: LedgerTransaction, height: number) => string | undefined,
): ChainWalk {
  const walk: ChainWalk = { blocks: 0, transactions: 0 };
  let previousHash: Buffer = GENESIS_PREVIOUS;
  for (const b of store.all()) {
    const height = walk.blocks;
    const fault = blockFault(b, height, previousHash, publicKey);
    if (fault) return { ...walk, firstBad: { height, reason: fault } };
    for (const [i, tx] of b.transactions.entries()) {
      const why = visit(tx, height);
      if (why) return { ...walk, firstBad: { height, reason: `transaction ${i}: ${why}` } };
    }
    walk.blocks++;
    walk.transactions += b.transactions.length;
    walk.last = b;
    previousHash = b.hash;
  }
  return walk;
}
