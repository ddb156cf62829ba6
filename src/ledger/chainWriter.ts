import { type Ed25519PrivateKey, ed25519Sign } from '../crypto/ed25519.js';
import { ErrorCode, PrivaggError } from '../errors.js';
import { encodeTransaction, GENESIS_PREVIOUS, headerHash } from './blockCodec.js';
import { emptyChainHead, type SignedChainHead, signChainHead } from './chainHead.js';
import { writeHeadFile } from './headFile.js';
import { merkleRoot } from './merkle.js';
import type { LedgerBlock, LedgerTransaction } from './service.js';
import type { SqliteBlockStore } from './sqliteStore.js';

/** Signed heads of recent blocks kept for the waiters of the service (a head is re-signed past that). */
const RECENT_HEADS = 64;

/**
 * The tip of the embedded ledger's chain and the only writer of its blocks: seals a batch
 * of (already sealed) transactions into a hash-chained, Ed25519-signed block, appends it
 * to the store, then writes its signed head to the head file (the ACKNOWLEDGED WRITE of
 * embeddedLedger.ts). Keeps the signed heads of recent blocks for the service's waiters.
 *
 * Opened on a verified chain: it starts at the stored tip and writes the head file at
 * once, so the head names the tip (it may lag by the blocks of a crash between the SQLite
 * commit and the head write: those were never acknowledged, and are kept).
 */
export class ChainWriter {
  private previousHash: Buffer;
  private nextHeight: number;
  private currentHead: SignedChainHead;
  private readonly recentHeads = new Map<number, SignedChainHead>();
  /** Transactions on the chain: those the replay found, plus each appended block's. */
  private transactionCount: number;

  constructor(
    private readonly store: SqliteBlockStore,
    private readonly signer: Ed25519PrivateKey,
    private readonly deployment: string,
    private readonly headFile: string,
    transactions: number,
  ) {
    const last = this.store.last();
    this.nextHeight = last ? last.height + 1 : 0;
    this.previousHash = last ? last.hash : GENESIS_PREVIOUS;
    this.transactionCount = transactions;
    this.currentHead = last ? this.signHead(last) : signChainHead(this.signer, this.emptyHead());
    writeHeadFile(this.headFile, this.currentHead);
  }

  /** Appends the next block, holding `transactions` (as they go to disk), and writes its head. */
  append(transactions: LedgerTransaction[]): LedgerBlock {
    const time = transactions.reduce((t, x) => Math.max(t, x.time), 0);
    const root = merkleRoot(transactions.map(encodeTransaction));
    const hash = headerHash({
      height: this.nextHeight,
      previousHash: this.previousHash,
      merkleRoot: root,
      time,
      count: transactions.length,
    });
    const block: LedgerBlock = {
      height: this.nextHeight,
      previousHash: this.previousHash,
      merkleRoot: root,
      time,
      transactions,
      hash,
      signature: ed25519Sign(this.signer, hash),
    };
    this.store.append(block);
    this.nextHeight++;
    this.previousHash = hash;
    this.transactionCount += transactions.length;
    this.currentHead = this.signHead(block);
    writeHeadFile(this.headFile, this.currentHead);
    this.recentHeads.set(this.currentHead.height, this.currentHead);
    if (this.recentHeads.size > RECENT_HEADS) {
      this.recentHeads.delete(this.recentHeads.keys().next().value as number);
    }
    return block;
  }

  /** The signed head of the chain as committed now. */
  head(): SignedChainHead {
    return this.currentHead;
  }

  /** The signed head as of the first `blocks` blocks (the head of block `blocks − 1`). */
  headAt(blocks: number): SignedChainHead {
    if (blocks === this.currentHead.height) return this.currentHead;
    const recent = this.recentHeads.get(blocks);
    if (recent) return recent;
    if (blocks === 0) return signChainHead(this.signer, this.emptyHead());
    const block = this.store.block(blocks - 1);
    if (!block) throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, `no block ${blocks - 1}`);
    return this.signHead(block);
  }

  /** Blocks on the chain (the height of the next one). */
  get height(): number {
    return this.nextHeight;
  }

  get transactions(): number {
    return this.transactionCount;
  }

  /** Signed heads held for waiters (bounded by RECENT_HEADS). */
  get recentHeadCount(): number {
    return this.recentHeads.size;
  }

  private emptyHead() {
    return emptyChainHead(this.deployment);
  }

  private signHead(block: LedgerBlock): SignedChainHead {
    return signChainHead(this.signer, {
      deployment: this.deployment,
      height: block.height + 1,
      headHash: block.hash,
      atMs: block.time,
    });
  }
}
