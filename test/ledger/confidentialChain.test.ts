import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ChainCipher, SEALED_KINDS } from '../../src/ledger/chainCipher.js';
import { MaasLedgerNode } from '../../src/ledger/embeddedLedger.js';
import { SqliteBlockStore } from '../../src/ledger/sqliteStore.js';
import { verifyChain } from '../../src/ledger/verifyChain.js';
import { systemRandom } from '../../src/math/random.js';
import { ledgerFixture, rechainFrom, T0 } from './helpers.js';

/**
 * Finding 2 of issue 10: every restore outcome (each IAN's noise-free estimate) and every
 * gateway partial (k of which interpolate it) was stored readable; through GET /v1/blocks
 * 24 of 24 restores matched the contract's values exactly. Now they are sealed under the
 * chain's content key, which only the ledger and the auditor hold.
 */
function populated() {
  const f = ledgerFixture();
  const node = new MaasLedgerNode({
    file: f.file,
    config: f.config,
    ledgerKey: f.dep.registry.ledgerKey(),
    batchSize: 4,
  });
  const partials: Buffer[] = [];
  for (let rd = 0; rd < 3; rd++) {
    const now = T0 + rd * 60_000;
    for (let v = 0; v < 2; v++) {
      for (const p of f.partials(v, rd, now)) {
        partials.push(p);
        expect(node.add(p, now).ok).toBe(true);
      }
      expect(node.restore(v, rd, now).status).toBe('restored');
    }
  }
  expect(node.query(f.query(1, 2, T0 + 180_000), T0 + 180_000, systemRandom).ok).toBe(true);
  node.close();
  return { f, partials };
}

describe('the confidential chain: noise-free values are sealed', () => {
  it('a reader of the file or of GET /v1/blocks finds 0 of 6 restores and 0 of 30 partials', () => {
    const { f, partials } = populated();
    const store = new SqliteBlockStore(f.file);
    const txs = [...store.all()].flatMap((b) => b.transactions);
    const restores = txs.filter((t) => t.kind === 'restore');
    const stored = txs.filter((t) => t.kind === 'partial');
    expect([restores.length, stored.length]).toEqual([6, 30]);
    // No restore body parses, none names an estimate.
    const readable = restores.filter((t) => {
      try {
        JSON.parse(t.body.toString('utf8'));
        return true;
      } catch {
        return false;
      }
    });
    expect(readable).toHaveLength(0);
    expect(restores.some((t) => t.body.includes('estimate'))).toBe(false);
    // No partial's sums appear anywhere on the chain (the 16 bytes after its bitmap).
    const everything = Buffer.concat(txs.map((t) => t.body));
    const found = partials.filter((p) => everything.includes(p.subarray(25, 41)));
    expect(found).toHaveLength(0);
    // The truth of IAN 0, round 0 (known to the test) is nowhere in the clear.
    const truth = f.truth(0, 0);
    expect(everything.includes(Buffer.from(`"estimate":${truth[0]}`))).toBe(false);
    // Queries and noisy answers stay readable (what was asked and released).
    const answer = txs.find((t) => t.kind === 'answer')!;
    expect(JSON.parse(answer.body.toString('utf8'))).toMatchObject({ oem: 'oem-1' });
    // Structure and signatures check without the key; contents with it.
    expect(verifyChain(store)).toMatchObject({ ok: true, contentsChecked: false });
    const contentKey = f.dep.registry.ledgerKey().chainContentKey!;
    expect(verifyChain(store, { contentKey })).toMatchObject({ ok: true, contentsChecked: true });
    // With the key, the restore is the contract's exact value.
    const opened = JSON.parse(new ChainCipher(contentKey).open(restores[0]!).body.toString('utf8'));
    expect(opened.estimates.map((e: { estimate: number }) => e.estimate)).toEqual(truth);
    store.close();
  });

  it('another key opens nothing, and a sealed body moved to another slot does not open', () => {
    const { f } = populated();
    const store = new SqliteBlockStore(f.file);
    const txs = [...store.all()].flatMap((b) => b.transactions);
    store.close();
    const sealed = txs.filter((t) => SEALED_KINDS.has(t.kind));
    const wrong = new ChainCipher(Buffer.alloc(32, 1));
    const failures = sealed.filter((t) => {
      try {
        wrong.open(t);
        return false;
      } catch (e) {
        return (e as { code?: string }).code === 'DECRYPT_FAILED';
      }
    });
    expect(failures).toHaveLength(sealed.length);
    const right = new ChainCipher(f.dep.registry.ledgerKey().chainContentKey!);
    const [a, b] = sealed.filter((t) => t.kind === 'partial');
    expect(() => right.open({ ...b!, body: a!.body })).toThrowError(
      expect.objectContaining({ code: 'DECRYPT_FAILED' }),
    );
  });

  it('an operator who swaps two sealed partials and re-signs is caught by the auditor', () => {
    const { f } = populated();
    const db = new Database(f.file);
    // Two partials of the same block, each moved into the other's slot (same IAN-round).
    const rows = db
      .prepare(
        "SELECT idx, body FROM transactions WHERE height = 0 AND kind = 'partial' ORDER BY idx",
      )
      .all() as { idx: number; body: Buffer }[];
    const update = db.prepare('UPDATE transactions SET body = ? WHERE height = 0 AND idx = ?');
    update.run(rows[1]!.body, rows[0]!.idx);
    update.run(rows[0]!.body, rows[1]!.idx);
    rechainFrom(db, Buffer.from(readFileSync(`${f.file}.key`, 'utf8').trim(), 'hex'), 0);
    db.close();
    const store = new SqliteBlockStore(f.file);
    expect(verifyChain(store).ok).toBe(true);
    expect(
      verifyChain(store, { contentKey: f.dep.registry.ledgerKey().chainContentKey! }),
    ).toMatchObject({
      ok: false,
      firstBad: { height: 0, reason: expect.stringMatching(/does not open/) },
    });
    store.close();
  });
});
