import { createHash } from 'node:crypto';
import {
  type Ed25519PrivateKey,
  ed25519KeyPair,
  ed25519PrivateKey,
  ed25519Sign,
  ed25519Verify,
} from '../../../src/crypto/ed25519.js';
import { ErrorCode } from '../../../src/errors.js';
import { admitPartial } from '../../../src/ledger/admission.js';
import {
  emptyChainHead,
  type SignedChainHead,
  signChainHead,
} from '../../../src/ledger/chainHead.js';
import type {
  LedgerBlock,
  LedgerCounters,
  LedgerHealth,
  LedgerService,
  LedgerTransaction,
  RestoreResult,
  VerifyReport,
  WithHead,
} from '../../../src/ledger/service.js';
import { type RandomSource, systemRandom } from '../../../src/math/random.js';
import type { MaasDeployment } from '../../../src/schemes/maas/deployment.js';
import type {
  AddResult,
  MaasLedgerContract,
  RestoreOutcome,
} from '../../../src/schemes/maas/ledgerContract.js';
import type { MaasQueryEngine, QueryResult } from '../../../src/schemes/maas/query.js';

/**
 * A LedgerService held in memory, on the real MaaS core (`deployment.ledger()`), for the
 * HTTP tests and benchmarks while the embedded SQLite ledger is written. Blocks are
 * hash-chained, carry an RFC 6962 Merkle root and an Ed25519 signature, so /v1/blocks and
 * /v1/verify have real data to show. Not a store: nothing survives the process.
 * Simplification: a submission is answered at once (not when its block commits), with the
 * signed head of the chain committed so far.
 */
export interface MemoryLedgerOptions {
  /** The ledger's clock (freshness checks, transaction times). Default Date.now. */
  clock?: () => number;
  /** Transactions per block; a block is also sealed by flush(). Default 16. */
  batchSize?: number;
  rng?: RandomSource;
}

export class MemoryLedger implements LedgerService {
  readonly params: MaasDeployment['params'];
  readonly contract: MaasLedgerContract;
  readonly queries: MaasQueryEngine;
  private readonly clock: () => number;
  private readonly batchSize: number;
  private readonly rng: RandomSource;
  private readonly key: Ed25519PrivateKey;
  private readonly chain: LedgerBlock[] = [];
  private pending: LedgerTransaction[] = [];
  private readonly counts: LedgerCounters = {
    partialsAccepted: 0,
    queriesAnswered: 0,
    rejected: {},
    blocks: 0,
    transactions: 0,
  };
  private readonly recordedRestores = new Set<string>();
  closed = false;

  constructor(deployment: MaasDeployment, opts: MemoryLedgerOptions = {}) {
    ({ contract: this.contract, queries: this.queries } = deployment.ledger());
    this.params = deployment.params;
    this.clock = opts.clock ?? Date.now;
    this.batchSize = opts.batchSize ?? 16;
    this.rng = opts.rng ?? systemRandom;
    this.key = ed25519PrivateKey(ed25519KeyPair().privateKey);
  }

  async addPartial(bytes: Uint8Array): Promise<WithHead<AddResult>> {
    const now = this.clock();
    // The same size-and-header admission as the embedded ledger, before the contract.
    const admitted = admitPartial(bytes, this.params);
    if (!admitted.ok) return this.reject(admitted);
    const res = this.contract.add(bytes, now);
    if (!res.ok) return this.reject(res);
    this.counts.partialsAccepted++;
    this.enqueue({
      kind: 'partial',
      time: now,
      body: Buffer.from(bytes),
      ian: res.ian,
      round: res.round,
      gateway: res.gateway,
    });
    return { ...res, head: this.head() };
  }

  async restore(ian: number, round: number): Promise<RestoreResult> {
    if (ian >= this.params.ians)
      return { ok: false, code: ErrorCode.INVALID_ARGUMENT, reason: `no IAN ${ian}` };
    if (this.contract.finalOutcomeOf(ian, round))
      return { ok: false, code: ErrorCode.WRONG_ROUND, reason: 'already final' };
    const outcome: RestoreOutcome = this.contract.restore(ian, round);
    const body = JSON.stringify(outcome);
    if (!this.recordedRestores.has(body)) {
      this.recordedRestores.add(body);
      this.enqueue({ kind: 'restore', time: this.clock(), body: Buffer.from(body), ian, round });
    }
    return { ok: true, outcome };
  }

  async query(bytes: Uint8Array): Promise<WithHead<QueryResult>> {
    const now = this.clock();
    const res = this.queries.query(bytes, now, this.rng);
    if (!res.ok) return this.reject(res);
    this.counts.queriesAnswered++;
    this.enqueue({ kind: 'query', time: now, body: Buffer.from(bytes) });
    this.enqueue({ kind: 'answer', time: now, body: Buffer.from(JSON.stringify(res.answer)) });
    return { ...res, head: this.head() };
  }

  head(): SignedChainHead {
    const tip = this.chain.at(-1);
    return signChainHead(
      this.key,
      tip
        ? {
            deployment: this.params.deployment,
            height: this.chain.length,
            headHash: tip.hash,
            atMs: tip.time,
          }
        : emptyChainHead(this.params.deployment),
    );
  }

  async flush(): Promise<void> {
    this.commit();
  }

  height(): number {
    return this.chain.length;
  }

  block(height: number): LedgerBlock | undefined {
    return this.chain[height];
  }

  blocks(from: number, limit: number): LedgerBlock[] {
    return this.chain.slice(from, from + limit);
  }

  async verify(): Promise<VerifyReport> {
    const t0 = performance.now();
    let previous: Buffer = Buffer.alloc(32);
    let transactions = 0;
    const report = (firstBad?: { height: number; reason: string }): VerifyReport => ({
      ok: !firstBad,
      blocks: this.chain.length,
      transactions,
      ...(firstBad ? { firstBad } : {}),
      elapsedMs: performance.now() - t0,
    });
    for (const b of this.chain) {
      if (!b.previousHash.equals(previous))
        return report({ height: b.height, reason: 'previous hash' });
      if (!merkleRoot(b.transactions).equals(b.merkleRoot))
        return report({ height: b.height, reason: 'Merkle root' });
      const hash = headerHash(
        b.height,
        b.previousHash,
        b.merkleRoot,
        b.time,
        b.transactions.length,
      );
      if (!hash.equals(b.hash)) return report({ height: b.height, reason: 'hash' });
      if (!ed25519Verify(this.key.publicKey, b.hash, b.signature))
        return report({ height: b.height, reason: 'signature' });
      transactions += b.transactions.length;
      previous = b.hash;
    }
    return report();
  }

  health(): LedgerHealth {
    return {
      ok: !this.closed,
      height: this.chain.length,
      pendingTransactions: this.pending.length,
    };
  }

  counters(): LedgerCounters {
    return { ...this.counts, rejected: { ...this.counts.rejected } };
  }

  async close(): Promise<void> {
    this.commit();
    this.closed = true;
  }

  /** Test hook: changes one byte of a committed transaction, as an attacker with the file could. */
  tamper(height: number): void {
    const tx = this.chain[height]!.transactions[0]!;
    tx.body[0]! ^= 1;
  }

  private enqueue(tx: LedgerTransaction): void {
    this.pending.push(tx);
    if (this.pending.length >= this.batchSize) this.commit();
  }

  private commit(): void {
    if (this.pending.length === 0) return;
    const transactions = this.pending;
    this.pending = [];
    const height = this.chain.length;
    const previousHash = height === 0 ? Buffer.alloc(32) : this.chain[height - 1]!.hash;
    const root = merkleRoot(transactions);
    const time = Math.max(...transactions.map((t) => t.time));
    const hash = headerHash(height, previousHash, root, time, transactions.length);
    this.chain.push({
      height,
      previousHash,
      merkleRoot: root,
      time,
      transactions,
      hash,
      signature: ed25519Sign(this.key, hash),
    });
    this.counts.blocks++;
    this.counts.transactions += transactions.length;
  }

  private reject<T extends { ok: false; code: ErrorCode }>(res: T): T {
    this.counts.rejected[res.code] = (this.counts.rejected[res.code] ?? 0) + 1;
    return res;
  }
}

const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

function encodeTransaction(tx: LedgerTransaction): Buffer {
  const head = JSON.stringify([
    tx.kind,
    tx.time,
    tx.ian ?? null,
    tx.round ?? null,
    tx.gateway ?? null,
  ]);
  return Buffer.concat([Buffer.from(`${head}\n`), tx.body]);
}

/** RFC 6962 §2.1. */
function merkleRoot(txs: readonly LedgerTransaction[]): Buffer {
  const leaves = txs.map((t) => sha256(Buffer.of(0), encodeTransaction(t)));
  const mth = (lo: number, hi: number): Buffer => {
    if (hi - lo === 1) return leaves[lo]!;
    let k = 1;
    while (k * 2 < hi - lo) k *= 2;
    return sha256(Buffer.of(1), mth(lo, lo + k), mth(lo + k, hi));
  };
  return leaves.length === 0 ? sha256() : mth(0, leaves.length);
}

function headerHash(
  height: number,
  previous: Buffer,
  root: Buffer,
  time: number,
  count: number,
): Buffer {
  const fixed = Buffer.alloc(24);
  fixed.writeBigUInt64BE(BigInt(height), 0);
  fixed.writeBigUInt64BE(BigInt(time), 8);
  fixed.writeBigUInt64BE(BigInt(count), 16);
  return sha256(Buffer.from('privagg/memory-block/v1'), fixed, previous, root);
}
