import Database from 'better-sqlite3';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/errors.js';
import { ChainCipher } from '../../../src/ledger/chainCipher.js';
import {
  Block,
  BlockPage,
  LedgerHealth,
  MAX_BLOCKS_PER_PAGE,
  VerifyReport,
} from '../../../src/ledger/http/schemas.js';
import {
  asJson,
  binary,
  expectRefused,
  type Harness,
  HOLD_BATCH_MS,
  harness,
  queryBytes,
  queued,
  roundPartials,
} from './fixtures.js';

const get = (url: string) => ({ method: 'GET' as const, url });

/** Prometheus text exposition: `name{labels} value` samples, keyed by `name{labels}`. */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) {
      if (line.startsWith('#')) expect(line).toMatch(/^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/);
      continue;
    }
    const m = line.match(
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.e+-]+|\+Inf|NaN)$/,
    );
    expect(m, line).not.toBeNull();
    const key = `${m![1]}${m![2] ?? ''}`;
    expect(samples.has(key), `duplicate sample ${key}`).toBe(false);
    samples.set(key, Number(m![3]));
  }
  return samples;
}

describe('chain reads', () => {
  let h: Harness;
  let partials: Buffer[];
  /** The answers to the six submissions, some held until their block commits. */
  let answers: Promise<LightMyRequestResponse>[];
  beforeEach(async () => {
    // Blocks of 4 transactions: 5 partials + 1 restore = one full block and 2 pending. The
    // ledger answers a submission once its block commits, so each is sent without waiting
    // for its answer, only until the ledger has queued it (in order); no batch timer runs.
    h = await harness({ batchSize: 4, batchDelayMs: HOLD_BATCH_MS });
    partials = roundPartials(h.dep, 0, 0);
    answers = [];
    for (const p of partials) {
      const sent = await queued(h.ledger, () =>
        h.app.inject({ method: 'POST', url: '/v1/partials', ...binary(p) }),
      );
      answers.push(sent.answer);
    }
    const restore = await queued(h.ledger, () =>
      h.app.inject({ method: 'POST', url: '/v1/restore', ...asJson({ ian: 0, round: 0 }) }),
    );
    answers.push(restore.answer);
  });
  afterEach(async () => {
    // The held answers come with the commit (flush; a no-op once the ledger is closed).
    await h.ledger.flush();
    expect((await Promise.all(answers)).map((r) => r.statusCode)).toEqual([
      202, 202, 202, 202, 202, 200,
    ]);
    await h.app.close();
  });

  it('GET /v1/blocks lists committed blocks with hex hashes and base64 bodies', async () => {
    const first = BlockPage.parse((await h.app.inject(get('/v1/blocks'))).json());
    expect(first).toMatchObject({ height: 1, from: 0 });
    expect(first.blocks).toHaveLength(1);
    await h.ledger.flush();
    const page = BlockPage.parse((await h.app.inject(get('/v1/blocks?from=0&limit=10'))).json());
    expect(page.height).toBe(2);
    const txs = page.blocks.flatMap((b) => b.transactions);
    expect(txs.map((t) => t.kind)).toEqual([...partials.map(() => 'partial'), 'restore']);
    // The chain holds partials sealed under its content key (chainCipher.ts): opened, the
    // bodies served are the partials.
    const cipher = new ChainCipher(h.dep.registry.ledgerKey().chainContentKey!);
    const bodies = txs.slice(0, 5).map((t) => ({ ...t, body: Buffer.from(t.body, 'base64') }));
    expect(bodies.map((t) => cipher.open(t).body)).toEqual(partials);
    expect(txs[0]).toMatchObject({ ian: 0, round: 0, gateway: 1 });
    expect(page.blocks[1]!.previousHash).toBe(page.blocks[0]!.hash);
    expect(page.blocks[0]!.previousHash).toBe('0'.repeat(64));
    const ledgerBlock = h.ledger.block(1)!;
    expect(page.blocks[1]).toMatchObject({
      height: 1,
      hash: ledgerBlock.hash.toString('hex'),
      merkleRoot: ledgerBlock.merkleRoot.toString('hex'),
      signature: ledgerBlock.signature.toString('hex'),
    });

    const second = BlockPage.parse((await h.app.inject(get('/v1/blocks?from=1&limit=1'))).json());
    expect(second.blocks.map((b) => b.height)).toEqual([1]);
    const past = BlockPage.parse((await h.app.inject(get('/v1/blocks?from=50'))).json());
    expect(past).toEqual({ height: 2, from: 50, blocks: [] });
  });

  it('GET /v1/blocks/:height returns one block, 404 BLOCK_NOT_FOUND past the tip', async () => {
    const res = await h.app.inject(get('/v1/blocks/0'));
    expect(res.statusCode).toBe(200);
    const block = Block.parse(res.json());
    const listed = BlockPage.parse((await h.app.inject(get('/v1/blocks'))).json()).blocks[0];
    expect(block).toEqual(listed);
    await expectRefused(h, get('/v1/blocks/1'), 404, 'BLOCK_NOT_FOUND', 'http');
    await expectRefused(h, get('/v1/blocks/999999'), 404, 'BLOCK_NOT_FOUND', 'http');
  });

  it('bad paging and heights are 400 INVALID_ARGUMENT', async () => {
    for (const url of [
      `/v1/blocks?limit=${MAX_BLOCKS_PER_PAGE + 1}`,
      '/v1/blocks?limit=0',
      '/v1/blocks?from=-1',
      '/v1/blocks?from=1e3',
      '/v1/blocks?from=abc',
      '/v1/blocks?limit=2&limit=3',
      '/v1/blocks?cursor=1',
      '/v1/blocks/-1',
      '/v1/blocks/1.5',
      '/v1/blocks/abc',
      '/v1/blocks/99999999999999999999',
      `/v1/blocks/${'1'.repeat(150)}`,
      '/v1/blocks/%ZZ',
    ]) {
      await expectRefused(h, get(url), 400, ErrorCode.INVALID_ARGUMENT, 'http');
    }
    const page = BlockPage.parse(
      (await h.app.inject(get(`/v1/blocks?limit=${MAX_BLOCKS_PER_PAGE}`))).json(),
    );
    expect(page.blocks).toHaveLength(1);
  });

  it('GET /v1/verify is 200 on a good chain and 409 CHAIN_INVALID on a tampered one', async () => {
    await h.ledger.flush();
    const ok = await h.app.inject(get('/v1/verify'));
    expect(ok.statusCode).toBe(200);
    expect(VerifyReport.parse(ok.json())).toMatchObject({ ok: true, blocks: 2, transactions: 6 });

    // Change one byte of a committed transaction in the file, as an attacker with it could.
    const db = new Database(h.file);
    const row = db.prepare('SELECT body FROM transactions WHERE height = 1 AND idx = 0').get() as {
      body: Buffer;
    };
    row.body[0]! ^= 1;
    db.prepare('UPDATE transactions SET body = ? WHERE height = 1 AND idx = 0').run(row.body);
    db.close();
    const logged = h.lines.length;
    const bad = await h.app.inject(get('/v1/verify'));
    expect(bad.statusCode).toBe(409);
    expect(VerifyReport.parse(bad.json())).toMatchObject({
      ok: false,
      code: 'CHAIN_INVALID',
      firstBad: { height: 1, reason: expect.stringMatching(/^Merkle root/) },
    });
    expect(h.lines.slice(logged)).toHaveLength(1);
    expect(h.lines.at(-1)).toMatchObject({ code: 'CHAIN_INVALID', status: 409, level: 50 });
  });

  it('GET /v1/health is 200 while healthy and 503 after the ledger closed', async () => {
    const res = await h.app.inject(get('/v1/health'));
    expect(res.statusCode).toBe(200);
    expect(LedgerHealth.parse(res.json())).toEqual({ ok: true, height: 1, pendingTransactions: 2 });
    await h.ledger.close();
    const down = await h.app.inject(get('/v1/health'));
    expect(down.statusCode).toBe(503);
    expect(LedgerHealth.parse(down.json())).toMatchObject({ ok: false, height: 2 });
  });
});

describe('GET /metrics', () => {
  it('is Prometheus text whose counters move with accepted and refused requests', async () => {
    const h = await harness({ batchSize: 1000 });
    const scrape = async () => {
      const res = await h.app.inject(get('/metrics'));
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      return parseMetrics(res.body);
    };
    const before = await scrape();
    expect(before.get('privagg_ledger_partials_accepted_total')).toBe(0);
    expect(before.get('privagg_ledger_rejected_total{code="BAD_MAC"}')).toBe(0);
    expect(before.get('privagg_ledger_blocks')).toBe(0);
    expect(before.get('process_resident_memory_bytes')).toBeGreaterThan(0);

    const [p1, p2] = roundPartials(h.dep, 0, 0);
    const forged = Buffer.from(p2!);
    forged[forged.length - 1]! ^= 1;
    const post = (b: Buffer) => h.app.inject({ method: 'POST', url: '/v1/partials', ...binary(b) });
    await post(p1!);
    await post(p1!);
    await post(forged);
    await h.app.inject({
      method: 'POST',
      url: '/v1/partials',
      headers: { 'content-type': 'text/plain' },
      payload: 'x',
    });
    await h.app.inject(get('/nowhere'));
    await h.app.inject({ method: 'POST', url: '/v1/queries', ...binary(queryBytes(h.dep, 0)) });
    await h.ledger.flush();

    const after = await scrape();
    expect(after.get('privagg_ledger_partials_accepted_total')).toBe(1);
    expect(after.get('privagg_ledger_rejected_total{code="REPLAY"}')).toBe(1);
    expect(after.get('privagg_ledger_rejected_total{code="BAD_MAC"}')).toBe(1);
    // No round is restored yet, so the query is WRONG_ROUND.
    expect(after.get('privagg_ledger_rejected_total{code="WRONG_ROUND"}')).toBe(1);
    expect(after.get('privagg_ledger_queries_answered_total')).toBe(0);
    expect(after.get('privagg_ledger_blocks')).toBe(1);
    expect(after.get('privagg_ledger_transactions')).toBe(1);
    expect(after.get('privagg_ledger_pending_transactions')).toBe(0);
    expect(after.get('privagg_ledger_up')).toBe(1);
    const http = (labels: string) => after.get(`privagg_http_requests_total{${labels}}`);
    expect(http('method="POST",route="/v1/partials",status="202"')).toBe(1);
    expect(http('method="POST",route="/v1/partials",status="409"')).toBe(1);
    expect(http('method="POST",route="/v1/partials",status="401"')).toBe(1);
    expect(http('method="POST",route="/v1/partials",status="415"')).toBe(1);
    expect(http('method="GET",route="(unmatched)",status="404"')).toBe(1);
    expect(http('method="GET",route="/metrics",status="200"')).toBe(1);
    const refused = (labels: string) => after.get(`privagg_http_rejected_total{${labels}}`);
    expect(refused('route="/v1/partials",code="UNSUPPORTED_MEDIA_TYPE"')).toBe(1);
    expect(refused('route="(unmatched)",code="NOT_FOUND"')).toBe(1);
    expect(refused('route="/v1/queries",code="WRONG_ROUND"')).toBe(1);
    expect(after.get('privagg_http_request_duration_seconds_count{route="/v1/partials"}')).toBe(4);
    expect(
      after.get('privagg_http_request_duration_seconds_bucket{route="/v1/partials",le="+Inf"}'),
    ).toBe(4);
    await h.app.close();
  });
});
