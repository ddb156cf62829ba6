import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import {
  type Ed25519PrivateKey,
  ed25519KeyPair,
  ed25519PrivateKey,
  ed25519Sign,
} from '../crypto/ed25519.js';
import { ShamirParams } from '../crypto/shamir.js';
import { PrivacyAccountant } from '../dp/accountant.js';
import { ErrorCode, PrivaggError } from '../errors.js';
import { type RandomSource, systemRandom } from '../math/random.js';
import type { LedgerKey } from '../schemes/maas/keys.js';
import {
  type AddResult,
  MaasLedgerContract,
  type RestoreOutcome,
} from '../schemes/maas/ledgerContract.js';
import { MaasQueryEngine, type QueryResult } from '../schemes/maas/query.js';
import { ReadingCodec } from '../schemes/maas/readingCodec.js';
import { encodeTransaction, GENESIS_PREVIOUS, headerHash } from './blockCodec.js';
import { canonicalJson } from './canonicalJson.js';
import {
  type DeploymentConfig,
  decodeDeploymentConfig,
  encodeDeploymentConfig,
} from './deploymentConfig.js';
import { merkleRoot } from './merkle.js';
import { replayInto } from './replay.js';
import type {
  LedgerBlock,
  LedgerCounters,
  LedgerHealth,
  LedgerService,
  LedgerTransaction,
  VerifyReport,
} from './service.js';
import { SqliteBlockStore } from './sqliteStore.js';
import { verifyChain } from './verifyChain.js';

/**
 * The embedded ledger node: the MaaS contract (Add/Verify/Restore) and query engine
 * (Query/DpUtils) in front of an append-only, hash-chained, Ed25519-signed SQLite block
 * store. Every accepted submission and every restore and query answer becomes a
 * transaction; transactions are batched into blocks (group commit).
 *
 * Batching: a block is sealed when `batchSize` transactions are pending, when `flush()`
 * is called, or — for the async service — `batchDelayMs` after the first pending one.
 * A submission's promise resolves once its block is on disk, so the batch size trades
 * throughput (one fsync per block) against at most `batchDelayMs` of added latency.
 *
 * Restart: opening an existing file replays its transactions, in order and at their
 * recorded times, into a fresh contract and query engine, so state (stored partials,
 * restored rounds, spent budgets, answered queries) is exactly what it was. Rejected
 * submissions never reach the chain, so they cannot change the state.
 */
export interface EmbeddedLedgerOptions {
  file: string;
  config: DeploymentConfig;
  /** The ledger's key bundle from the TA (MAC keys of gateways and OEMs, query-noise key). */
  ledgerKey: LedgerKey;
  /** 32-byte Ed25519 seed of this node; default: `<file>.key`, created on first open. */
  nodeKey?: Uint8Array;
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
}

export const DEFAULT_BATCH_SIZE = 256;
export const DEFAULT_BATCH_DELAY_MS = 2;

export class MaasLedgerNode {
  readonly store: SqliteBlockStore;
  readonly contract: MaasLedgerContract;
  readonly queries: MaasQueryEngine;
  readonly publicKey: Buffer;
  private readonly signer: Ed25519PrivateKey;
  private pending: LedgerTransaction[] = [];
  private readonly batchSize: number;
  private previousHash: Buffer;
  private nextHeight: number;
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
    this.signer = ed25519PrivateKey(options.nodeKey ?? loadOrCreateNodeKey(`${options.file}.key`));
    this.publicKey = this.signer.publicKey;
    const storedKey = this.store.getMeta('node_public_key');
    if (storedKey && !storedKey.equals(this.publicKey)) {
      throw new PrivaggError(
        ErrorCode.BAD_KEY,
        'this node key is not the one that signed the ledger file',
      );
    }
    if (!storedKey) this.store.setMeta('node_public_key', this.publicKey);
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
    if (!storedConfig) this.store.setMeta('deployment', configBytes);

    const { params, oems } = options.config;
    const shamir = new ShamirParams(params.threshold, params.gateways, params.field);
    const codec = new ReadingCodec(params);
    void oems;
    this.contract = new MaasLedgerContract(options.ledgerKey, params, shamir, codec);
    this.queries = new MaasQueryEngine(
      this.contract,
      options.ledgerKey,
      params,
      new PrivacyAccountant(),
    );

    // Replay the chain to rebuild state; a chain that does not verify is not appended to.
    const report = verifyChain(this.store, {
      publicKey: this.publicKey,
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
  }

  /** Add + Verify a gateway partial; accepted ones are queued for the next block. */
  add(bytes: Uint8Array, nowMs: number): AddResult {
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

  /** Restore, recorded with its outcome (so a verifier can replay and compare). */
  restore(ian: number, round: number, nowMs: number): RestoreOutcome {
    const outcome = this.contract.restore(ian, round);
    this.enqueue({
      kind: 'restore',
      time: nowMs,
      body: Buffer.from(canonicalJson(outcome)),
      ian,
      round,
    });
    return outcome;
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

  /** Records a round's status for one IAN (the networked runtime's verdict). */
  recordRound(outcome: RoundStatusRecord, nowMs: number): void {
    this.enqueue({
      kind: 'round',
      time: nowMs,
      body: Buffer.from(canonicalJson(outcome)),
      ian: outcome.ian,
      round: outcome.round,
    });
  }

  /** Seals the pending transactions into a signed block and writes it atomically. */
  commit(): LedgerBlock | undefined {
    if (this.pending.length === 0) return undefined;
    const transactions = this.pending;
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
    return block;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  get height(): number {
    return this.nextHeight;
  }

  counters(): LedgerCounters {
    return { ...this.counts, rejected: { ...this.counts.rejected } };
  }

  close(): void {
    this.commit();
    this.store.close();
  }

  /** Replay hook used by verifyChain while opening: rebuilds state without re-recording. */
  replayTransaction(tx: LedgerTransaction, freshRng: RandomSource): string | undefined {
    return replayInto(this.contract, this.queries, tx, freshRng, this.replayState);
  }

  private readonly replayState: { answer?: string } = {};

  private enqueue(tx: LedgerTransaction): void {
    this.pending.push(tx);
    if (this.pending.length >= this.batchSize) this.commit();
  }

  private reject<T extends { ok: false; code: ErrorCode }>(res: T): T {
    this.counts.rejected[res.code] = (this.counts.rejected[res.code] ?? 0) + 1;
    return res;
  }
}

function loadOrCreateNodeKey(path: string): Buffer {
  if (existsSync(path)) {
    const hex = readFileSync(path, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/.test(hex))
      throw new PrivaggError(ErrorCode.BAD_KEY, `${path} is not a 32-byte hex key`);
    return Buffer.from(hex, 'hex');
  }
  const seed = ed25519KeyPair().privateKey;
  writeFileSync(path, `${seed.toString('hex')}\n`, { mode: 0o600 });
  return seed;
}

/** The async LedgerService over a node, with timed group commit. */
export function openEmbeddedLedger(
  options: EmbeddedLedgerOptions,
): LedgerService & { node: MaasLedgerNode } {
  const node = new MaasLedgerNode(options);
  const clock = options.clock ?? Date.now;
  const delay = options.batchDelayMs ?? DEFAULT_BATCH_DELAY_MS;
  const freshRng = options.freshRng ?? systemRandom;
  let waiters: (() => void)[] = [];
  let timer: NodeJS.Timeout | undefined;
  let committedHeight = node.height;
  const settle = () => {
    if (node.height !== committedHeight) {
      committedHeight = node.height;
      const done = waiters;
      waiters = [];
      for (const w of done) w();
    }
  };
  const flushNow = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    node.commit();
    settle();
  };
  /** Resolves once everything pending now is in a committed block. */
  const durable = (): Promise<void> => {
    settle(); // a full batch may have committed synchronously
    if (node.pendingCount === 0) return Promise.resolve();
    const p = new Promise<void>((resolve) => waiters.push(resolve));
    timer ??= setTimeout(flushNow, delay);
    return p;
  };
  return {
    node,
    async addPartial(bytes) {
      const res = node.add(bytes, clock());
      if (res.ok) await durable();
      return res;
    },
    async restore(ian, round) {
      const out = node.restore(ian, round, clock());
      await durable();
      return out;
    },
    async query(bytes) {
      const res = node.query(bytes, clock(), freshRng);
      if (res.ok) await durable();
      return res;
    },
    async flush() {
      flushNow();
    },
    height: () => node.height,
    block: (h) => node.store.block(h),
    blocks: (from, limit) => node.store.range(from, limit),
    verify: (): VerifyReport => {
      flushNow();
      return verifyChain(node.store, { publicKey: node.publicKey });
    },
    health: (): LedgerHealth => ({
      ok: true,
      height: node.height,
      pendingTransactions: node.pendingCount,
      file: options.file,
    }),
    counters: () => node.counters(),
    async close() {
      flushNow();
      node.close();
    },
  };
}
