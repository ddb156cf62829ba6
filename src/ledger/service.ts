import type { ErrorCode } from '../errors.js';
import type { AddResult, RestoreOutcome } from '../schemes/maas/ledgerContract.js';
import type { QueryResult } from '../schemes/maas/query.js';

/**
 * What a ledger offers its clients (gateways, OEMs, operators), whatever stores it: the
 * embedded SQLite block store or Hyperledger Fabric. The HTTP API and the runners talk to
 * this interface only. Every method that takes bytes from a network never throws on bad
 * input: it answers { ok: false, code } and leaves the ledger's state unchanged.
 */
export interface LedgerTransaction {
  /**
   * What the transaction records: an accepted partial (raw bytes), a restore outcome, an
   * OEM query (raw bytes) and its answer, or a round's status (complete / degraded /
   * failed, with reasons) as the networked runtime concludes it.
   */
  kind: 'partial' | 'query' | 'answer' | 'restore' | 'round';
  /** Time the ledger accepted it (ms since the epoch), from the ledger's clock. */
  time: number;
  /** The raw message bytes (partial, query) or canonical JSON (answer, restore), base64 in JSON views. */
  body: Buffer;
  /** Indexed coordinates, when the transaction has them. */
  ian?: number;
  round?: number;
  gateway?: number;
}

export interface LedgerBlock {
  height: number;
  /** SHA-256 of the previous block's header; 32 zero bytes for height 0. */
  previousHash: Buffer;
  /** Merkle root (SHA-256, RFC 6962 style) of the transactions. */
  merkleRoot: Buffer;
  time: number;
  transactions: LedgerTransaction[];
  /** SHA-256 of the canonical header (height, previousHash, merkleRoot, time, count). */
  hash: Buffer;
  /** Ed25519 signature of `hash` by the ledger node. */
  signature: Buffer;
}

export interface VerifyReport {
  ok: boolean;
  blocks: number;
  transactions: number;
  /** The first bad block and why (hash, previous hash, Merkle root, signature, replay). */
  firstBad?: { height: number; reason: string };
  elapsedMs: number;
}

export interface LedgerHealth {
  ok: boolean;
  height: number;
  pendingTransactions: number;
  file?: string;
}

export interface LedgerService {
  /** Add (+Verify) a gateway partial; committed in the next block. */
  addPartial(bytes: Uint8Array): Promise<AddResult>;
  /** Restore an IAN-round from the partials stored so far (recorded on the ledger). */
  restore(ian: number, round: number): Promise<RestoreOutcome>;
  /** An OEM query (MAC-authenticated, access-checked, budgeted); the query and its answer are recorded. */
  query(bytes: Uint8Array): Promise<QueryResult>;
  /** Commits pending transactions now (otherwise a batch commits when full or on its timer). */
  flush(): Promise<void>;
  height(): number;
  block(height: number): LedgerBlock | undefined;
  /** Blocks [from, from + limit), in order. */
  blocks(from: number, limit: number): LedgerBlock[];
  verify(): VerifyReport;
  health(): LedgerHealth;
  /** Counters for metrics: accepted and rejected (by code) submissions, blocks, transactions. */
  counters(): LedgerCounters;
  close(): Promise<void>;
}

export interface LedgerCounters {
  partialsAccepted: number;
  queriesAnswered: number;
  rejected: Partial<Record<ErrorCode, number>>;
  blocks: number;
  transactions: number;
}
