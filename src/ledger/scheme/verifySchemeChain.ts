import { ErrorCode, PrivaggError } from '../../errors.js';
import { configureScheme } from '../../schemes/registry.js';
import type { CenterRole } from '../../schemes/scheme.js';
import type { LedgerTransaction } from '../service.js';
import { SqliteBlockStore } from '../sqliteStore.js';
import { CenterReplay } from './centerReplay.js';
import { readSchemeRecord, type SchemeRecord } from './meta.js';
import { BodySealer } from './sealing.js';
import { walkChain } from './walkChain.js';

export interface SchemeVerifyOptions {
  /** The center's key blob: with the content key, the chain is replayed through a fresh center. */
  readonly centerKeys?: Uint8Array;
  /** The chain's content key: bodies are opened (and, with the center's keys, replayed). */
  readonly contentKey?: Uint8Array;
  /**
   * The ledger's known public key. Without it the key the file records is used, which
   * proves internal consistency only; with it, a file recording another key fails.
   */
  readonly ledgerPublicKey?: Uint8Array;
}

export interface SchemeVerifyReport {
  ok: boolean;
  blocks: number;
  transactions: number;
  /** Recovery transactions (pending phases included) in the blocks that checked. */
  recoveries: number;
  firstBad?: { height: number; reason: string };
  /** True when every body was opened and replayed through a fresh center. */
  replayed: boolean;
  elapsedMs: number;
}

/**
 * Verifies a scheme ledger file (schemeLedger.ts): heights, links, Merkle roots, header
 * hashes and Ed25519 signatures (walkChain.ts); then, with the content key and the center's
 * key blob, a fresh center built through the registry from the recorded scheme id,
 * parameters, population and public setup, and the whole chain replayed through it
 * (centerReplay.ts): every inbound accepted again, every recovery recomputed identically.
 * With the content key alone, every body must open. Without keys: structure and
 * signatures only, `replayed: false`. Blocks cut from the END of a chain are not
 * detectable by the chain alone (walkChain.ts).
 */
export function verifySchemeChain(
  file: string,
  opts: SchemeVerifyOptions = {},
): SchemeVerifyReport {
  const started = performance.now();
  const store = new SqliteBlockStore(file, { readonly: true });
  try {
    return verifyStore(store, opts, started);
  } finally {
    store.close();
  }
}

function verifyStore(
  store: SqliteBlockStore,
  opts: SchemeVerifyOptions,
  started: number,
): SchemeVerifyReport {
  let recoveries = 0;
  let replayed = false;
  const done = (
    walk: { blocks: number; transactions: number },
    firstBad?: SchemeVerifyReport['firstBad'],
  ) => ({
    ok: firstBad === undefined,
    blocks: walk.blocks,
    transactions: walk.transactions,
    recoveries,
    ...(firstBad ? { firstBad } : {}),
    replayed: replayed && firstBad === undefined,
    elapsedMs: performance.now() - started,
  });
  const none = { blocks: 0, transactions: 0 };
  let record: SchemeRecord | undefined;
  try {
    record = readSchemeRecord(store);
  } catch (e) {
    return done(none, { height: 0, reason: (e as Error).message });
  }
  if (!record)
    return store.count() === 0
      ? done(none)
      : done(none, { height: 0, reason: 'the file holds blocks but no scheme record' });
  const publicKey = opts.ledgerPublicKey ?? record.publicKey;
  if (!Buffer.from(publicKey).equals(Buffer.from(record.publicKey)))
    return done(none, {
      height: 0,
      reason: 'the file records another ledger key than the given one',
    });

  const sealer = opts.contentKey ? new BodySealer(opts.contentKey) : undefined;
  let check: (tx: LedgerTransaction) => string | undefined = () => undefined;
  if (sealer && opts.centerKeys) {
    let center: CenterRole;
    try {
      center = freshCenter(record, opts.centerKeys);
    } catch (e) {
      return done(none, {
        height: 0,
        reason: `no center to replay through: ${(e as Error).message}`,
      });
    }
    const replay = new CenterReplay(center, sealer);
    check = (tx) => replay.apply(tx);
    replayed = true;
  } else if (sealer) {
    check = (tx) => {
      try {
        sealer.open(tx);
        return undefined;
      } catch (e) {
        return (e as Error).message;
      }
    };
  }
  const walk = walkChain(store, publicKey, (tx) => {
    if (tx.kind === 'recovery') recoveries++;
    return check(tx);
  });
  return done(walk, walk.firstBad);
}

/** The recorded scheme's center, built through the registry as a deployment builds it. */
function freshCenter(record: SchemeRecord, centerKeys: Uint8Array): CenterRole {
  const config = configureScheme(record.schemeId, record.params, record.population);
  if (config.id !== record.schemeId)
    throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, `the registry answers '${config.id}'`);
  return config.roles(record.publicSetup).center(centerKeys);
}
