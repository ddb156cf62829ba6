import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openEmbeddedLedger } from '../../src/ledger/embeddedLedger.js';
import { buildLedgerApi } from '../../src/ledger/http/server.js';
import { ledgerFixture, T0 } from './helpers.js';

/**
 * Finding 4: GET /v1/verify replayed the whole chain on the event loop; health answered in
 * 0.9–1.4 s meanwhile. Verification now runs in a worker thread over the file on disk, one
 * run at a time.
 */
describe('GET /v1/verify off the event loop', () => {
  it('health is answered while a verification runs; concurrent requests share one run', async () => {
    const f = ledgerFixture(2, 3);
    const ledger = openEmbeddedLedger({
      file: f.file,
      config: f.config,
      ledgerKey: f.dep.registry.ledgerKey(),
      batchSize: 7,
    });
    const node = ledger.node;
    for (let rd = 0; rd < 150; rd++) {
      const now = T0 + rd * 1000;
      for (let v = 0; v < 2; v++) {
        for (const p of f.partials(v, rd, now)) node.add(p, now);
        node.restore(v, rd, now);
      }
    }
    const app = buildLedgerApi(ledger, { logger: false, insecure: true });
    await app.ready();
    try {
      const first = ledger.verify();
      expect(ledger.verify(), 'a second request joins the running verification').toBe(first);
      let verified = false;
      const viaHttp = app.inject({ method: 'GET', url: '/v1/verify' }).then((r) => {
        verified = true;
        return r;
      });
      const health = await app.inject({ method: 'GET', url: '/v1/health' });
      expect(health.statusCode).toBe(200);
      expect(verified, 'health answered before the verification finished').toBe(false);
      const report = await first;
      expect(report).toMatchObject({ ok: true, blocks: ledger.height() });
      expect((await viaHttp).json()).toEqual(report);
      // The run is over: the next request starts a new one.
      const next = ledger.verify();
      expect(next).not.toBe(first);
      await next;

      // It checks the file on disk: a row edited under the running ledger is found.
      const db = new Database(f.file);
      db.prepare('UPDATE transactions SET time = time + 1 WHERE height = 3 AND idx = 0').run();
      db.close();
      const bad = await app.inject({ method: 'GET', url: '/v1/verify' });
      expect(bad.statusCode).toBe(409);
      expect(bad.json()).toMatchObject({
        ok: false,
        code: 'CHAIN_INVALID',
        firstBad: { height: 3 },
      });
    } finally {
      await app.close();
      await ledger.close();
    }
  });
});
