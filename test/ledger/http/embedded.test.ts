import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChainCipher } from '../../../src/ledger/chainCipher.js';
import { chainHeadFromJson, verifyChainHead } from '../../../src/ledger/chainHead.js';
import { openEmbeddedLedger } from '../../../src/ledger/embeddedLedger.js';
import {
  Block,
  BlockPage,
  ChainHead,
  LedgerHealth,
  PartialAccepted,
  QueryAccepted,
  RestoreOutcome,
  VerifyReport,
} from '../../../src/ledger/http/schemas.js';
import { startLedgerApi } from '../../../src/ledger/http/server.js';
import {
  captureLogs,
  OEM_FULL,
  OEM_PARTIAL,
  queryBytes,
  roundPartials,
  T0,
  TOTALS,
  testDeployment,
} from './fixtures.js';
import { httpsCall, testPki } from './tls.js';

/** The API over the real embedded SQLite ledger (temp file), on a real HTTPS socket. */
describe('over the embedded SQLite ledger, HTTPS with client certificates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'privagg-ledger-http-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts, refuses without changing state, restores, answers with signed heads, and serves the chain', async () => {
    const dep = testDeployment();
    const cipher = new ChainCipher(dep.registry.ledgerKey().chainContentKey!);
    const name = dep.params.deployment;
    const pki = testPki(name);
    const file = join(dir, 'ledger.sqlite');
    const ledger = openEmbeddedLedger({
      file,
      config: { params: dep.params, oems: [OEM_FULL, OEM_PARTIAL] },
      ledgerKey: dep.registry.ledgerKey(),
      nodeKey: Buffer.alloc(32, 7),
      clock: () => T0,
    });
    const { logger, lines } = captureLogs();
    const server = await startLedgerApi(ledger, {
      logger,
      tls: pki.ledgerTls,
      rounds: { current: () => 1 },
    });
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = pki.ca.certPem;
    const gateway = (v: number, l: number) => pki.client(`${name}.gw-${v}-${l}`, 'gateway');
    const operator = pki.client(`${name}.operator`, 'operator');
    const auditor = pki.client(`${name}.auditor`, 'auditor');
    const oem0 = pki.client(`${name}.oem-0`, 'oem');
    /** A partial posted by the gateway it belongs to (its header says which). */
    const postPartial = (p: Buffer) =>
      httpsCall(`${server.url}/v1/partials`, {
        ca,
        client: gateway(p.readUInt16BE(6), p[4]!),
        body: p,
      });
    const get = (path: string) => httpsCall(`${server.url}${path}`, { ca, client: auditor });
    try {
      const partials = [0, 1].map((v) => roundPartials(dep, v, 0));
      let newest = ledger.head();
      for (const p of partials[0]!) {
        const res = await postPartial(p);
        expect(res.status).toBe(202);
        // Acknowledged: in a committed block, whose signed head comes with the answer.
        const head = chainHeadFromJson(PartialAccepted.parse(res.json()).head);
        expect(verifyChainHead(head, ledger.head().publicKey)).toBe(true);
        expect(head.height).toBeGreaterThan(0);
        expect(ledger.block(head.height - 1)!.hash.equals(head.headHash)).toBe(true);
        const held = ledger.block(head.height - 1)!.transactions;
        expect(
          held.some((t) => cipher.open(t).body.equals(p)),
          'the head is that of the block holding the partial',
        ).toBe(true);
        // …sealed: the block's bytes are not the partial's (chainCipher.ts).
        expect(held.some((t) => t.body.includes(p.subarray(24, 40)))).toBe(false);
        expect(head.height).toBeGreaterThanOrEqual(newest.height);
        newest = head;
      }
      const state = () => {
        const { rejected: _r, retained: _m, ...c } = ledger.counters();
        return { height: ledger.height(), pending: ledger.health().pendingTransactions, ...c };
      };
      const before = state();
      const forged = Buffer.from(partials[1]![0]!);
      forged[forged.length - 1]! ^= 1;
      const refusals: [Buffer, number, string][] = [
        [partials[0]![0]!, 409, 'REPLAY'],
        [forged, 401, 'BAD_MAC'],
        [partials[1]![0]!.subarray(0, 30), 400, 'MALFORMED_MESSAGE'],
      ];
      for (const [body, status, code] of refusals) {
        const res = await postPartial(body);
        expect(res.status).toBe(status);
        expect(res.json()).toMatchObject({ ok: false, code });
        expect(lines.filter((l) => l.code === code)).toHaveLength(1);
      }
      expect(state()).toEqual(before);
      expect(ledger.counters().rejected).toEqual({ REPLAY: 1, BAD_MAC: 1, MALFORMED_MESSAGE: 1 });

      for (const p of partials[1]!) expect((await postPartial(p)).status).toBe(202);
      for (const ian of [0, 1]) {
        const res = await httpsCall(`${server.url}/v1/restore`, {
          ca,
          client: operator,
          body: JSON.stringify({ ian, round: 0 }),
          contentType: 'application/json',
        });
        const r = RestoreOutcome.parse(res.json());
        expect(r).toMatchObject({ status: 'restored', contributors: [0, 1, 2, 3, 4] });
        // The operator gets no noise-free values (it holds no content key); the ledger has them.
        if (r.status === 'restored') expect(r.estimates).toEqual([]);
        const held = ledger.node.contract.restoredOf(ian, 0)!;
        expect(held.estimates.map((e) => e.estimate)).toEqual(TOTALS);
      }
      const q = await httpsCall(`${server.url}/v1/queries`, {
        ca,
        client: oem0,
        body: queryBytes(dep, 0),
      });
      expect(q.status).toBe(200);
      const accepted = QueryAccepted.parse(q.json());
      expect(accepted.answer.dimensions.map((d) => d.total)).toEqual(TOTALS.map((t) => 2 * t));
      expect(verifyChainHead(chainHeadFromJson(accepted.head), ledger.head().publicKey)).toBe(true);
      const over = await httpsCall(`${server.url}/v1/queries`, {
        ca,
        client: oem0,
        body: queryBytes(dep, 0, { number: 1, timestamp: T0 + 1 }),
      });
      expect(over.status).toBe(403);
      expect(over.json()).toMatchObject({ code: 'BUDGET_EXCEEDED' });

      await ledger.flush();
      const page = BlockPage.parse((await get('/v1/blocks?limit=64')).json());
      const kinds = page.blocks.flatMap((b) => b.transactions.map((t) => t.kind));
      expect(kinds.filter((k) => k === 'partial')).toHaveLength(10);
      expect(kinds.filter((k) => k === 'restore')).toHaveLength(2);
      expect(kinds.filter((k) => k === 'query')).toHaveLength(1);
      expect(kinds.filter((k) => k === 'answer')).toHaveLength(1);
      expect(page.height).toBe(ledger.height());
      const last = await get(`/v1/blocks/${page.height - 1}`);
      expect(Block.parse(last.json())).toEqual(page.blocks.at(-1));
      expect((await get(`/v1/blocks/${page.height}`)).status).toBe(404);
      const head = chainHeadFromJson(ChainHead.parse((await get('/v1/head')).json()));
      expect(head).toMatchObject({ height: page.height, deployment: name });
      expect(head.headHash.toString('hex')).toBe(page.blocks.at(-1)!.hash);
      const verify = await get('/v1/verify');
      expect(verify.status).toBe(200);
      expect(VerifyReport.parse(verify.json())).toMatchObject({ ok: true, transactions: 14 });
      const health = await httpsCall(`${server.url}/v1/health`, { ca, client: gateway(0, 1) });
      expect(LedgerHealth.parse(health.json())).toEqual({
        ok: true,
        height: page.height,
        pendingTransactions: 0,
      });
      // Finding 10: health names no path.
      expect(health.text).not.toContain(dir);
      expect(health.text).not.toContain('sqlite');
    } finally {
      await server.close();
      await ledger.close();
    }
  });
});
