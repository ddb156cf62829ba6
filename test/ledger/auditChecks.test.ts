import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/crypto/bytes.js';
import { ChainCipher } from '../../src/ledger/chainCipher.js';
import { encodeDeploymentConfig } from '../../src/ledger/deploymentConfig.js';
import { MaasLedgerNode } from '../../src/ledger/embeddedLedger.js';
import type { LedgerTransaction } from '../../src/ledger/service.js';
import { SqliteBlockStore } from '../../src/ledger/sqliteStore.js';
import { type SenderKeys, verifyChain } from '../../src/ledger/verifyChain.js';
import { seededRandom, systemRandom } from '../../src/math/random.js';
import { createMaasDeployment } from '../../src/schemes/maas/deployment.js';
import { PAPER_MODES } from '../../src/schemes/maas/params.js';
import { GRANT, ledgerFixture, rechainFrom, T0 } from './helpers.js';

/**
 * An independent review of the auditor's check (issue 10) found three ways for a ledger
 * operator, holding its node key and the content key, to pass `ledger verify --bundle`
 * with a chain it made: pick the deployment configuration it is checked under (the paper's
 * mode, which signs nothing), record a genuine query twice (charging its OEM twice), and
 * file a genuine partial under another IAN, round or gateway. Each is refused now.
 */
const nodeKeyOf = (file: string) => Buffer.from(readFileSync(`${file}.key`, 'utf8').trim(), 'hex');

function auditOf(f: ReturnType<typeof ledgerFixture>) {
  const lk = f.dep.registry.ledgerKey();
  const senders: SenderKeys = {
    gatewayPublicKey: lk.gatewayPublicKey.map((row) => row.map((k) => k.raw)),
    oemPublicKey: lk.oems.map((o) => o.publicKey.raw),
  };
  return {
    contentKey: lk.chainContentKey!,
    senders,
    // What the TA puts in the auditor's bundle (issue.ts): the configuration it issued.
    deploymentHash: sha256(encodeDeploymentConfig(f.config)),
  };
}

function recorded(f: ReturnType<typeof ledgerFixture>, withQuery = false) {
  const node = new MaasLedgerNode({
    file: f.file,
    config: f.config,
    ledgerKey: f.dep.registry.ledgerKey(),
    batchSize: 1,
  });
  for (const v of [0, 1]) {
    for (const p of f.partials(v, 0, T0)) expect(node.add(p, T0).ok).toBe(true);
    expect(node.restore(v, 0, T0).status).toBe('restored');
  }
  if (withQuery)
    expect(node.query(f.query(2, 0, T0 + 1000), T0 + 1000, systemRandom).ok).toBe(true);
  node.close();
}

describe("the auditor's check refuses what the operator chooses for it", () => {
  it("a chain the operator builds under the paper's mode, with forged partials, fails: 0 of 2 restores pass", () => {
    const f = ledgerFixture();
    const audit = auditOf(f);
    // The operator starts its file with the same deployment in the paper's mode: its tags
    // are H(bytes ‖ ID), public, so it makes every gateway's partial itself (here the
    // honest sums of another run: any sums would do).
    const paperParams = { ...f.config.params, modes: PAPER_MODES };
    const paper = createMaasDeployment(paperParams, {
      oems: [GRANT],
      registeredAtMs: T0,
      masterSecret: Buffer.alloc(32, 7),
      rng: seededRandom('forger'),
    });
    const node = new MaasLedgerNode({
      file: f.file,
      config: { params: paperParams, oems: [GRANT] },
      ledgerKey: f.dep.registry.ledgerKey(),
      batchSize: 1,
    });
    for (const v of [0, 1]) {
      const gws = Array.from({ length: paperParams.gateways }, (_, l) => paper.gateway(v, l + 1));
      for (const g of gws) g.beginRound(0);
      for (let i = 0; i < 4; i++)
        for (const m of paper.device(v, i).report(0, [9, 9], T0, systemRandom))
          gws[m.gateway - 1]!.ingest(m.bytes, T0);
      for (const g of gws) expect(node.add(g.closeRound(T0).partial, T0).ok).toBe(true);
      expect(node.restore(v, 0, T0).status).toBe('restored');
    }
    node.close();
    const store = new SqliteBlockStore(f.file, { readonly: true });
    // Judged by its own configuration, the forged chain passes (nothing is signed to check)…
    expect(
      verifyChain(store, { contentKey: audit.contentKey, senders: audit.senders }),
    ).toMatchObject({
      ok: true,
      contentsChecked: true,
    });
    // …against the configuration the TA issued (the auditor's bundle), it is refused.
    expect(verifyChain(store, audit)).toMatchObject({
      ok: false,
      firstBad: { height: 0, reason: expect.stringMatching(/another deployment configuration/) },
    });
    store.close();
  });

  it('a genuine signed query recorded twice (an OEM charged twice) fails', () => {
    const f = ledgerFixture();
    recorded(f, true);
    const db = new Database(f.file);
    const rows = db
      .prepare("SELECT height FROM transactions WHERE kind IN ('query', 'answer') ORDER BY height")
      .all() as { height: number }[];
    const [q, a] = rows.map((r) => r.height) as [number, number];
    // Append a copy of the query and its answer as two new blocks, then re-chain.
    const last = (db.prepare('SELECT MAX(height) AS h FROM blocks').get() as { h: number }).h;
    for (const [i, from] of [q, a].entries()) {
      const h = last + 1 + i;
      db.prepare(
        'INSERT INTO blocks (height, previous_hash, merkle_root, time, hash, signature, tx_count) SELECT ?, previous_hash, merkle_root, time, hash, signature, tx_count FROM blocks WHERE height = ?',
      ).run(h, from);
      db.prepare(
        'INSERT INTO transactions (height, idx, kind, time, body, ian, round, gateway) SELECT ?, idx, kind, time, body, ian, round, gateway FROM transactions WHERE height = ?',
      ).run(h, from);
    }
    rechainFrom(db, nodeKeyOf(f.file), last + 1);
    db.close();
    const store = new SqliteBlockStore(f.file, { readonly: true });
    expect(verifyChain(store, auditOf(f))).toMatchObject({
      ok: false,
      firstBad: { height: last + 1, reason: expect.stringMatching(/answered twice/) },
    });
    store.close();
  });

  it('a genuine partial filed under another IAN, round and gateway (re-sealed for its new slot) fails', () => {
    const f = ledgerFixture();
    recorded(f);
    const audit = auditOf(f);
    const cipher = new ChainCipher(audit.contentKey);
    const db = new Database(f.file);
    const row = db.prepare('SELECT * FROM transactions WHERE height = 0').get() as {
      kind: 'partial';
      time: number;
      body: Buffer;
      ian: number;
      round: number;
      gateway: number;
    };
    const clear = cipher.open({
      kind: row.kind,
      time: row.time,
      body: row.body,
      ian: row.ian,
      round: row.round,
      gateway: row.gateway,
    });
    const relabelled: LedgerTransaction = { ...clear, ian: 1, round: 0, gateway: 3 };
    db.prepare('UPDATE transactions SET body = ?, ian = ?, gateway = ? WHERE height = 0').run(
      cipher.seal(relabelled).body,
      1,
      3,
    );
    rechainFrom(db, nodeKeyOf(f.file), 0);
    db.close();
    const store = new SqliteBlockStore(f.file, { readonly: true });
    expect(verifyChain(store, audit)).toMatchObject({
      ok: false,
      firstBad: { height: 0, reason: expect.stringMatching(/recorded under IAN 1/) },
    });
    store.close();
  });
});
