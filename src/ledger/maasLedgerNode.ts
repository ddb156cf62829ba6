import { type Ed25519PrivateKey, ed25519PrivateKey } from '../crypto/ed25519.js';
import { ShamirParams } from '../crypto/shamir.js';
import { PrivacyAccountant } from '../dp/accountant.js';
import { ErrorCode, PrivaggError } from '../errors.js';
import { type RandomSource, systemRandom } from '../math/random.js';
import type { LedgerKey } from '../schemes/maas/keys.js';
import type { AddResult, RestoreOutcome } from '../schemes/maas/ledgerContract.js';
import { MaasQueryEngine, type QueryResult } from '../schemes/maas/query.js';
import { ReadingCodec } from '../schemes/maas/readingCodec.js';
import { admitPartial } from './admission.js';
import { canonicalJson } from './canonicalJson.js';
import { ChainCipher } from './chainCipher.js';
import type { SignedChainHead } from './chainHead.js';
import { ChainWriter } from './chainWriter.js';
import type { DeploymentConfig } from './deploymentConfig.js';
import { headFileOf } from './headFile.js';
import { nodeSigningSeed } from './nodeKey.js';
import { claimLedgerFile } from './openChecks.js';
import { noteProblem, PendingNotes } from './operatorNotes.js';
import { RecordedRestores } from './recordedRestores.js';
import { concludeFromStatus, replayInto } from './replay.js';
import { RetainingLedgerContract, restoredFromBodies } from './retention.js';
import {
  hasRoundStatus,
  newestRoundWithStatus,
  type RoundStatusRecord,
  roundStatusTransaction,
} from './roundStatusRecord.js';
import type {
  LedgerBlock,
  LedgerCounters,
  LedgerTransaction,
  NoteResult,
  RestoreResult,
} from './service.js';
import { SqliteBlockStore } from './sqliteStore.js';
import { verifyChain } from './verifyChain.js';

/** How to open a MaasLedgerNode (and the embedded service over one, embeddedLedger.ts). */
export interface EmbeddedLedgerOptions {
  file: string;
  config: DeploymentConfig;
  /**
   * The ledger's keys from the TA: the gateways' and OEMs' public keys, the query-noise key
   * and the chain's content key (partials and restores are sealed under it, chainCipher.ts).
   */
  ledgerKey: LedgerKey;
  /**
   * 32-byte Ed25519 seed of this node: blocks and chain heads are signed with it. A
   * deployment passes the ledger credential bundle's `keys.signingKey` (the TA issues it,
   * and every bundle carries its public half). Default: `<file>.key`, created on first open
   * (tests and stand-alone files).
   */
  signingKey?: Uint8Array;
  /** The same as `signingKey` (its older name); give one of the two. */
  nodeKey?: Uint8Array;
  /** Where the signed head is kept; default `<file>.head`. */
  headFile?: string;
  /**
   * Open a non-empty chain that has no head file, and start one from its tip. Only for a
   * file written before heads existed: otherwise a missing head is refused, since deleting
   * the head file would hide a rollback.
   */
  adoptChainWithoutHead?: boolean;
  batchSize?: number;
  batchDelayMs?: number;
  clock?: () => number;
  /** Randomness for the paper's fresh query noise (unused in the default derived mode). */
  freshRng?: RandomSource;
}

export const DEFAULT_BATCH_SIZE = 256;

/**
 * The embedded ledger node: the MaaS contract (Add/Verify/Restore) and query engine
 * (Query/DpUtils) in front of the chain (chainWriter.ts). Every accepted submission and
 * every restore and query answer becomes a transaction, queued until the batch is full or
 * `commit()` is called; partials and restore outcomes go to disk sealed under the chain's
 * content key (chainCipher.ts). Opening a file checks it (openChecks.ts) and replays it
 * into a fresh contract and query engine. embeddedLedger.ts has the whole story: batching,
 * what an acknowledged write is, restart and memory. This synchronous API acknowledges
 * nothing: its callers decide when to commit.
 */
export class MaasLedgerNode {
  readonly store: SqliteBlockStore;
  readonly contract: RetainingLedgerContract;
  readonly queries: MaasQueryEngine;
  readonly publicKey: Buffer;
  readonly headFile: string;
  private readonly signer: Ed25519PrivateKey;
  /** Seals partials and restores on their way to disk and opens them on the way back. */
  private readonly cipher: ChainCipher;
  /** The chain's content key, for the off-thread verifier (it replays the sealed contents). */
  readonly contentKey: Buffer;
  private pending: LedgerTransaction[] = [];
  private readonly batchSize: number;
  /** Appends blocks and keeps the signed heads; set once the replay has verified the chain. */
  private readonly chain: ChainWriter;
  /** The reconciliation requests recorded per IAN-round not yet final: a repeat is not recorded again. */
  private readonly recordedRestores = new RecordedRestores();
  /** Operator notes waiting for the next round status. */
  private readonly notes = new PendingNotes();
  /** The counters of LedgerCounters that are not the chain's (blocks and transactions are). */
  private readonly counts: Pick<
    LedgerCounters,
    'partialsAccepted' | 'queriesAnswered' | 'rejected'
  > = {
    partialsAccepted: 0,
    queriesAnswered: 0,
    rejected: {},
  };

  constructor(readonly options: EmbeddedLedgerOptions) {
    this.batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!(this.batchSize >= 1))
      throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, 'batchSize must be ≥ 1');
    this.store = new SqliteBlockStore(options.file);
    this.signer = ed25519PrivateKey(nodeSigningSeed(options));
    this.publicKey = this.signer.publicKey;
    this.headFile = options.headFile ?? headFileOf(options.file);
    claimLedgerFile(this.store, {
      file: options.file,
      headFile: this.headFile,
      publicKey: this.publicKey,
      config: options.config,
      adoptChainWithoutHead: options.adoptChainWithoutHead,
    });

    const { params } = options.config;
    const shamir = new ShamirParams(params.threshold, params.gateways, params.field);
    const codec = new ReadingCodec(params);
    const contentKey = options.ledgerKey.chainContentKey;
    if (!contentKey)
      throw new PrivaggError(
        ErrorCode.BAD_KEY,
        "the ledger's key bundle has no chain content key: issue the credentials again",
      );
    this.contentKey = contentKey;
    this.cipher = new ChainCipher(contentKey);
    this.contract = new RetainingLedgerContract(options.ledgerKey, params, shamir, codec);
    this.contract.archive = (ian, round) => this.archivedRestore(ian, round);
    this.queries = new MaasQueryEngine(
      this.contract,
      options.ledgerKey,
      params,
      new PrivacyAccountant(),
    );

    // Replay the chain to rebuild state; a chain that does not verify is not appended to.
    const report = verifyChain(this.store, {
      publicKey: this.publicKey,
      contentKey,
      replayInto: this,
      freshRng: options.freshRng ?? systemRandom,
    });
    if (!report.ok) {
      throw new PrivaggError(
        ErrorCode.MALFORMED_DATA,
        `ledger file ${options.file} does not verify at block ${report.firstBad?.height}: ${report.firstBad?.reason}`,
      );
    }
    // Writes the head file: it now names the tip.
    this.chain = new ChainWriter(
      this.store,
      this.signer,
      params.deployment,
      this.headFile,
      report.transactions,
    );
  }

  /** Add + Verify a gateway partial; accepted ones are queued for the next block. */
  add(bytes: Uint8Array, nowMs: number): AddResult {
    // Size and header first: a crafted partial costs a 24-byte read, not a decode.
    const admitted = admitPartial(bytes, this.options.config.params);
    if (!admitted.ok) return this.reject(admitted);
    if (!this.contract.retention.admits(admitted.header.round)) {
      return this.reject({
        ok: false,
        code: ErrorCode.WRONG_ROUND,
        reason: `round ${admitted.header.round} is concluded (rounds before ${this.contract.retention.prunedBefore} are no longer open)`,
      });
    }
    const res = this.contract.add(bytes, nowMs);
    if (!res.ok) return this.reject(res);
    this.counts.partialsAccepted++;
    this.enqueue({
      kind: 'partial',
      time: nowMs,
      body: Buffer.from(bytes),
      ian: res.ian,
      round: res.round,
      gateway: res.gateway,
    });
    return res;
  }

  /**
   * Restore, recorded with its outcome (so a verifier can replay and compare). A final
   * outcome is recorded once (the contract returns it again unchanged); a repeated
   * reconciliation request identical to the last one recorded is not recorded again. A
   * round older than the retention window is not restored (its state is gone): it is
   * reported failed and nothing is recorded.
   */
  restore(ian: number, round: number, nowMs: number): RestoreOutcome {
    if (!this.contract.retention.admits(round)) {
      return { status: 'failed', ian, round, reason: 'round older than the retained window' };
    }
    const wasFinal = this.contract.finalOutcomeOf(ian, round) !== undefined;
    const outcome = this.contract.restore(ian, round);
    if (wasFinal) return outcome;
    const body = canonicalJson(outcome);
    if (this.recordedRestores.repeats(ian, round, outcome.status, body)) return outcome;
    this.recordedRestores.recorded(ian, round, outcome.status, body);
    this.enqueue({ kind: 'restore', time: nowMs, body: Buffer.from(body), ian, round });
    this.afterRestore();
    return outcome;
  }

  /**
   * What a request to restore (IAN, round) from outside (the operator's POST /v1/restore)
   * must pass: an IAN of the deployment, a round still in the retention window, and no
   * final outcome yet — neither the contract's nor a round status the driver recorded. So
   * no request can fail a round that already has its status, or add a block by repeating.
   */
  restorable(ian: number, round: number): RestoreResult | undefined {
    const { params } = this.options.config;
    if (!Number.isInteger(ian) || ian < 0 || ian >= params.ians) {
      return {
        ok: false,
        code: ErrorCode.INVALID_ARGUMENT,
        reason: `no IAN ${ian} (this deployment has ${params.ians})`,
      };
    }
    if (!this.contract.retention.admits(round)) {
      return {
        ok: false,
        code: ErrorCode.WRONG_ROUND,
        reason: `round ${round} is concluded and no longer held (rounds before ${this.contract.retention.prunedBefore})`,
      };
    }
    if (
      this.contract.finalOutcomeOf(ian, round) ||
      hasRoundStatus(this.store, this.pending, ian, round)
    ) {
      return {
        ok: false,
        code: ErrorCode.WRONG_ROUND,
        reason: `IAN ${ian} round ${round} already has a final outcome`,
      };
    }
    return undefined;
  }

  /** An OEM query; the query bytes and the answer are recorded together. */
  query(bytes: Uint8Array, nowMs: number, rng: RandomSource): QueryResult {
    const res = this.queries.query(bytes, nowMs, rng);
    if (!res.ok) return this.reject(res);
    this.counts.queriesAnswered++;
    this.enqueue({ kind: 'query', time: nowMs, body: Buffer.from(bytes) });
    this.enqueue({ kind: 'answer', time: nowMs, body: Buffer.from(canonicalJson(res.answer)) });
    return res;
  }

  /**
   * Queues an operator's note for the next round status (checked again here: the HTTP
   * layer checks it first, but the node takes no text it would not print).
   */
  addNote(note: string): NoteResult {
    const problem = noteProblem(note);
    if (problem) return this.reject({ ok: false, ...problem });
    this.notes.add(note);
    return { ok: true, pending: this.notes.size };
  }

  /**
   * Records a round's status for one IAN (the networked runtime's verdict). The operator
   * notes pending now go with it, once: they are set on `outcome` itself (appended to any
   * it has), so the record its caller announces is the one on the chain.
   */
  recordRound(outcome: RoundStatusRecord, nowMs: number): void {
    this.enqueue(roundStatusTransaction(outcome, this.notes.take(), nowMs));
    concludeFromStatus(this.contract, outcome);
  }

  /**
   * The round a (re)started round driver resumes at: the one after the newest round with
   * a recorded status, 0 for a new chain. An index lookup, not a walk over the chain.
   */
  nextRoundToDrive(): number {
    return newestRoundWithStatus(this.store, this.pending) + 1;
  }

  /**
   * Seals the pending transactions into a signed block, writes it atomically, then writes
   * its signed head to the head file (see ACKNOWLEDGED WRITE in embeddedLedger.ts).
   */
  commit(): LedgerBlock | undefined {
    if (this.pending.length === 0) return undefined;
    // Noise-free values go to disk sealed (chainCipher.ts); the block commits to those bytes.
    const transactions = this.pending.map((t) => this.cipher.seal(t));
    this.pending = [];
    return this.chain.append(transactions);
  }

  /** The signed head of the chain as committed now. */
  head(): SignedChainHead {
    return this.chain.head();
  }

  /** The signed head as of the first `blocks` blocks (the head of block `blocks − 1`). */
  headAt(blocks: number): SignedChainHead {
    return this.chain.headAt(blocks);
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  get height(): number {
    return this.chain.height;
  }

  counters(): LedgerCounters {
    return {
      ...this.counts,
      rejected: { ...this.counts.rejected },
      blocks: this.chain.height,
      transactions: this.chain.transactions,
      notes: {
        accepted: this.notes.accepted,
        dropped: this.notes.dropped,
        pending: this.notes.size,
      },
    };
  }

  /** Entries of per-round state held in memory (what must stay flat over weeks). */
  retained(): Record<string, number> {
    return {
      ...this.contract.retained(),
      ...this.queries.retained(),
      recordedReconciles: this.recordedRestores.size,
      pendingTransactions: this.pending.length,
      recentHeads: this.chain.recentHeadCount,
      pendingNotes: this.notes.size,
      prunedBefore: this.contract.retention.prunedBefore,
    };
  }

  close(): void {
    this.commit();
    this.store.close();
  }

  /** Replay hook used by verifyChain while opening: rebuilds state without re-recording. */
  replayTransaction(tx: LedgerTransaction, freshRng: RandomSource): string | undefined {
    if (tx.kind === 'partial' && !this.contract.retention.admits(tx.round ?? -1)) {
      return `a partial for round ${tx.round}, which was already concluded (before ${this.contract.retention.prunedBefore})`;
    }
    const why = replayInto(this.contract, this.queries, tx, freshRng, this.replayState);
    if (tx.kind === 'restore') {
      const out = JSON.parse(tx.body.toString('utf8')) as RestoreOutcome;
      this.recordedRestores.recorded(tx.ian, tx.round, out.status, tx.body.toString('utf8'));
      this.afterRestore();
    }
    return why;
  }

  private readonly replayState: { answer?: string } = {};

  private afterRestore(): void {
    if (!this.contract.retention.afterRestore(this.contract, this.queries)) return;
    this.recordedRestores.forgetBefore(this.contract.retention.prunedBefore);
  }

  /** A pruned round's restored outcome: from the pending batch, else from the store. */
  private archivedRestore(ian: number, round: number) {
    const pending = this.pending
      .filter((t) => t.kind === 'restore' && t.ian === ian && t.round === round)
      .map((t) => t.body);
    const stored = this.store
      .transactionsOf(ian, round)
      .filter((t) => t.kind === 'restore')
      .map((t) => this.cipher.open(t).body);
    return restoredFromBodies([...stored, ...pending]);
  }

  private enqueue(tx: LedgerTransaction): void {
    this.pending.push(tx);
    if (this.pending.length >= this.batchSize) this.commit();
  }

  private reject<T extends { ok: false; code: ErrorCode }>(res: T): T {
    this.counts.rejected[res.code] = (this.counts.rejected[res.code] ?? 0) + 1;
    return res;
  }
}
