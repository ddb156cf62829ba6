import { existsSync, writeFileSync } from 'node:fs';
import {
  type Ed25519PrivateKey,
  ed25519KeyPair,
  ed25519PrivateKey,
  ed25519Sign,
} from '../crypto/ed25519.js';
import { readPrivateFile } from '../crypto/privateFile.js';
import { ShamirParams } from '../crypto/shamir.js';
import { PrivacyAccountant } from '../dp/accountant.js';
import { ErrorCode, PrivaggError } from '../errors.js';
import { type RandomSource, systemRandom } from '../math/random.js';
import type { LedgerKey } from '../schemes/maas/keys.js';
import type { AddResult, RestoreOutcome } from '../schemes/maas/ledgerContract.js';
import { MaasQueryEngine, type QueryResult } from '../schemes/maas/query.js';
import { ReadingCodec } from '../schemes/maas/readingCodec.js';
import { admitPartial } from './admission.js';
import { encodeTransaction, GENESIS_PREVIOUS, headerHash } from './blockCodec.js';
import { canonicalJson } from './canonicalJson.js';
import { ChainCipher } from './chainCipher.js';
import { emptyChainHead, type SignedChainHead, signChainHead } from './chainHead.js';
import {
  type DeploymentConfig,
  decodeDeploymentConfig,
  encodeDeploymentConfig,
} from './deploymentConfig.js';
import { checkChainAgainstHead, headFileOf, readHeadFile, writeHeadFile } from './headFile.js';
import { merkleRoot } from './merkle.js';
import { noteProblem, PendingNotes } from './operatorNotes.js';
import { concludeFromStatus, replayInto } from './replay.js';
import { RetainingLedgerContract, restoredFromBodies } from './retention.js';
import type {
  LedgerBlock,
  LedgerCounters,
  LedgerHealth,
  LedgerService,
  LedgerTransaction,
  NoteResult,
  RestoreResult,
  VerifyReport,
} from './service.js';
import { SqliteBlockStore } from './sqliteStore.js';
import { type SenderKeys, verifyChain } from './verifyChain.js';
import { verifyInWorker } from './verifyOffThread.js';

/**
 * The embedded ledger node: the MaaS contract (Add/Verify/Restore) and query engine
 * (Query/DpUtils) in front of an append-only, hash-chained, Ed25519-signed SQLite block
 * store. Every accepted submission and every restore and query answer becomes a
 * transaction; transactions are batched into blocks (group commit). Partials and restore
 * outcomes go to disk sealed under the chain's content key (chainCipher.ts).
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

export interface RoundStatusRecord {
  ian: number;
  round: number;
  status: 'complete' | 'degraded' | 'failed';
  reasons: string[];
  /**
   * Operator notes received since the previous status was recorded (operatorNotes.ts), e.g.
   * a role process `privagg up` restarted; absent when there were none (so a status without
   * notes has the same bytes as before notes existed). Not part of the round's verdict.
   */
  notes?: string[];
}

export const DEFAULT_BATCH_SIZE = 256;
export const DEFAULT_BATCH_DELAY_MS = 2;
/** Signed heads of recent blocks kept for the waiters of the service (a head is re-signed past that). */
const RECENT_HEADS = 64;

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
  private previousHash: Buffer;
  private nextHeight: number;
  private currentHead: SignedChainHead;
  private readonly recentHeads = new Map<number, SignedChainHead>();
  /** The last restore outcome recorded per IAN-round not yet final: a repeat is not recorded again. */
  private readonly lastRecordedRestore = new Map<string, string>();
  /** Operator notes waiting for the next round status. */
  private readonly notes = new PendingNotes();
  private readonly counts: LedgerCounters = {
    partialsAccepted: 0,
    queriesAnswered: 0,
    rejected: {},
    blocks: 0,
    transactions: 0,
  };

  constructor(readonly options: EmbeddedLedgerOptions) {
    this.batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!(this.batchSize >= 1))
      throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, 'batchSize must be ≥ 1');
    this.store = new SqliteBlockStore(options.file);
    if (
      options.signingKey &&
      options.nodeKey &&
      !Buffer.from(options.signingKey).equals(Buffer.from(options.nodeKey))
    ) {
      throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, 'signingKey and nodeKey differ');
    }
    const seed =
      options.signingKey ?? options.nodeKey ?? loadOrCreateNodeKey(`${options.file}.key`);
    this.signer = ed25519PrivateKey(seed);
    this.publicKey = this.signer.publicKey;
    this.headFile = options.headFile ?? headFileOf(options.file);
    const storedKey = this.store.getMeta('node_public_key');
    if (storedKey && !storedKey.equals(this.publicKey)) {
      throw new PrivaggError(
        ErrorCode.BAD_KEY,
        'this node key is not the one that signed the ledger file',
      );
    }
    const configBytes = encodeDeploymentConfig(options.config);
    const storedConfig = this.store.getMeta('deployment');
    if (storedConfig && !storedConfig.equals(configBytes)) {
      // Reading it back validates it; a different deployment must not append to this chain.
      decodeDeploymentConfig(storedConfig);
      throw new PrivaggError(
        ErrorCode.INVALID_ARGUMENT,
        'the ledger file belongs to another deployment configuration',
      );
    }
    // Before anything is written or replayed: does the file still hold everything it
    // acknowledged? (A file copied without its WAL may not even hold its tables yet.)
    this.checkHead();
    if (!storedKey) this.store.setMeta('node_public_key', this.publicKey);
    if (!storedConfig) this.store.setMeta('deployment', configBytes);

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
    const last = this.store.last();
    this.nextHeight = last ? last.height + 1 : 0;
    this.previousHash = last ? last.hash : GENESIS_PREVIOUS;
    this.counts.blocks = this.nextHeight;
    this.counts.transactions = report.transactions;
    // The head file now names the tip (it may lag by the blocks of a crash between the
    // SQLite commit and the head write: those were never acknowledged, and are kept).
    this.currentHead = last ? this.signHead(last) : signChainHead(this.signer, this.emptyHead());
    writeHeadFile(this.headFile, this.currentHead);
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
    const key = `${ian}/${round}`;
    const body = canonicalJson(outcome);
    if (outcome.status === 'reconcile' && this.lastRecordedRestore.get(key) === body) {
      return outcome;
    }
    if (outcome.status === 'reconcile') this.lastRecordedRestore.set(key, body);
    else this.lastRecordedRestore.delete(key);
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
    if (this.contract.finalOutcomeOf(ian, round) || this.hasRoundStatus(ian, round)) {
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
    const notes = this.notes.take();
    if (notes.length > 0) outcome.notes = [...(outcome.notes ?? []), ...notes];
    const body = Buffer.from(canonicalJson(outcome));
    this.enqueue({ kind: 'round', time: nowMs, body, ian: outcome.ian, round: outcome.round });
    concludeFromStatus(this.contract, outcome);
  }

  /**
   * The round a (re)started round driver resumes at: the one after the newest round with
   * a recorded status, 0 for a new chain. An index lookup, not a walk over the chain.
   */
  nextRoundToDrive(): number {
    let newest = this.store.newestRoundOf('round');
    for (const t of this.pending) if (t.kind === 'round') newest = Math.max(newest, t.round ?? -1);
    return newest + 1;
  }

  /**
   * Seals the pending transactions into a signed block, writes it atomically, then writes
   * its signed head to the head file (see ACKNOWLEDGED WRITE above).
   */
  commit(): LedgerBlock | undefined {
    if (this.pending.length === 0) return undefined;
    // Noise-free values go to disk sealed (chainCipher.ts); the block commits to those bytes.
    const transactions = this.pending.map((t) => this.cipher.seal(t));
    this.pending = [];
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
    this.counts.blocks++;
    this.counts.transactions += transactions.length;
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

  get pendingCount(): number {
    return this.pending.length;
  }

  get height(): number {
    return this.nextHeight;
  }

  counters(): LedgerCounters {
    return {
      ...this.counts,
      rejected: { ...this.counts.rejected },
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
      recordedReconciles: this.lastRecordedRestore.size,
      pendingTransactions: this.pending.length,
      recentHeads: this.recentHeads.size,
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
      const key = `${tx.ian}/${tx.round}`;
      if (out.status === 'reconcile') this.lastRecordedRestore.set(key, tx.body.toString('utf8'));
      else this.lastRecordedRestore.delete(key);
      this.afterRestore();
    }
    return why;
  }

  private readonly replayState: { answer?: string } = {};

  private afterRestore(): void {
    if (!this.contract.retention.afterRestore(this.contract, this.queries)) return;
    const horizon = this.contract.retention.prunedBefore;
    for (const key of this.lastRecordedRestore.keys()) {
      if (Number(key.slice(key.indexOf('/') + 1)) < horizon) this.lastRecordedRestore.delete(key);
    }
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

  private hasRoundStatus(ian: number, round: number): boolean {
    return (
      this.pending.some((t) => t.kind === 'round' && t.ian === ian && t.round === round) ||
      this.store.has(ian, round, 'round')
    );
  }

  private emptyHead() {
    return emptyChainHead(this.options.config.params.deployment);
  }

  private signHead(block: LedgerBlock): SignedChainHead {
    return signChainHead(this.signer, {
      deployment: this.options.config.params.deployment,
      height: block.height + 1,
      headHash: block.hash,
      atMs: block.time,
    });
  }

  /** Refuses to run on a file that lost or rewrote what its head file says was acknowledged. */
  private checkHead(): void {
    const head = readHeadFile(this.headFile);
    const file = this.options.file;
    if (!head) {
      if (this.store.count() > 0 && !this.options.adoptChainWithoutHead) {
        throw new PrivaggError(
          ErrorCode.ROLLBACK_DETECTED,
          `ledger file ${file} holds ${this.store.count()} block(s) but its signed head ${this.headFile} is missing: ` +
            'without it a rollback cannot be ruled out. Put the head file back, or check the chain against a head ' +
            'a gateway, OEM or auditor kept (privagg ledger verify --head) and adopt it explicitly.',
        );
      }
      return;
    }
    const check = checkChainAgainstHead(this.store, head, {
      publicKey: this.publicKey,
      deployment: this.options.config.params.deployment,
    });
    if (!check.ok) {
      throw new PrivaggError(
        ErrorCode.ROLLBACK_DETECTED,
        `ledger file ${file} does not hold what it acknowledged (${check.problem}): ${check.message}. Refusing to run.`,
      );
    }
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

/** The public keys the ledger checks partials and queries with, for its own full verify. */
function sendersOf(key: LedgerKey): SenderKeys {
  return {
    gatewayPublicKey: key.gatewayPublicKey.map((row) => row.map((k) => k.raw)),
    oemPublicKey: key.oems.map((o) => o.publicKey.raw),
  };
}

function loadOrCreateNodeKey(path: string): Buffer {
  if (existsSync(path)) {
    // With the check master.key gets: a node key others may read signs blocks for them.
    const hex = readPrivateFile(path, {
      what: 'ledger node key',
      howToGet: 'the ledger creates it on first open',
      exposure: 'may read it and sign blocks as this ledger',
      ifLeaked: 'start a new chain with a new key',
    }).trim();
    if (!/^[0-9a-f]{64}$/.test(hex))
      throw new PrivaggError(ErrorCode.BAD_KEY, `${path} is not a 32-byte hex key`);
    return Buffer.from(hex, 'hex');
  }
  const seed = ed25519KeyPair().privateKey;
  writeFileSync(path, `${seed.toString('hex')}\n`, { mode: 0o600 });
  return seed;
}

/** The embedded service: a LedgerService over a node, with timed group commit. */
export type EmbeddedLedger = LedgerService & { node: MaasLedgerNode };

/** The async LedgerService over a node, with timed group commit. */
export function openEmbeddedLedger(options: EmbeddedLedgerOptions): EmbeddedLedger {
  const node = new MaasLedgerNode(options);
  const clock = options.clock ?? Date.now;
  const delay = options.batchDelayMs ?? DEFAULT_BATCH_DELAY_MS;
  const freshRng = options.freshRng ?? systemRandom;
  /** Waiters by the index of the block their transaction lands in. */
  let waiters = new Map<number, ((head: SignedChainHead) => void)[]>();
  let timer: NodeJS.Timeout | undefined;
  let verifying: Promise<VerifyReport> | undefined;
  let closed = false;
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
  /**
   * Resolves, with the signed head of that block, once the block at index `at` (where a
   * transaction queued while the height was `at` lands) is committed and its head written.
   */
  const durable = (at: number): Promise<SignedChainHead> => {
    settle(); // a full batch may have committed synchronously
    if (node.height > at) return Promise.resolve(node.headAt(at + 1));
    const p = new Promise<SignedChainHead>((resolve) => {
      const list = waiters.get(at) ?? [];
      list.push(resolve);
      waiters.set(at, list);
    });
    timer ??= setTimeout(flushNow, delay);
    return p;
  };
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
