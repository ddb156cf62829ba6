import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openEmbeddedLedger } from '../../../src/ledger/embeddedLedger.js';
import {
  Block,
  BlockPage,
  LedgerHealth,
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

/** The API over the real embedded SQLite ledger (temp file), on a real socket. */
describe('over the embedded SQLite ledger', () => {
  const dir = mkdtempSync(join(tmpdir(), 'privagg-ledger-http-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts, refuses without changing state, restores, answers, and serves the chain', async () => {
    const dep = testDeployment();
    const file = join(dir, 'ledger.sqlite');
    const ledger = openEmbeddedLedger({
      file,
      config: { params: dep.params, oems: [OEM_FULL, OEM_PARTIAL] },
      ledgerKey: dep.registry.ledgerKey(),
      nodeKey: Buffer.alloc(32, 7),
      clock: () => T0,
    });
    const { logger, lines } = captureLogs();
    const server = await startLedgerApi(ledger, { logger });
    const send = (path: string, body: Buffer) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body,
      });
    const postJson = (path: string, value: unknown) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(value),
      });
    try {
      const partials = [0, 1].map((v) => roundPartials(dep, v, 0));
      for (const p of partials[0]!) expect((await send('/v1/partials', p)).status).toBe(202);
      const state = () => {
        const { rejected: _r, ...c } = ledger.counters();
        return { height: ledger.height(), pending: ledger.health().pendingTransactions, ...c };
      };
      const before = state();
      const forged = Buffer.from(partials[1]![0]!);
      forged[forged.length - 1]! ^= 1;
      const refusals: [Buffer, number, string][] = [
        [partials[0]![0]!, 409, 'REPLAY'],
        [forged, 401, 'BAD_MAC'],
        [partials[1]![0]!.subarray(0, 20), 400, 'MALFORMED_MESSAGE'],
      ];
      for (const [body, status, code] of refusals) {
        const res = await send('/v1/partials', body);
        expect(res.status).toBe(status);
        expect(await res.json()).toMatchObject({ ok: false, code });
        expect(lines.filter((l) => l.code === code)).toHaveLength(1);
      }
      expect(state()).toEqual(before);
      expect(ledger.counters().rejected).toEqual({ REPLAY: 1, BAD_MAC: 1, MALFORMED_MESSAGE: 1 });

      for (const p of partials[1]!) expect((await send('/v1/partials', p)).status).toBe(202);
      for (const ian of [0, 1]) {
        const r = RestoreOutcome.parse(
          await (await postJson('/v1/restore', { ian, round: 0 })).json(),
        );
        expect(r).toMatchObject({ status: 'restored', contributors: [0, 1, 2, 3, 4] });
        if (r.status === 'restored') expect(r.estimates.map((e) => e.estimate)).toEqual(TOTALS);
      }
      const q = await send('/v1/queries', queryBytes(dep, 0));
      expect(q.status).toBe(200);
      const answer = QueryAccepted.parse(await q.json()).answer;
      expect(answer.dimensions.map((d) => d.total)).toEqual(TOTALS.map((t) => 2 * t));
      const over = await send('/v1/queries', queryBytes(dep, 0, { number: 1, timestamp: T0 + 1 }));
      expect(over.status).toBe(403);
      expect(await over.json()).toMatchObject({ code: 'BUDGET_EXCEEDED' });

      await ledger.flush();
      const page = BlockPage.parse(await (await fetch(`${server.url}/v1/blocks?limit=100`)).json());
      const kinds = page.blocks.flatMap((b) => b.transactions.map((t) => t.kind));
      expect(kinds.filter((k) => k === 'partial')).toHaveLength(10);
      expect(kinds.filter((k) => k === 'restore')).toHaveLength(2);
      expect(kinds.filter((k) => k === 'query')).toHaveLength(1);
      expect(kinds.filter((k) => k === 'answer')).toHaveLength(1);
      expect(page.height).toBe(ledger.height());
      const last = await fetch(`${server.url}/v1/blocks/${page.height - 1}`);
      expect(Block.parse(await last.json())).toEqual(page.blocks.at(-1));
      expect((await fetch(`${server.url}/v1/blocks/${page.height}`)).status).toBe(404);
      const verify = await fetch(`${server.url}/v1/verify`);
      expect(verify.status).toBe(200);
      expect(VerifyReport.parse(await verify.json())).toMatchObject({ ok: true, transactions: 14 });
      const health = LedgerHealth.parse(await (await fetch(`${server.url}/v1/health`)).json());
      expect(health).toMatchObject({ ok: true, height: page.height, file });
    } finally {
      await server.close();
      await ledger.close();
    }
  });
});
