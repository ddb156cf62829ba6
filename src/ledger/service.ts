import type { ErrorCode } from '../errors.js';
import type { AddResult, RestoreOutcome } from '../schemes/maas/ledgerContract.js';
import type { MaasParams } from '../schemes/maas/params.js';
import type { QueryResult } from '../schemes/maas/query.js';
import type { SignedChainHead } from './chainHead.js';

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
   * failed, with reasons) as the networked runtime concludes it. The generic scheme
   * ledger (scheme/) records what any scheme's center accepted ('inbound') and what it
   * recovered ('recovery'), both sealed.
   */
  kind: 'partial' | 'query' | 'answer' | 'restore' | 'round' | 'inbound' | 'recovery';
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
  /** False when the sealed partials and restores could not be opened and replayed (no key). */
  contentsChecked?: boolean;
  /** True when every partial's and query's signature was checked with the senders' keys. */
  signaturesChecked?: boolean;
  /** With the senders' keys: each gateway a restore named as a liar, and its signed partial. */
  liars?: LiarRecord[];
  elapsedMs: number;
}

/**
 * A liar named by a restore, with the partial it signed: the block that holds it and the
 * signature (hex), which anyone with the gateway's public key checks against the partial's
 * bytes in that block.
 */
export interface LiarRecord {
  ian: number;
  round: number;
  gateway: number;
  attempt: number;
  /** Height of the block holding the signed partial; the restore naming it is at `namedAt`. */
  partialHeight: number;
  namedAt: number;
  signature: string;
}

/** Liveness only: no paths, keys or configuration (any authenticated role may read it). */
export interface LedgerHealth {
  ok: boolean;
  height: number;
  pendingTransactions: number;
}

/** An accepted submission's answer carries the signed head of the block that holds it. */
export type WithHead<R> = R extends { ok: true } ? R & { head: SignedChainHead } : R;

/** An operator's restore: the outcome, or a refusal with a code (nothing recorded). */
export type RestoreResult =
  | { ok: true; outcome: RestoreOutcome }
  | { ok: false; code: ErrorCode; reason: string };

/**
 * An operator's note (operatorNotes.ts): queued for the next round status, or refused with
 * a code (nothing queued). `pending` counts the notes now waiting, this one included.
 */
export type NoteResult =
  | { ok: true; pending: number }
  | { ok: false; code: ErrorCode; reason: string };

export interface LedgerService {
  /** The deployment's parameters (message sizes, IANs, roster) the API bounds requests with. */
  readonly params: MaasParams;
  /**
   * Add (+Verify) a gateway partial. Resolves once it is acknowledged: in a committed
   * block whose signed head is written (embeddedLedger.ts says exactly what that means).
   */
  addPartial(bytes: Uint8Array): Promise<WithHead<AddResult>>;
  /**
   * Restore an IAN-round from the partials stored so far (recorded on the ledger), on an
   * operator's request: refused (INVALID_ARGUMENT, WRONG_ROUND) for an IAN the deployment
   * does not have, a round that already has a final outcome or a round no longer held.
   */
  restore(ian: number, round: number): Promise<RestoreResult>;
  /** An OEM query (MAC-authenticated, access-checked, budgeted); the query and its answer are recorded. */
  query(bytes: Uint8Array): Promise<WithHead<QueryResult>>;
  /**
   * An operator's note, recorded with the next round status this ledger writes (not at
   * once: it is pending until then). Optional: a ledger that records no round statuses
   * has none, and POST /v1/notes answers 404 there.
   */
  note?(text: string): NoteResult;
  /** Commits pending transactions now (otherwise a batch commits when full or on its timer). */
  flush(): Promise<void>;
  height(): number;
  /** The signed head of the committed chain. */
  head(): SignedChainHead;
  block(height: number): LedgerBlock | undefined;
  /** Blocks [from, from + limit), in order. */
  blocks(from: number, limit: number): LedgerBlock[];
  /** Re-verifies the whole chain, off the event loop; concurrent calls share one run. */
  verify(): Promise<VerifyReport>;
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
  /** Operator notes taken, and dropped unrecorded because too many were pending (if notes are kept). */
  notes?: { accepted: number; dropped: number; pending: number };
  /** Entries of per-round state held in memory, by structure (flat over time; see retention.ts). */
  retained?: Record<string, number>;
}
