import { systemRandom } from '../math/random.js';
import type { LedgerKey } from '../schemes/maas/keys.js';
import { groupCommit } from './groupCommit.js';
import { type EmbeddedLedgerOptions, MaasLedgerNode } from './maasLedgerNode.js';
import type { LedgerHealth, LedgerService, VerifyReport } from './service.js';
import type { SenderKeys } from './verifyChain.js';
import { verifyInWorker } from './verifyOffThread.js';

// The node, its options and its records, re-exported: this file is the embedded ledger's entry.
export {
  DEFAULT_BATCH_SIZE,
  type EmbeddedLedgerOptions,
  MaasLedgerNode,
} from './maasLedgerNode.js';
export type { RoundStatusRecord } from './roundStatusRecord.js';

export const DEFAULT_BATCH_DELAY_MS = 2;

/** The public keys the ledger checks partials and queries with, for its own full verify. */
function sendersOf(key: LedgerKey): SenderKeys {
  return {
    gatewayPublicKey: key.gatewayPublicKey.map((row) => row.map((k) => k.raw)),
    oemPublicKey: key.oems.map((o) => o.publicKey.raw),
  };
}

/** The embedded service: a LedgerService over a node, with timed group commit. */
export type EmbeddedLedger = LedgerService & { node: MaasLedgerNode };

/**
 * The async LedgerService over a node, with timed group commit: the embedded ledger.
 *
 * The embedded ledger node: the MaaS contract (Add/Verify/Restore) and query engine
 * (Query/DpUtils) in front of an append-only, hash-chained, Ed25519-signed SQLite block
 * store. Every accepted submission and every restore and query answer becomes a
 * transaction; transactions are batched into blocks (group commit). Partials and restore
 * outcomes go to disk sealed under the chain's content key (chainCipher.ts).
 *
 * Where it lives: the node (maasLedgerNode.ts: submissions, replay on open, counters)
 * over the chain's writer (chainWriter.ts: blocks and signed heads); the checks made on
 * opening a file (openChecks.ts) and the node's key (nodeKey.ts); round status records
 * (roundStatus.ts) and recorded restores (recordedRestores.ts); timed group commit
 * (groupCommit.ts); and here, the async LedgerService over a node.
 *
 * Batching: a block is sealed when `batchSize` transactions are pending, when `flush()`
 * is called, or — for the async service — `batchDelayMs` after the first pending one.
 * A submission's promise resolves once its block is on disk, so the batch size trades
 * throughput (one fsync per block) against at most `batchDelayMs` of added latency.
 *
 * ACKNOWLEDGED WRITE. A submission (partial, query, restore) is acknowledged when the
 * service's promise for it resolves — for the HTTP API, when its 2xx response is sent. By
 * then: (1) the block holding it is committed to SQLite in one transaction (WAL,
 * synchronous=FULL: the WAL is fsynced), and (2) the signed head of that block (or of a
 * later one) is in `<file>.head`, written to a temporary file, fsynced, renamed over the
 * old head and the directory fsynced. The response carries that signed head. So an
 * acknowledged write survives a crash of the process or of the machine (given disks that
 * honour fsync); and if the file later loses it — restored from a copy without its WAL, a
 * torn WAL, deleted blocks, another chain put in its place — the ledger refuses to start
 * (ROLLBACK_DETECTED), because the chain is shorter than its head or holds another block
 * at the head's height. What this does not catch by itself: the SQLite file and its head
 * file rolled back together to an older, consistent pair. That is what the heads kept by
 * gateways, OEMs and auditors are for: `privagg ledger verify <file> --head <theirs>`.
 * The synchronous MaasLedgerNode API (add, restore, query, commit) acknowledges nothing:
 * its callers decide when to commit.
 *
 * Restart: opening an existing file first compares it with its head file, then replays
 * its transactions, in order and at their recorded times, into a fresh contract and query
 * engine, so state is exactly what it was. Rejected submissions never reach the chain, so
 * they cannot change the state.
 *
 * Memory: per-round state is dropped once RETAIN_ROUNDS newer rounds are final
 * (retention.ts); queries read older rounds' outcomes from the store.
 */
export function openEmbeddedLedger(options: EmbeddedLedgerOptions): EmbeddedLedger {
  const node = new MaasLedgerNode(options);
  const clock = options.clock ?? Date.now;
  const delay = options.batchDelayMs ?? DEFAULT_BATCH_DELAY_MS;
  const freshRng = options.freshRng ?? systemRandom;
  const { durable, flushNow } = groupCommit(node, delay);
  let verifying: Promise<VerifyReport> | undefined;
  let closed = false;
  return {
    node,
    params: options.config.params,
    async addPartial(bytes) {
      const at = node.height;
      const res = node.add(bytes, clock());
      if (!res.ok) return res;
      return { ...res, head: await durable(at) };
    },
    async restore(ian, round) {
      const refused = node.restorable(ian, round);
      if (refused) return refused;
      const at = node.height;
      const before = node.pendingCount;
      const outcome = node.restore(ian, round, clock());
      // Nothing recorded (a repeated reconciliation request): nothing to wait for.
      if (node.pendingCount !== before || node.height !== at) await durable(at);
      return { ok: true, outcome };
    },
    async query(bytes) {
      const at = node.height;
      const res = node.query(bytes, clock(), freshRng);
      if (!res.ok) return res;
      return { ...res, head: await durable(at) };
    },
    note: (text) => node.addNote(text),
    async flush() {
      flushNow();
    },
    height: () => node.height,
    head: () => node.head(),
    block: (h) => node.store.block(h),
    blocks: (from, limit) => node.store.range(from, limit),
    verify(): Promise<VerifyReport> {
      // One at a time: a call while one runs gets the running one's report.
      if (!verifying) {
        flushNow();
        verifying = verifyInWorker(
          options.file,
          node.publicKey,
          node.contentKey,
          sendersOf(options.ledgerKey),
        ).finally(() => {
          verifying = undefined;
        });
      }
      return verifying;
    },
    health: (): LedgerHealth => ({
      ok: !closed,
      height: node.height,
      pendingTransactions: node.pendingCount,
    }),
    counters: () => ({ ...node.counters(), retained: node.retained() }),
    async close() {
      if (closed) return;
      closed = true;
      flushNow();
      await verifying?.catch(() => undefined);
      node.close();
    },
  };
}
