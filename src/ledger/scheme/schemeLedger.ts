import { type Ed25519PrivateKey, ed25519PrivateKey } from '../../crypto/ed25519.js';
import { ErrorCode, PrivaggError } from '../../errors.js';
import { configureScheme } from '../../schemes/registry.js';
import type { Answer, CenterRole, Inbound, Recovery, SchemeConfig } from '../../schemes/scheme.js';
import { GENESIS_PREVIOUS } from '../blockCodec.js';
import { canonicalJson } from '../canonicalJson.js';
import type { LedgerTransaction } from '../service.js';
import { SqliteBlockStore } from '../sqliteStore.js';
import { encodeInbound, encodeRecovery } from './bodies.js';
import { CenterReplay } from './centerReplay.js';
import { recordOrCheck } from './meta.js';
import { BodySealer } from './sealing.js';
import { signedBlock } from './signedBlock.js';
import { walkChain } from './walkChain.js';

export interface SchemeLedgerOptions {
  /** The SQLite block store file, or ':memory:'. */
  readonly file: string;
  readonly schemeId: string;
  /** The raw parameters the scheme was configured from (recorded: replay configures from them). */
  readonly params: unknown;
  readonly config: SchemeConfig;
  readonly publicSetup: Uint8Array;
  /** The center's key blob (builds the center when `center` is not given). */
  readonly centerKeys: Uint8Array;
  /** The ledger's Ed25519 key (32-byte seed, or imported): it signs every block. */
  readonly signingKey: Uint8Array | Ed25519PrivateKey;
  /** 32 bytes: every body is sealed under it (sealing.ts). */
  readonly contentKey: Uint8Array;
  /** The center to wrap (runScheme's `center` hook hands it over); default: built from the keys. */
  readonly center?: CenterRole;
}

export interface SchemeLedgerCounts {
  accepted: number;
  rejected: Record<string, number>;
  recoveries: number;
  blocks: number;
  transactions: number;
  /** Transactions recorded since the last block (accepted inbounds awaiting a recovery). */
  pending: number;
}

/**
 * A ledger around any scheme's center: a `CenterRole` that passes every call to the center
 * and records what the center accepted and what it recovered on an append-only,
 * hash-chained, Ed25519-signed SQLite block store, every body sealed.
 *
 * Commit policy: an accepted inbound waits in memory; each `recover` appends its recovery
 * and commits everything waiting as one block (one SQLite transaction), so a block is "the
 * inputs of a recovery, then the recovery". `close` commits what still waits. Rejected
 * inbounds change no center state and are counted, not recorded. Inbounds accepted but not
 * yet committed when the process dies are lost with the center's memory of them: a
 * reopened ledger has the state its chain shows.
 *
 * Reopening a file replays its chain into the center (as verification does), so the
 * center resumes with the state the chain shows; a chain that does not replay is refused.
 */
export class SchemeLedger implements CenterRole {
  private readonly store: SqliteBlockStore;
  private readonly signer: Ed25519PrivateKey;
  private readonly sealer: BodySealer;
  private readonly center: CenterRole;
  private pending: LedgerTransaction[] = [];
  private open = true;
  private nextHeight = 0;
  private previousHash: Buffer = GENESIS_PREVIOUS;
  private readonly counts: SchemeLedgerCounts = {
    accepted: 0,
    rejected: {},
    recoveries: 0,
    blocks: 0,
    transactions: 0,
    pending: 0,
  };

  constructor(o: SchemeLedgerOptions) {
    checkConfig(o);
    this.signer =
      o.signingKey instanceof Uint8Array ? ed25519PrivateKey(o.signingKey) : o.signingKey;
    this.sealer = new BodySealer(o.contentKey);
    this.center = o.center ?? o.config.roles(o.publicSetup).center(o.centerKeys);
    this.store = new SqliteBlockStore(o.file);
    try {
      recordOrCheck(this.store, {
        schemeId: o.schemeId,
        params: o.params,
        population: o.config.population,
        publicSetup: o.publicSetup,
        publicKey: this.signer.publicKey,
      });
      this.resume();
    } catch (e) {
      this.store.close();
      throw e;
    }
  }

  receive(m: Inbound, nowMs: number): Answer {
    if (!this.open) {
      const reason = 'the scheme ledger is closed';
      return { verdict: { ok: false, code: ErrorCode.DATA_UNAVAILABLE, reason }, out: [] };
    }
    const answer = this.center.receive(m, nowMs);
    if (!answer.verdict.ok) {
      const code = answer.verdict.code;
      this.counts.rejected[code] = (this.counts.rejected[code] ?? 0) + 1;
      return answer;
    }
    this.counts.accepted++;
    this.pending.push(
      this.sealer.seal({ kind: 'inbound', time: nowMs, ian: m.from.group, body: encodeInbound(m) }),
    );
    return answer;
  }

  recover(group: number, round: number, nowMs: number): Recovery {
    if (!this.open)
      throw new PrivaggError(ErrorCode.DATA_UNAVAILABLE, 'the scheme ledger is closed');
    const r = this.center.recover(group, round, nowMs);
    this.pending.push(
      this.sealer.seal({
        kind: 'recovery',
        time: nowMs,
        ian: group,
        round,
        body: encodeRecovery(r),
      }),
    );
    this.counts.recoveries++;
    this.commit();
    return r;
  }

  /** The center's counters, then the ledger's under `ledger.`. */
  counters(): Readonly<Record<string, number>> {
    const c = this.ledgerCounters();
    const rejected = Object.entries(c.rejected).map(([k, n]) => [`ledger.rejected.${k}`, n]);
    return {
      ...this.center.counters(),
      'ledger.accepted': c.accepted,
      'ledger.recoveries': c.recoveries,
      'ledger.blocks': c.blocks,
      'ledger.transactions': c.transactions,
      'ledger.pending': c.pending,
      ...Object.fromEntries(rejected),
    };
  }

  ledgerCounters(): SchemeLedgerCounts {
    return { ...this.counts, rejected: { ...this.counts.rejected }, pending: this.pending.length };
  }

  get height(): number {
    return this.nextHeight;
  }

  get publicKey(): Buffer {
    return this.signer.publicKey;
  }

  /** Commits what waits (inbounds after the last recovery), then closes the file. */
  close(): void {
    if (!this.open) return;
    this.commit();
    this.open = false;
    this.store.close();
  }

  private commit(): void {
    if (this.pending.length === 0) return;
    const block = signedBlock(this.nextHeight, this.previousHash, this.pending, this.signer);
    this.store.append(block);
    this.pending = [];
    this.nextHeight++;
    this.previousHash = block.hash;
    this.counts.blocks++;
    this.counts.transactions += block.transactions.length;
  }

  /** Replays an existing chain into the center; a chain that does not verify is not appended to. */
  private resume(): void {
    const replay = new CenterReplay(this.center, this.sealer);
    const walk = walkChain(this.store, this.signer.publicKey, (tx) => replay.apply(tx));
    if (walk.firstBad)
      throw new PrivaggError(
        ErrorCode.MALFORMED_DATA,
        `ledger file ${this.store.file} does not verify at block ${walk.firstBad.height}: ${walk.firstBad.reason}`,
      );
    this.nextHeight = walk.blocks;
    this.previousHash = walk.last?.hash ?? GENESIS_PREVIOUS;
    this.counts.blocks = walk.blocks;
    this.counts.transactions = walk.transactions;
  }
}

/** The config must be the one the recorded id and parameters give: replay rebuilds it from them. */
function checkConfig(o: SchemeLedgerOptions): void {
  if (o.config.id !== o.schemeId)
    throw new PrivaggError(
      ErrorCode.INVALID_ARGUMENT,
      `scheme ledger for '${o.schemeId}' given a '${o.config.id}' configuration`,
    );
  const again = configureScheme(o.schemeId, o.params, o.config.population);
  if (canonicalJson(again.publicConfig) !== canonicalJson(o.config.publicConfig))
    throw new PrivaggError(
      ErrorCode.INVALID_ARGUMENT,
      `the '${o.schemeId}' configuration is not the one its recorded parameters give`,
    );
}

export function openSchemeLedger(opts: SchemeLedgerOptions): SchemeLedger {
  return new SchemeLedger(opts);
}
