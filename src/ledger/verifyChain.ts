import { sha256 } from '../crypto/bytes.js';
import { ed25519PublicFromPrivate, ed25519PublicKey, ed25519Verify } from '../crypto/ed25519.js';
import { ShamirParams } from '../crypto/shamir.js';
import { type RandomSource, systemRandom } from '../math/random.js';
import type { LedgerKey } from '../schemes/maas/keys.js';
import { MaasLedgerContract } from '../schemes/maas/ledgerContract.js';
import { ReadingCodec } from '../schemes/maas/readingCodec.js';
import { evidenceTagBytes } from '../schemes/maas/tags.js';
import {
  AnsweredQueries,
  checkQuerySignature,
  checkSenderShape,
  LiarEvidence,
  senderLedgerKey,
} from './auditChecks.js';
import { encodeTransaction, GENESIS_PREVIOUS, headerHash } from './blockCodec.js';
import { ChainCipher } from './chainCipher.js';
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
 * Partials and restore outcomes are sealed under the chain's content key (chainCipher.ts):
 * without it, structure, block signatures and the query/answer pairing are checked, and
 * the report says `contentsChecked: false`. With it (the auditor's bundle), they are
 * opened and replayed; query answers, whose noise needs the ledger's noise key, are
 * checked for presence only. Given also the senders' public keys (`senders`), every
 * partial's and every query's Ed25519 signature is checked, so a chain the ledger made up
 * fails; and every gateway a restore names as a liar is listed with the block holding its
 * signed partial: evidence anyone with the public keys can check once shown the partial.
 * Without them, partials are taken as recorded (the block signatures vouch for them). A
 * node opening its own file replays with its keys and recomputes the answers too
 * (`replayInto`).
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
  /**
   * The chain's content key (the ledger's or the auditor's): sealed partials and restores
   * are opened and replayed. Without it only structure, block signatures and (with
   * `senders`) query signatures are checked, and the report says `contentsChecked: false`.
   */
  contentKey?: Uint8Array;
  /** The gateways' ([ian][l − 1]) and queriers' public keys: check every signed message. */
  senders?: SenderKeys;
  /**
   * SHA-256 of the deployment configuration the TA issued (the auditor's bundle): a file
   * holding another one — another mode, another f — is refused, so the ledger cannot pick
   * the parameters it is checked under (e.g. the paper's mode, which signs nothing).
   */
  deploymentHash?: Uint8Array;
  /** A node rebuilding its state while opening: replays through its own contract and engine. */
  replayInto?: {
    replayTransaction(tx: LedgerTransaction, freshRng: RandomSource): string | undefined;
  };
  freshRng?: RandomSource;
}

export interface SenderKeys {
  gatewayPublicKey: readonly (readonly Uint8Array[])[];
  oemPublicKey: readonly Uint8Array[];
}

export function verifyChain(store: SqliteBlockStore, opts: VerifyOptions = {}): VerifyReport {
  const started = performance.now();
  const publicKey = opts.publicKey ?? store.getMeta('node_public_key');
  let blocks = 0;
  let transactions = 0;
  let height = 0;
  let evidence: LiarEvidence | undefined;
  const cipher = opts.contentKey ? new ChainCipher(opts.contentKey) : undefined;
  const done = (firstBad?: { height: number; reason: string }): VerifyReport => ({
    ok: firstBad === undefined,
    blocks,
    transactions,
    ...(firstBad ? { firstBad } : {}),
    contentsChecked: cipher !== undefined,
    ...(evidence ? { signaturesChecked: true, liars: evidence.named } : {}),
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
    if (opts.deploymentHash && !sha256(configBytes).equals(Buffer.from(opts.deploymentHash)))
      return done({
        height: 0,
        reason: 'the file holds another deployment configuration than the one the TA issued',
      });
    const { params } = decodeDeploymentConfig(configBytes);
    // The paper's mode signs nothing (its tags are hashes anyone computes): nothing to check.
    const senders = params.modes.mac === 'hmac' ? opts.senders : undefined;
    if (senders) {
      const why = checkSenderShape(senders, params.ians, params.gateways);
      if (why) return done({ height: 0, reason: why });
      // Partials are sealed: their signatures are checked only where they can be opened.
      if (cipher) evidence = new LiarEvidence();
    }
    const contract = new MaasLedgerContract(
      senders ? senderLedgerKey(senders) : publicOnlyLedgerKey(params.ians, params.gateways),
      params,
      new ShamirParams(params.threshold, params.gateways, params.field),
      new ReadingCodec(params),
      { trustRecordedTags: !senders },
    );
    const oemKeys = senders?.oemPublicKey.map((k) => ed25519PublicKey(k));
    const tagBytes = evidenceTagBytes(params.modes.mac);
    let awaitingAnswer = false;
    const answeredQueries = new AnsweredQueries();
    const retention = new RoundRetention();
    replay = (tx) => {
      if (tx.kind === 'query') {
        if (awaitingAnswer) return 'a query without its answer';
        awaitingAnswer = true;
        const why = oemKeys
          ? checkQuerySignature(tx.body, oemKeys, params.modes.mac, tagBytes)
          : undefined;
        // A query is answered (and charged) once: a recorded copy is a double charge.
        return why ?? answeredQueries.check(tx.body, tagBytes);
      }
      if (tx.kind === 'answer') {
        if (!awaitingAnswer) return 'an answer without its query';
        awaitingAnswer = false;
        return undefined;
      }
      // Partials and restores are sealed: without the content key there is nothing to replay.
      if (!cipher) return undefined;
      if (tx.kind === 'partial' && !retention.admits(tx.round ?? -1)) {
        return `a partial for round ${tx.round}, which was already concluded (before ${retention.prunedBefore})`;
      }
      const why = replayInto(contract, undefined, tx, freshRng);
      if (!why && evidence) evidence.observe(tx, height, params, tagBytes);
      if (tx.kind === 'restore') {
        retention.afterRestore(contract);
        evidence?.forgetBefore(retention.prunedBefore);
      }
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
    height = b.height;
    for (const [i, sealed] of b.transactions.entries()) {
      let tx = sealed;
      if (cipher) {
        try {
          tx = cipher.open(sealed);
        } catch (e) {
          return done({ height: b.height, reason: `transaction ${i}: ${(e as Error).message}` });
        }
      }
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
  // Never used to check anything (trustRecordedTags): any valid point will do.
  const placeholder = ed25519PublicKey(ed25519PublicFromPrivate(Buffer.alloc(32)));
  return {
    gatewayPublicKey: Array.from({ length: ians }, () =>
      Array.from({ length: gateways }, () => placeholder),
    ),
    gatewayIdentity: Array.from({ length: ians }, () =>
      Array.from({ length: gateways }, () => Buffer.alloc(32)),
    ),
    oems: [],
    queryNoiseKey: Buffer.alloc(32),
  };
}
