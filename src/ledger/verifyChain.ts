import { ed25519Verify } from '../crypto/ed25519.js';
import { macKey } from '../crypto/mac.js';
import { ShamirParams } from '../crypto/shamir.js';
import { type RandomSource, systemRandom } from '../math/random.js';
import type { LedgerKey } from '../schemes/maas/keys.js';
import { MaasLedgerContract } from '../schemes/maas/ledgerContract.js';
import { ReadingCodec } from '../schemes/maas/readingCodec.js';
import { encodeTransaction, GENESIS_PREVIOUS, headerHash } from './blockCodec.js';
import { decodeDeploymentConfig } from './deploymentConfig.js';
import { merkleRoot } from './merkle.js';
import { replayInto } from './replay.js';
import { RoundRetention } from './retention.js';
import type { LedgerTransaction, VerifyReport } from './service.js';
import type { SqliteBlockStore } from './sqliteStore.js';

/**
 * Re-checks a whole chain: heights contiguous from 0, each block's previous hash,
 * Merkle root over its stored transactions, header hash and Ed25519 signature, then the
 * contract replay — every recorded partial must be accepted again and every recorded
 * restore outcome must be recomputed identically. Names the first bad block and why.
 *
 * Without the ledger's secrets (the `privagg ledger verify` command), partial tags are
 * taken as recorded (the signatures vouch for them) and query answers, whose noise needs
 * the ledger's noise key, are checked for presence only. A node opening its own file
 * replays with its keys and recomputes the answers too (`replayInto`).
 *
 * The public key defaults to the one stored in the file, which proves internal
 * consistency only: pass the node's known key to prove who signed.
 *
 * The replay keeps per-round state only inside the ledger's retention window
 * (retention.ts), as the node does, so verifying a long chain takes bounded memory; a
 * recorded partial for a round the window had already left is refused, as the node
 * refuses it live.
 */
export interface VerifyOptions {
  publicKey?: Buffer;
  /** A node rebuilding its state while opening: replays through its own contract and engine. */
  replayInto?: {
    replayTransaction(tx: LedgerTransaction, freshRng: RandomSource): string | undefined;
  };
  freshRng?: RandomSource;
}

export function verifyChain(store: SqliteBlockStore, opts: VerifyOptions = {}): VerifyReport {
  const started = performance.now();
  const publicKey = opts.publicKey ?? store.getMeta('node_public_key');
  let blocks = 0;
  let transactions = 0;
  const done = (firstBad?: { height: number; reason: string }): VerifyReport => ({
    ok: firstBad === undefined,
    blocks,
    transactions,
    ...(firstBad ? { firstBad } : {}),
    elapsedMs: performance.now() - started,
  });
  if (!publicKey)
    return done(
      store.count() === 0 ? undefined : { height: 0, reason: 'no node public key in the file' },
    );

  const freshRng = opts.freshRng ?? systemRandom;
  let replay: (tx: LedgerTransaction) => string | undefined;
  if (opts.replayInto) {
    const node = opts.replayInto;
    replay = (tx) => node.replayTransaction(tx, freshRng);
  } else {
    const configBytes = store.getMeta('deployment');
    if (!configBytes)
      return done(
        store.count() === 0
          ? undefined
          : { height: 0, reason: 'no deployment configuration in the file' },
      );
    const { params } = decodeDeploymentConfig(configBytes);
    const contract = new MaasLedgerContract(
      publicOnlyLedgerKey(params.ians, params.gateways),
      params,
      new ShamirParams(params.threshold, params.gateways, params.field),
      new ReadingCodec(params),
      { trustRecordedTags: true },
    );
    let awaitingAnswer = false;
    const retention = new RoundRetention();
    replay = (tx) => {
      if (tx.kind === 'partial' && !retention.admits(tx.round ?? -1)) {
        return `a partial for round ${tx.round}, which was already concluded (before ${retention.prunedBefore})`;
      }
      if (tx.kind === 'query') {
        if (awaitingAnswer) return 'a query without its answer';
        awaitingAnswer = true;
        return undefined;
      }
      if (tx.kind === 'answer') {
        if (!awaitingAnswer) return 'an answer without its query';
        awaitingAnswer = false;
        return undefined;
      }
      const why = replayInto(contract, undefined, tx, freshRng);
      if (tx.kind === 'restore') retention.afterRestore(contract);
      return why;
    };
  }

  let previousHash: Buffer = GENESIS_PREVIOUS;
  let expected = 0;
  for (const b of store.all()) {
    if (b.height !== expected) {
      return done({
        height: expected,
        reason: `block ${expected} is missing (next stored block is ${b.height})`,
      });
    }
    if (!b.previousHash.equals(previousHash)) {
      return done({
        height: b.height,
        reason: `previous-block hash does not match block ${b.height - 1}`,
      });
    }
    const root = merkleRoot(b.transactions.map(encodeTransaction));
    if (!root.equals(b.merkleRoot)) {
      return done({
        height: b.height,
        reason: 'Merkle root does not match its transactions (edited, removed or reordered)',
      });
    }
    const hash = headerHash({
      height: b.height,
      previousHash: b.previousHash,
      merkleRoot: root,
      time: b.time,
      count: b.transactions.length,
    });
    if (!hash.equals(b.hash))
      return done({ height: b.height, reason: 'block hash does not match its header' });
    if (!ed25519Verify(publicKey, hash, b.signature)) {
      return done({
        height: b.height,
        reason: 'Ed25519 signature does not verify under the node key',
      });
    }
    for (const [i, tx] of b.transactions.entries()) {
      const why = replay(tx);
      if (why) return done({ height: b.height, reason: `transaction ${i}: ${why}` });
    }
    blocks++;
    transactions += b.transactions.length;
    previousHash = b.hash;
    expected++;
  }
  return done();
}

/** A key bundle with no secrets: enough to replay a chain whose tags are trusted. */
function publicOnlyLedgerKey(ians: number, gateways: number): LedgerKey {
  const placeholder = macKey(Buffer.alloc(32));
  return {
    gatewayMac: Array.from({ length: ians }, () =>
      Array.from({ length: gateways }, () => placeholder),
    ),
    gatewayIdentity: Array.from({ length: ians }, () =>
      Array.from({ length: gateways }, () => Buffer.alloc(32)),
    ),
    oems: [],
    queryNoiseKey: Buffer.alloc(32),
  };
}
