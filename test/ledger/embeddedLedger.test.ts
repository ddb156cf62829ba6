import { chmodSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MaasLedgerNode, openEmbeddedLedger } from '../../src/ledger/embeddedLedger.js';
import { SqliteBlockStore } from '../../src/ledger/sqliteStore.js';
import { verifyChain } from '../../src/ledger/verifyChain.js';
import { systemRandom } from '../../src/math/random.js';
import { editStoredBody, ledgerFixture, rechainFrom, T0 } from './helpers.js';

function populated(batchSize = 4) {
  const f = ledgerFixture();
  const node = new MaasLedgerNode({
    file: f.file,
    config: f.config,
    ledgerKey: f.dep.registry.ledgerKey(),
    batchSize,
  });
  for (let rd = 0; rd < 3; rd++) {
    const now = T0 + rd * 60_000;
    for (let v = 0; v < 2; v++) {
      for (const p of f.partials(v, rd, now)) expect(node.add(p, now).ok).toBe(true);
      expect(node.restore(v, rd, now).status).toBe('restored');
    }
  }
  const q = node.query(f.query(1, 2, T0 + 180_000), T0 + 180_000, systemRandom);
  expect(q.ok).toBe(true);
  node.close();
  return f;
}

describe('embedded ledger (SQLite block store)', () => {
  it('records partials, restores and queries in signed, hash-chained blocks that verify', () => {
    const f = populated();
    const store = new SqliteBlockStore(f.file);
    const report = verifyChain(store);
    expect(report).toMatchObject({ ok: true, transactions: 3 * 2 * 6 + 2 });
    expect(report.blocks).toBe(Math.ceil((3 * 2 * 6 + 2) / 4));
    const b0 = store.block(0)!;
    expect(b0.previousHash.equals(Buffer.alloc(32))).toBe(true);
    expect(store.block(1)!.previousHash.equals(b0.hash)).toBe(true);
    // The (IAN, round) index: five partials and one restore for IAN 1, round 2.
    expect(store.transactionsOf(1, 2).map((t) => t.kind)).toEqual([
      ...Array(5).fill('partial'),
      'restore',
    ]);
    store.close();
  });

  it('reopens with the same state: restores, budgets and answers survive a restart', () => {
    const f = populated();
    const again = new MaasLedgerNode({
      file: f.file,
      config: f.config,
      ledgerKey: f.dep.registry.ledgerKey(),
    });
    const out = again.contract.restoredOf(1, 2);
    expect(out?.estimates.map((e) => e.estimate)).toEqual(f.truth(1, 2));
    // The one query spent ε = 2 of 10; the replay re-charged it.
    expect(again.queries.accountant.remaining('oem-1').epsilon).toEqual({ num: 8n, den: 1n });
    // Re-asking the same window is answered from the replayed cache at no cost.
    const res = again.query(f.query(1, 2, T0 + 200_000), T0 + 200_000, systemRandom);
    expect(res).toMatchObject({ ok: true, answer: { cached: true } });
    again.close();
  });

  it('refuses to open a file signed by another node key or holding another deployment', () => {
    const f = populated();
    expect(
      () =>
        new MaasLedgerNode({
          file: f.file,
          config: f.config,
          ledgerKey: f.dep.registry.ledgerKey(),
          nodeKey: Buffer.alloc(32, 9),
        }),
    ).toThrowError(expect.objectContaining({ code: 'BAD_KEY' }));
    const other = { ...f.config, params: { ...f.config.params, deployment: 'someone-else' } };
    expect(
      () =>
        new MaasLedgerNode({ file: f.file, config: other, ledgerKey: f.dep.registry.ledgerKey() }),
    ).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('refuses a node key file group or others may read (finding 9: it got no permission check)', () => {
    const f = populated();
    chmodSync(`${f.file}.key`, 0o644);
    const open = () =>
      new MaasLedgerNode({ file: f.file, config: f.config, ledgerKey: f.dep.registry.ledgerKey() });
    expect(open).toThrowError(
      expect.objectContaining({ code: 'BAD_KEY', message: expect.stringMatching(/0644/) }),
    );
    chmodSync(`${f.file}.key`, 0o600);
    open().close();
  });

  it('rejected submissions leave no trace on the chain', () => {
    const f = ledgerFixture();
    const node = new MaasLedgerNode({
      file: f.file,
      config: f.config,
      ledgerKey: f.dep.registry.ledgerKey(),
      batchSize: 1,
    });
    const good = f.partials(0, 0, T0);
    expect(node.add(good[0]!, T0).ok).toBe(true);
    const height = node.height;
    const bad = Buffer.from(good[1]!);
    bad[bad.length - 1]! ^= 1;
    expect(node.add(bad, T0)).toMatchObject({ ok: false, code: 'BAD_MAC' });
    expect(node.add(good[0]!, T0)).toMatchObject({ ok: false, code: 'REPLAY' });
    expect(node.add(good[1]!, T0 + 10 * 60_000)).toMatchObject({
      ok: false,
      code: 'STALE_TIMESTAMP',
    });
    expect(node.query(f.query(1, 0, T0), T0, systemRandom)).toMatchObject({
      ok: false,
      code: 'WRONG_ROUND',
    });
    expect(node.height).toBe(height);
    expect(node.counters().rejected).toEqual({
      BAD_MAC: 1,
      REPLAY: 1,
      STALE_TIMESTAMP: 1,
      WRONG_ROUND: 1,
    });
    node.close();
  });

  it('the async service commits in batches and resolves each submission once its block is on disk', async () => {
    const f = ledgerFixture();
    let now = T0;
    const ledger = openEmbeddedLedger({
      file: f.file,
      config: f.config,
      ledgerKey: f.dep.registry.ledgerKey(),
      batchSize: 1000,
      batchDelayMs: 5,
      clock: () => now,
    });
    const results = await Promise.all(f.partials(0, 0, T0).map((p) => ledger.addPartial(p)));
    expect(results.every((r) => r.ok)).toBe(true);
    // All five resolved after one timed commit: one block.
    expect(ledger.height()).toBe(1);
    expect(ledger.block(0)!.transactions).toHaveLength(5);
    now += 1000;
    expect(await ledger.restore(0, 0)).toMatchObject({ ok: true, outcome: { status: 'restored' } });
    expect(ledger.height()).toBe(2);
    expect(await ledger.verify()).toMatchObject({ ok: true, blocks: 2, transactions: 6 });
    expect(ledger.health()).toMatchObject({ ok: true, height: 2, pendingTransactions: 0 });
    await ledger.close();
  });
});

describe('operator restores (finding 4)', () => {
  it('a repeated reconciliation request is recorded once; a final round is not restorable again', async () => {
    const f = ledgerFixture(2, 5);
    const ledger = openEmbeddedLedger({
      file: f.file,
      config: f.config,
      ledgerKey: f.dep.registry.ledgerKey(),
      batchSize: 1000,
      clock: () => T0,
    });
    // Gateways 1–3 each miss a different device, 4 and 5 hold all: no k = 3 agree, so
    // restore asks all five (k + f = 5 at the default f = 2) to re-aggregate over the
    // devices they all hold (a non-final outcome).
    const gws = [1, 2, 3, 4, 5].map((l) => f.dep.gateway(0, l));
    for (const g of gws) g.beginRound(0);
    for (let i = 0; i < 5; i++) {
      for (const m of f.dep.device(0, i).report(0, [1, 1], T0, systemRandom))
        if (m.gateway - 1 !== i || m.gateway > 3) gws[m.gateway - 1]!.ingest(m.bytes, T0);
    }
    for (const g of gws) expect((await ledger.addPartial(g.closeRound(T0).partial)).ok).toBe(true);
    const first = await ledger.restore(0, 0);
    expect(first).toMatchObject({
      ok: true,
      outcome: { status: 'reconcile', contributors: [3, 4], gateways: [1, 2, 3, 4, 5] },
    });
    const height = ledger.height();
    for (let i = 0; i < 50; i++) {
      expect(await ledger.restore(0, 0)).toEqual(first);
    }
    expect(ledger.height()).toBe(height);
    expect(ledger.health().pendingTransactions).toBe(0);

    // A round with every partial: restored once, then refused, never failed by a repeat.
    for (const p of f.partials(1, 0, T0)) expect((await ledger.addPartial(p)).ok).toBe(true);
    expect(await ledger.restore(1, 0)).toMatchObject({ ok: true, outcome: { status: 'restored' } });
    const after = ledger.height();
    for (let i = 0; i < 50; i++) {
      expect(await ledger.restore(1, 0)).toMatchObject({ ok: false, code: 'WRONG_ROUND' });
    }
    expect(await ledger.restore(7, 0)).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    expect(ledger.height()).toBe(after);
    expect(ledger.node.contract.restoredOf(1, 0)?.status).toBe('restored');
    // A round the driver gave a status (here: failed, reconciliation did not converge) is final too.
    ledger.node.recordRound(
      { ian: 0, round: 0, status: 'failed', reasons: ['did not converge'] },
      T0,
    );
    await ledger.flush();
    expect(await ledger.restore(0, 0)).toMatchObject({ ok: false, code: 'WRONG_ROUND' });
    expect(ledger.node.nextRoundToDrive()).toBe(1);
    await ledger.close();
  });
});

describe('privagg ledger verify: tampering is found and named', () => {
  function tamper(sql: (db: Database.Database) => void) {
    const f = populated();
    const db = new Database(f.file);
    sql(db);
    db.close();
    const store = new SqliteBlockStore(f.file);
    const report = verifyChain(store);
    store.close();
    return report;
  }

  it('an edited transaction row', () => {
    const r = tamper((db) =>
      db.prepare('UPDATE transactions SET time = time + 1 WHERE height = 3 AND idx = 1').run(),
    );
    expect(r).toMatchObject({ ok: false, firstBad: { height: 3 } });
    expect(r.firstBad!.reason).toMatch(/Merkle root/);
  });

  it('a deleted block', () => {
    const r = tamper((db) => {
      db.prepare('DELETE FROM blocks WHERE height = 2').run();
      db.prepare('DELETE FROM transactions WHERE height = 2').run();
    });
    expect(r).toMatchObject({ ok: false, firstBad: { height: 2 } });
    expect(r.firstBad!.reason).toMatch(/missing/);
  });

  it('reordered transactions', () => {
    const r = tamper((db) => {
      db.prepare('UPDATE transactions SET idx = -1 WHERE height = 1 AND idx = 0').run();
      db.prepare('UPDATE transactions SET idx = 0 WHERE height = 1 AND idx = 1').run();
      db.prepare('UPDATE transactions SET idx = 1 WHERE height = 1 AND idx = -1').run();
    });
    expect(r).toMatchObject({ ok: false, firstBad: { height: 1 } });
  });

  it('a re-hashed block without the node key (signature)', () => {
    // An attacker who recomputes the Merkle root and hash of an edited block still cannot sign it.
    const f = populated();
    const db = new Database(f.file);
    db.prepare('UPDATE blocks SET signature = ? WHERE height = 4').run(Buffer.alloc(64, 1));
    db.close();
    const store = new SqliteBlockStore(f.file);
    expect(verifyChain(store)).toMatchObject({
      ok: false,
      firstBad: { height: 4, reason: expect.stringMatching(/signature/) },
    });
    store.close();
  });

  it('a forged restore outcome, fully re-hashed and re-signed with the node key, is caught by the replay', () => {
    const f = populated(1);
    const nodeKey = Buffer.from(readFileSync(`${f.file}.key`, 'utf8').trim(), 'hex');
    const store = new SqliteBlockStore(f.file);
    const restoreHeight = [...store.all()].find(
      (b) => b.transactions[0]!.kind === 'restore',
    )!.height;
    store.close();
    const db = new Database(f.file);
    // The operator holds the content key: it opens the outcome, edits it, seals it again.
    editStoredBody(
      db,
      f.dep.registry.ledgerKey().chainContentKey!,
      { height: restoreHeight, idx: 0 },
      (b) => Buffer.from(b.toString('utf8').replaceAll('"estimate":', '"estimate":1')),
    );
    // Re-chain every block from there on, exactly as the node would have: the file is now
    // internally consistent and correctly signed.
    rechainFrom(db, nodeKey, restoreHeight);
    db.close();
    const s2 = new SqliteBlockStore(f.file);
    // Without the content key the edit is invisible (structure and signatures hold)…
    expect(verifyChain(s2)).toMatchObject({ ok: true, contentsChecked: false });
    // …with it (the auditor's), the replay catches it.
    const report = verifyChain(s2, { contentKey: f.dep.registry.ledgerKey().chainContentKey! });
    s2.close();
    expect(report).toMatchObject({
      ok: false,
      firstBad: { height: restoreHeight, reason: expect.stringMatching(/restore outcome differs/) },
    });
  });
});
