import Database from 'better-sqlite3';
import { ErrorCode, PrivaggError } from '../errors.js';
import type { LedgerBlock, LedgerTransaction } from './service.js';

/**
 * The embedded ledger's file: an append-only block store in SQLite.
 *
 * Durability: WAL journal with synchronous=FULL, and each block (its header row and all
 * its transaction rows) is inserted in one SQLite transaction. SQLite's atomic commit
 * means a process killed at any instant leaves either the whole block or none of it;
 * every committed block survives a crash (test/ledger/crash.test.ts kills real child
 * processes to check this).
 *
 * Tables: meta(key, value) for the format version, the node's public key and the
 * deployment's public configuration; blocks(height, …) one row per block;
 * transactions(height, idx, …) with an index on (ian, round, kind) for the
 * (IAN, round) lookups restore and queries make (a partial carries every dimension, so
 * dimension lookups are (IAN, round) lookups).
 */
/**
 * 2: restores decode under `maxLyingGateways` and query noise lives in the integer domain
 * (issue 10), so a chain of format 1 would not replay to the answers it recorded: such a
 * file is refused with UNSUPPORTED_VERSION rather than replayed into other values.
 * 3: partials and queries carry their senders' Ed25519 signatures (64 bytes) where they
 * carried 32-byte MACs, so an older chain's partials no longer decode.
 */
export const FORMAT_VERSION = '3';

/** SQLite page cache per connection, KiB (PRAGMA cache_size = −N). */
export const PAGE_CACHE_KIB = 8192;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS blocks (
  height INTEGER PRIMARY KEY,
  previous_hash BLOB NOT NULL,
  merkle_root BLOB NOT NULL,
  time INTEGER NOT NULL,
  tx_count INTEGER NOT NULL,
  hash BLOB NOT NULL,
  signature BLOB NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS transactions (
  height INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  kind TEXT NOT NULL,
  time INTEGER NOT NULL,
  body BLOB NOT NULL,
  ian INTEGER,
  round INTEGER,
  gateway INTEGER,
  PRIMARY KEY (height, idx)
) STRICT;
CREATE INDEX IF NOT EXISTS transactions_ian_round ON transactions (ian, round, kind);
`;

interface BlockRow {
  height: number;
  previous_hash: Buffer;
  merkle_root: Buffer;
  time: number;
  tx_count: number;
  hash: Buffer;
  signature: Buffer;
}

interface TxRow {
  height: number;
  idx: number;
  kind: LedgerTransaction['kind'];
  time: number;
  body: Buffer;
  ian: number | null;
  round: number | null;
  gateway: number | null;
}

export interface SqliteBlockStoreOptions {
  /**
   * Open for reading only (verifiers: `privagg ledger verify`, the API's verify worker):
   * nothing is created or written, and a file without the ledger's tables reads as an
   * empty chain (a file copied without its WAL may hold nothing yet).
   */
  readonly?: boolean;
}

export class SqliteBlockStore {
  private readonly db: Database.Database;
  private readonly insertBlock: Database.Statement;
  private readonly insertTx: Database.Statement;
  private readonly selectBlock: Database.Statement;
  private readonly selectTxs: Database.Statement;
  private readonly appendTx: (block: LedgerBlock) => void;
  /** Read-only and the file has no ledger tables: every read answers "nothing". */
  private readonly empty: boolean;

  constructor(
    readonly file: string,
    readonly options: SqliteBlockStoreOptions = {},
  ) {
    const readonly = options.readonly === true;
    try {
      this.db = new Database(file, readonly ? { readonly: true, fileMustExist: true } : {});
    } catch (e) {
      throw new PrivaggError(
        ErrorCode.DATA_UNAVAILABLE,
        `cannot open ledger file ${file}: ${String(e)}`,
      );
    }
    // SQLite's page cache is the ledger's one native cache that grows with the file: it
    // fills as the chain outgrows it, then stays. better-sqlite3 builds SQLite with 16 MiB
    // per connection; 8 MiB holds the recent rounds queries and restores read, and the soak
    // saw the RSS climb by the cache's size over the first ~12,000 blocks.
    this.db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    if (readonly) {
      const tables = this.db
        .prepare(
          "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN ('meta', 'blocks', 'transactions')",
        )
        .get() as { n: number };
      this.empty = tables.n < 3;
    } else {
      this.empty = false;
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.exec(SCHEMA);
    }
    const version = this.getMeta('format');
    if (version === undefined) {
      if (!readonly) this.setMeta('format', Buffer.from(FORMAT_VERSION));
    } else if (version.toString() !== FORMAT_VERSION) {
      throw new PrivaggError(
        ErrorCode.UNSUPPORTED_VERSION,
        `ledger file format ${version.toString()}, expected ${FORMAT_VERSION}`,
      );
    }
    if (this.empty) {
      // Statements over tables that do not exist cannot be prepared; none will run.
      const none = () => {
        throw new PrivaggError(ErrorCode.DATA_UNAVAILABLE, 'the ledger file is read-only');
      };
      this.insertBlock = this.insertTx = this.selectBlock = this.selectTxs = undefined as never;
      this.appendTx = none;
      return;
    }
    this.insertBlock = this.db.prepare(
      'INSERT INTO blocks (height, previous_hash, merkle_root, time, tx_count, hash, signature) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertTx = this.db.prepare(
      'INSERT INTO transactions (height, idx, kind, time, body, ian, round, gateway) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.selectBlock = this.db.prepare('SELECT * FROM blocks WHERE height = ?');
    this.selectTxs = this.db.prepare('SELECT * FROM transactions WHERE height = ? ORDER BY idx');
    this.appendTx = this.db.transaction((b: LedgerBlock) => {
      this.insertBlock.run(
        b.height,
        b.previousHash,
        b.merkleRoot,
        b.time,
        b.transactions.length,
        b.hash,
        b.signature,
      );
      for (const [i, t] of b.transactions.entries()) {
        this.insertTx.run(
          b.height,
          i,
          t.kind,
          t.time,
          t.body,
          t.ian ?? null,
          t.round ?? null,
          t.gateway ?? null,
        );
      }
    });
  }

  getMeta(key: string): Buffer | undefined {
    if (this.empty) return undefined;
    const row = this.stmt('SELECT value FROM meta WHERE key = ?').get(key) as
      | { value: Buffer }
      | undefined;
    return row?.value;
  }

  setMeta(key: string, value: Buffer): void {
    this.stmt(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ).run(key, value);
  }

  /** Appends one block atomically (all of it or nothing). */
  append(block: LedgerBlock): void {
    this.appendTx(block);
  }

  /** The number of blocks (= the next height), assuming heights 0..n−1 (verify checks). */
  count(): number {
    if (this.empty) return 0;
    return (this.stmt('SELECT COUNT(*) AS n FROM blocks').get() as { n: number }).n;
  }

  /** The block with the largest height, if any. */
  last(): LedgerBlock | undefined {
    if (this.empty) return undefined;
    const row = this.stmt('SELECT * FROM blocks ORDER BY height DESC LIMIT 1').get() as
      | BlockRow
      | undefined;
    return row ? this.toBlock(row) : undefined;
  }

  block(height: number): LedgerBlock | undefined {
    if (this.empty) return undefined;
    const row = this.selectBlock.get(height) as BlockRow | undefined;
    return row ? this.toBlock(row) : undefined;
  }

  /** Every block in height order (as stored: gaps and reorders are verify's business). */
  *all(): Generator<LedgerBlock> {
    if (this.empty) return;
    // Its own statement: an iterating statement is busy, and two walks may overlap.
    const rows = this.db
      .prepare('SELECT * FROM blocks ORDER BY height')
      .iterate() as IterableIterator<BlockRow>;
    for (const row of rows) yield this.toBlock(row);
  }

  range(from: number, limit: number): LedgerBlock[] {
    if (this.empty) return [];
    const rows = this.stmt('SELECT * FROM blocks WHERE height >= ? ORDER BY height LIMIT ?').all(
      from,
      limit,
    ) as BlockRow[];
    return rows.map((r) => this.toBlock(r));
  }

  /** Transactions recorded for one (IAN, round), in chain order (the index serves this). */
  transactionsOf(ian: number, round: number): LedgerTransaction[] {
    if (this.empty) return [];
    const rows = this.stmt(
      'SELECT * FROM transactions WHERE ian = ? AND round = ? ORDER BY height, idx',
    ).all(ian, round) as TxRow[];
    return rows.map(toTx);
  }

  /** The hash of the block at `height`, without reading its transactions. */
  blockHash(height: number): Buffer | undefined {
    if (this.empty) return undefined;
    const row = this.stmt('SELECT hash FROM blocks WHERE height = ?').get(height) as
      | { hash: Buffer }
      | undefined;
    return row?.hash;
  }

  /** Whether (IAN, round) has a transaction of this kind (the (ian, round, kind) index serves it). */
  has(ian: number, round: number, kind: LedgerTransaction['kind']): boolean {
    if (this.empty) return false;
    return (
      this.stmt('SELECT 1 FROM transactions WHERE ian = ? AND round = ? AND kind = ? LIMIT 1').get(
        ian,
        round,
        kind,
      ) !== undefined
    );
  }

  /** Bodies of the transactions of one kind for (IAN, round), in chain order. */
  bodiesOf(ian: number, round: number, kind: LedgerTransaction['kind']): Buffer[] {
    if (this.empty) return [];
    const rows = this.stmt(
      'SELECT body FROM transactions WHERE ian = ? AND round = ? AND kind = ? ORDER BY height, idx',
    ).all(ian, round, kind) as { body: Buffer }[];
    return rows.map((r) => r.body);
  }

  /** The largest round that has a transaction of this kind; −1 when none has. */
  newestRoundOf(kind: LedgerTransaction['kind']): number {
    if (this.empty) return -1;
    const row = this.stmt('SELECT MAX(round) AS r FROM transactions WHERE kind = ?').get(kind) as {
      r: number | null;
    };
    return row.r ?? -1;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * A prepared statement, prepared once per store. Preparing on every call made a new
   * sqlite3_stmt (native memory freed only when V8 collects its wrapper) for each lookup
   * of each partial and restore: churn the V8 heap never sees, and on a ledger that runs
   * for weeks a source of allocator growth.
   */
  private readonly statements = new Map<string, Database.Statement>();
  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (st === undefined) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  private toBlock(row: BlockRow): LedgerBlock {
    const txs = (this.selectTxs.all(row.height) as TxRow[]).map(toTx);
    return {
      height: row.height,
      previousHash: row.previous_hash,
      merkleRoot: row.merkle_root,
      time: row.time,
      transactions: txs,
      hash: row.hash,
      signature: row.signature,
    };
  }
}

function toTx(r: TxRow): LedgerTransaction {
  return {
    kind: r.kind,
    time: r.time,
    body: r.body,
    ...(r.ian !== null ? { ian: r.ian } : {}),
    ...(r.round !== null ? { round: r.round } : {}),
    ...(r.gateway !== null ? { gateway: r.gateway } : {}),
  };
}
