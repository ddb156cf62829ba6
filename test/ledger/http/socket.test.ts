import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockPage, PartialAccepted } from '../../../src/ledger/http/schemas.js';
import { type LedgerApiServer, startLedgerApi } from '../../../src/ledger/http/server.js';
import {
  captureLogs,
  HOLD_BATCH_MS,
  openTestLedger,
  queued,
  roundPartials,
  T0,
  testDeployment,
} from './fixtures.js';

describe('insecure: plain HTTP over a real socket (127.0.0.1, port 0)', () => {
  const dep = testDeployment();
  // Blocks of 2 and no batch timer: a block commits when its second transaction arrives
  // (or on flush), and a partial is answered once its block is committed.
  const { ledger, dispose } = openTestLedger(dep, {
    clock: () => T0,
    batchSize: 2,
    batchDelayMs: HOLD_BATCH_MS,
  });
  const { logger, lines } = captureLogs();
  let server: LedgerApiServer;
  beforeAll(async () => {
    server = await startLedgerApi(ledger, { logger, host: '127.0.0.1', port: 0, insecure: true });
  });
  afterAll(async () => {
    await server.close();
    await dispose();
  });

  it('says INSECURE once at start, listens on a free loopback port and serves everyone', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const warnings = lines.filter((l) => String(l.msg).startsWith('INSECURE:'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.level).toBe(40);
    const [p1, p2, p3] = roundPartials(dep, 0, 0);
    // The first waits in the pending batch until the second fills it: both are answered then.
    const first = await queued(ledger, () =>
      fetch(`${server.url}/v1/partials`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: p1,
      }),
    );
    expect(ledger.health()).toMatchObject({ height: 0, pendingTransactions: 1 });
    const json = await fetch(`${server.url}/v1/partials`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ partial: p2!.toString('base64') }),
    });
    expect(json.status).toBe(202);
    const raw = await first.answer;
    expect(raw.status).toBe(202);
    expect(PartialAccepted.parse(await raw.json())).toMatchObject({ gateway: 1 });

    const replay = await fetch(`${server.url}/v1/partials`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: p1,
    });
    expect(replay.status).toBe(409);
    expect(await replay.json()).toMatchObject({ ok: false, code: 'REPLAY' });
    expect(lines.filter((l) => l.code === 'REPLAY')).toHaveLength(1);

    // A body larger than the limit, announced by Content-Length: refused before it is read.
    const huge = await fetch(`${server.url}/v1/partials`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(3 * 1024 * 1024),
    });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ code: 'OVERSIZED_MESSAGE' });

    // The third is accepted and pending: not yet answered, since its block is not committed.
    const third = await queued(ledger, () =>
      fetch(`${server.url}/v1/partials`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: p3,
      }),
    );

    const blocks = BlockPage.parse(await (await fetch(`${server.url}/v1/blocks`)).json());
    expect(blocks.blocks.map((b) => b.transactions.length)).toEqual([2]);
    const health = await fetch(`${server.url}/v1/health`);
    expect(await health.json()).toEqual({ ok: true, height: 1, pendingTransactions: 1 });
    const metrics = await fetch(`${server.url}/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    expect(await metrics.text()).toContain('privagg_ledger_partials_accepted_total 3\n');

    // Its block commits on flush, and then it is answered, with that block's head.
    await ledger.flush();
    const answered = await third.answer;
    expect(answered.status).toBe(202);
    expect(PartialAccepted.parse(await answered.json()).head.height).toBe(2);
  });
});
