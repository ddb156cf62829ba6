import type { SignedChainHead } from './chainHead.js';

/** What timed group commit needs of a ledger node (MaasLedgerNode). */
export interface GroupCommitted {
  /** Blocks committed so far. */
  readonly height: number;
  /** Seals the pending transactions into a block, if there are any. */
  commit(): unknown;
  /** The signed head as of the first `blocks` blocks. */
  headAt(blocks: number): SignedChainHead;
}

export interface GroupCommit {
  /**
   * Resolves, with the signed head of that block, once the block at index `at` (where a
   * transaction queued while the height was `at` lands) is committed and its head written.
   * The first waiter starts a timer: the pending batch is committed `delayMs` later at the
   * latest.
   */
  durable(at: number): Promise<SignedChainHead>;
  /** Commits the pending batch now and resolves every waiter whose block it completes. */
  flushNow(): void;
}

/**
 * Timed group commit for the async service (embeddedLedger.ts): submissions wait for the
 * block that holds them; a block is sealed when the node's batch is full, on flush, or
 * `delayMs` after the first waiter.
 */
export function groupCommit(node: GroupCommitted, delayMs: number): GroupCommit {
  /** Waiters by the index of the block their transaction lands in. */
  let waiters = new Map<number, ((head: SignedChainHead) => void)[]>();
  let timer: NodeJS.Timeout | undefined;
  const settle = () => {
    if (waiters.size === 0) return;
    const committed = node.height;
    const still = new Map<number, ((head: SignedChainHead) => void)[]>();
    for (const [at, list] of waiters) {
      if (at >= committed) {
        still.set(at, list);
        continue;
      }
      // The head as of the block that holds the transaction.
      const head = node.headAt(at + 1);
      for (const w of list) w(head);
    }
    waiters = still;
  };
  const flushNow = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    node.commit();
    settle();
  };
  const durable = (at: number): Promise<SignedChainHead> => {
    settle(); // a full batch may have committed synchronously
    if (node.height > at) return Promise.resolve(node.headAt(at + 1));
    const p = new Promise<SignedChainHead>((resolve) => {
      const list = waiters.get(at) ?? [];
      list.push(resolve);
      waiters.set(at, list);
    });
    timer ??= setTimeout(flushNow, delayMs);
    return p;
  };
  return { durable, flushNow };
}
