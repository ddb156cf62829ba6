import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ed25519PrivateKey, ed25519Sign, ed25519Verify } from '../../src/crypto/ed25519.js';
import { macKey, macTag } from '../../src/crypto/mac.js';
import { ChainCipher } from '../../src/ledger/chainCipher.js';
import { MaasLedgerNode } from '../../src/ledger/embeddedLedger.js';
import { SqliteBlockStore } from '../../src/ledger/sqliteStore.js';
import { type SenderKeys, verifyChain } from '../../src/ledger/verifyChain.js';
import { seededRandom, systemRandom } from '../../src/math/random.js';
import { createMaasDeployment, type MaasDeployment } from '../../src/schemes/maas/deployment.js';
import { defaultMaasParams } from '../../src/schemes/maas/params.js';
import { decodePartialOf } from '../../src/schemes/maas/partialCodec.js';
import { encodeQueryBody } from '../../src/wire/maas.js';
import { editStoredBody, GRANT, ledgerFixture, rechainFrom, T0 } from './helpers.js';

/**
 * Finding 7 of issue 10: partials and queries carried HMACs under keys the ledger held, so
 * the ledger could forge what it judges and a liar it named was evidence to nobody else.
 * Now gateways and queriers sign with Ed25519 keys only they hold; the ledger and the
 * auditor hold the public halves.
 */
const senders = (dep: MaasDeployment): SenderKeys => {
  const lk = dep.registry.ledgerKey();
  return {
    gatewayPublicKey: lk.gatewayPublicKey.map((row) => row.map((k) => k.raw)),
    oemPublicKey: lk.oems.map((o) => o.publicKey.raw),
  };
};

describe('signed partials and queries: the ledger checks what it cannot make', () => {
  it('nothing in the ledger key makes a partial or a query it accepts (0 of 4 forgeries)', () => {
    const f = ledgerFixture();
    const lk = f.dep.registry.ledgerKey();
    const node = new MaasLedgerNode({ file: f.file, config: f.config, ledgerKey: lk });
    const now = T0;
    const honest = f.partials(0, 0, now);
    const tagAt = honest[0]!.length - 64;
    const body = honest[0]!.subarray(0, tagAt);
    const nodeKey = Buffer.from(readFileSync(`${f.file}.key`, 'utf8').trim(), 'hex');
    // What the ledger holds that is secret: its node key and its query-noise key.
    const forgeries = [
      Buffer.concat([body, ed25519Sign(ed25519PrivateKey(nodeKey), body)]),
      Buffer.concat([body, macTag(macKey(lk.queryNoiseKey), body), Buffer.alloc(32)]),
    ];
    for (const forged of forgeries)
      expect(node.add(forged, now)).toMatchObject({ ok: false, code: 'BAD_MAC' });
    // The genuine partial, signed by gateway 1, is accepted.
    expect(node.add(honest[0]!, now).ok).toBe(true);

    const query = f.query(1, 0, now);
    const qBody = query.subarray(0, 24);
    for (const forged of [
      Buffer.concat([qBody, ed25519Sign(ed25519PrivateKey(nodeKey), qBody)]),
      Buffer.concat([qBody, macTag(macKey(lk.queryNoiseKey), qBody), Buffer.alloc(32)]),
    ])
      expect(node.query(forged, now, systemRandom)).toMatchObject({ ok: false, code: 'BAD_MAC' });
    node.close();
  });

  it('a partial the operator rewrites and re-signs into its chain passes without the senders keys and fails with them', () => {
    const f = ledgerFixture();
    const node = new MaasLedgerNode({
      file: f.file,
      config: f.config,
      ledgerKey: f.dep.registry.ledgerKey(),
      batchSize: 1,
    });
    for (const p of f.partials(0, 0, T0)) expect(node.add(p, T0).ok).toBe(true);
    node.close();
    const nodeKey = Buffer.from(readFileSync(`${f.file}.key`, 'utf8').trim(), 'hex');
    const db = new Database(f.file);
    // The operator (it holds the content key) flips one bit of gateway 2's first sum
    // (height 1), seals it again and re-chains.
    const contentKey = f.dep.registry.ledgerKey().chainContentKey!;
    editStoredBody(db, contentKey, { height: 1, idx: 0 }, (body) => {
      body[24 + 1 + 7]! ^= 1; // header, a 1-byte bitmap for 4 devices, then the first sum
      return body;
    });
    rechainFrom(db, nodeKey, 1);
    db.close();

    const store = new SqliteBlockStore(f.file);
    expect(verifyChain(store).ok).toBe(true); // structure and block signatures hold
    expect(verifyChain(store, { contentKey }).ok).toBe(true); // a partial taken as recorded
    expect(verifyChain(store, { contentKey, senders: senders(f.dep) })).toMatchObject({
      ok: false,
      firstBad: { height: 1, reason: expect.stringMatching(/BAD_MAC/) },
    });
    store.close();
  });

  it('a query the operator makes up for an OEM fails the auditor check', () => {
    const f = ledgerFixture();
    const node = new MaasLedgerNode({
      file: f.file,
      config: f.config,
      ledgerKey: f.dep.registry.ledgerKey(),
      batchSize: 1,
    });
    for (const p of f.partials(0, 0, T0)) expect(node.add(p, T0).ok).toBe(true);
    expect(node.restore(0, 0, T0).status).toBe('restored');
    for (const p of f.partials(1, 0, T0)) expect(node.add(p, T0).ok).toBe(true);
    expect(node.restore(1, 0, T0).status).toBe('restored');
    expect(node.query(f.query(2, 0, T0 + 1000), T0 + 1000, systemRandom).ok).toBe(true);
    node.close();
    const store0 = new SqliteBlockStore(f.file);
    const queryHeight = [...store0.all()].find((b) => b.transactions[0]!.kind === 'query')!.height;
    store0.close();
    // The operator charges the OEM for a query it never asked: same body, another window.
    const db = new Database(f.file);
    const forged = Buffer.concat([
      encodeQueryBody({
        oem: 0,
        number: 1,
        startRound: 0,
        endRound: 0,
        dimensionMask: 0b11,
        timestamp: T0 + 1000,
      }),
      Buffer.alloc(64, 9),
    ]);
    db.prepare('UPDATE transactions SET body = ? WHERE height = ?').run(forged, queryHeight);
    rechainFrom(db, Buffer.from(readFileSync(`${f.file}.key`, 'utf8').trim(), 'hex'), queryHeight);
    db.close();
    const store = new SqliteBlockStore(f.file);
    expect(verifyChain(store).ok).toBe(true);
    expect(verifyChain(store, { senders: senders(f.dep) })).toMatchObject({
      ok: false,
      firstBad: { height: queryHeight, reason: expect.stringMatching(/signature does not verify/) },
    });
    store.close();
  });

  it("a named liar comes with its own signed partial: gateway 5's +1 lie, checkable by anyone", () => {
    const params = defaultMaasParams({
      deployment: 'evidence-test',
      ians: 1,
      devicesPerIan: 4,
      gateways: 5,
      threshold: 3,
      maxLyingGateways: 1,
      dimensions: ['a', 'b'],
      maxReading: [9, 9],
      ldp: null,
    });
    const dep = createMaasDeployment(params, {
      oems: [GRANT],
      registeredAtMs: T0,
      masterSecret: Buffer.alloc(32, 3),
      rng: seededRandom('evidence'),
    });
    const f = ledgerFixture();
    const node = new MaasLedgerNode({
      file: f.file,
      config: { params, oems: [GRANT] },
      ledgerKey: dep.registry.ledgerKey(),
      batchSize: 1,
    });
    const gws = [1, 2, 3, 4, 5].map((l) => dep.gateway(0, l));
    for (const g of gws) g.beginRound(0);
    for (let i = 0; i < 4; i++)
      for (const m of dep.device(0, i).report(0, [i, 2 * i], T0, systemRandom))
        gws[m.gateway - 1]!.ingest(m.bytes, T0);
    const partials = gws.map((g) => g.closeRound(T0).partial);
    // Gateway 5 signs a lie: every sum + 1.
    const lie = gws[4]!.withSums(
      partials[4]!,
      gws[4]!.partialSums(partials[4]!).map((s) => params.field.add(s, 1n)),
    );
    for (const p of [...partials.slice(0, 4), lie]) expect(node.add(p, T0).ok).toBe(true);
    const out = node.restore(0, 0, T0);
    expect(out).toMatchObject({ status: 'restored', liars: [5] });
    node.close();

    const store = new SqliteBlockStore(f.file);
    const contentKey = dep.registry.ledgerKey().chainContentKey!;
    const report = verifyChain(store, { contentKey, senders: senders(dep) });
    expect(report).toMatchObject({ ok: true, contentsChecked: true, signaturesChecked: true });
    expect(report.liars).toHaveLength(1);
    const liar = report.liars![0]!;
    expect(liar).toMatchObject({ ian: 0, round: 0, gateway: 5, attempt: 0 });
    // The evidence: the partial in that block, its signature under gateway 5's public key.
    const tx = new ChainCipher(contentKey).open(store.block(liar.partialHeight)!.transactions[0]!);
    const stored = decodePartialOf(params, tx.body);
    expect(stored.gateway).toBe(5);
    expect(Buffer.from(stored.tag).toString('hex')).toBe(liar.signature);
    const gw5 = dep.registry.ledgerKey().gatewayPublicKey[0]![4]!.raw;
    expect(ed25519Verify(gw5, stored.authenticated, stored.tag)).toBe(true);
    // …and not under any other gateway's key: it is gateway 5's word, nobody else's.
    const gw3 = dep.registry.ledgerKey().gatewayPublicKey[0]![2]!.raw;
    expect(ed25519Verify(gw3, stored.authenticated, stored.tag)).toBe(false);
    store.close();
  });
});
