import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chainHeadFromJson, verifyChainHead } from '../../../src/ledger/chainHead.js';
import {
  PartialAccepted,
  QueryAccepted,
  RestoreOutcome,
} from '../../../src/ledger/http/schemas.js';
import { bodyLimitFor } from '../../../src/ledger/http/server.js';
import { systemRandom } from '../../../src/math/random.js';
import { maxPartialBytesOf, partialBytesOf } from '../../../src/schemes/maas/partialCodec.js';
import {
  asJson,
  binary,
  CURRENT_ROUND,
  expectRefused,
  type Harness,
  harness,
  ledgerState,
  queryBytes,
  roundPartials,
  T0,
  TOTALS,
} from './fixtures.js';

const post = (
  url: string,
  body: { headers: Record<string, string>; payload: string | Buffer },
) => ({
  method: 'POST' as const,
  url,
  ...body,
});

describe('POST /v1/partials', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(() => h.app.close());

  it('accepts a partial as raw bytes (202) and as base64 JSON', async () => {
    const [p1, p2] = roundPartials(h.dep, 0, 0);
    const a = await h.app.inject(post('/v1/partials', binary(p1!)));
    expect(a.statusCode).toBe(202);
    const accepted = PartialAccepted.parse(a.json());
    expect(accepted).toMatchObject({ ok: true, ian: 0, round: 0, gateway: 1, attempt: 0 });
    // The signed head the ledger gives with every acknowledgement verifies under its key.
    const head = chainHeadFromJson(accepted.head);
    expect(head.deployment).toBe(h.dep.params.deployment);
    expect(verifyChainHead(head, h.ledger.head().publicKey)).toBe(true);
    const b = await h.app.inject(post('/v1/partials', asJson({ partial: p2!.toString('base64') })));
    expect(b.statusCode).toBe(202);
    expect(b.json()).toMatchObject({ ok: true, gateway: 2 });
    expect(h.ledger.counters().partialsAccepted).toBe(2);
    expect(h.ledger.node.contract.partialsOf(0, 0).map((p) => p.gateway)).toEqual([1, 2]);
    // Accepted requests log nothing at level info.
    expect(h.lines).toEqual([]);
  });

  it('refuses bad submissions with their status and code, logs each once, changes nothing', async () => {
    const partials = roundPartials(h.dep, 0, 0);
    for (const p of partials.slice(0, 3)) {
      expect((await h.app.inject(post('/v1/partials', binary(p)))).statusCode).toBe(202);
    }
    const fresh = partials[3]!;

    // Bytes that do not decode.
    await expectRefused(
      h,
      post('/v1/partials', binary(fresh.subarray(0, 30))),
      400,
      'MALFORMED_MESSAGE',
    );
    await expectRefused(h, post('/v1/partials', binary(Buffer.alloc(0))), 400, 'MALFORMED_MESSAGE');
    const wrongVersion = Buffer.from(fresh);
    wrongVersion[0] = 9;
    await expectRefused(h, post('/v1/partials', binary(wrongVersion)), 400, 'UNSUPPORTED_VERSION');
    // An IAN the deployment does not have (bytes 6–7): unknown sender, before any MAC.
    const unknown = Buffer.from(fresh);
    unknown.writeUInt16BE(7, 6);
    await expectRefused(h, post('/v1/partials', binary(unknown)), 403, 'UNKNOWN_SENDER');
    // A gateway index past m (byte 4).
    const noGateway = Buffer.from(fresh);
    noGateway[4] = 9;
    await expectRefused(h, post('/v1/partials', binary(noGateway)), 403, 'UNKNOWN_SENDER');
    // A tag that does not verify.
    const forged = Buffer.from(fresh);
    forged[forged.length - 1]! ^= 1;
    await expectRefused(h, post('/v1/partials', binary(forged)), 401, 'BAD_MAC');
    // A genuine partial accepted before: a replay.
    await expectRefused(h, post('/v1/partials', binary(partials[0]!)), 409, 'REPLAY');
    await expectRefused(
      h,
      post('/v1/partials', asJson({ partial: partials[1]!.toString('base64') })),
      409,
      'REPLAY',
    );
    // A genuine partial delivered after the freshness window.
    h.clock.now = T0 + h.dep.params.freshnessWindowMs + 1;
    await expectRefused(h, post('/v1/partials', binary(fresh)), 422, 'STALE_TIMESTAMP');
    h.clock.now = T0;

    // Longer or shorter than this deployment's partials (but within the body limit): refused
    // from the size alone, before the contract decodes anything.
    const size = partialBytesOf(h.dep.params);
    const longer = Buffer.concat([fresh, Buffer.alloc(8)]);
    await expectRefused(h, post('/v1/partials', binary(longer)), 413, 'OVERSIZED_MESSAGE');
    await expectRefused(
      h,
      post('/v1/partials', binary(fresh.subarray(0, size - 1))),
      400,
      'MALFORMED_MESSAGE',
    );
    // A header claiming another roster size, at the right length: malformed, no decode.
    const roster = Buffer.from(fresh);
    roster.writeUInt32BE(4_000_000, 20);
    await expectRefused(h, post('/v1/partials', binary(roster)), 400, 'MALFORMED_MESSAGE');

    // Refused by HTTP before the service sees anything: over the body limit.
    await expectRefused(
      h,
      // The largest partial: a first one with every device's verifier entry (input validity).
      post('/v1/partials', binary(Buffer.alloc(bodyLimitFor(maxPartialBytesOf(h.dep.params)) + 1))),
      413,
      'OVERSIZED_MESSAGE',
      'http',
    );
    await expectRefused(
      h,
      post('/v1/partials', { headers: { 'content-type': 'text/plain' }, payload: 'hello' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'http',
    );
    await expectRefused(
      h,
      post('/v1/partials', { headers: { 'content-type': 'application/xml' }, payload: '<a/>' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'http',
    );
    await expectRefused(
      h,
      post('/v1/partials', {
        headers: { 'content-type': 'application/json' },
        payload: '{"partial":',
      }),
      400,
      'MALFORMED_MESSAGE',
      'http',
    );
    await expectRefused(
      h,
      post('/v1/partials', { headers: { 'content-type': 'application/json' }, payload: '' }),
      400,
      'MALFORMED_MESSAGE',
      'http',
    );
    for (const body of [
      { partial: 12 },
      { partial: 'not base64!' },
      { partial: fresh.toString('base64'), extra: 1 },
      [fresh.toString('base64')],
      { ['__proto__']: { partial: 'AA==' } },
    ]) {
      await expectRefused(h, post('/v1/partials', asJson(body)), 400, 'MALFORMED_MESSAGE', 'http');
    }
    await expectRefused(
      h,
      { method: 'POST', url: '/v1/partials' },
      400,
      'MALFORMED_MESSAGE',
      'http',
    );

    // Nothing of the above got in: the fourth genuine partial is still accepted, and the
    // round restores to exactly the readings' totals. The fifth is sent too: at the default
    // f = 2 a restore needs k + f = 5 partials (4 would fail the round), and with all five
    // any altered partial would be detected, so the restore also vouches that none got in.
    const ok = await h.app.inject(post('/v1/partials', binary(fresh)));
    expect(ok.statusCode).toBe(202);
    expect((await h.app.inject(post('/v1/partials', binary(partials[4]!)))).statusCode).toBe(202);
    const restored = await h.app.inject(post('/v1/restore', asJson({ ian: 0, round: 0 })));
    expect(restored.statusCode).toBe(200);
    const outcome = RestoreOutcome.parse(restored.json());
    expect(outcome).toMatchObject({
      status: 'restored',
      contributors: [0, 1, 2, 3, 4],
      crossChecked: true,
      liars: [],
    });
    if (outcome.status === 'restored') {
      expect(outcome.gateways).toEqual([1, 2, 3, 4, 5]);
      // The operator gets no noise-free values (it holds no content key); the ledger has them.
      expect(outcome.estimates).toEqual([]);
      const held = h.ledger.node.contract.restoredOf(0, 0)!;
      expect(held.estimates.map((e) => e.estimate)).toEqual(TOTALS);
    }
  });

  it('a crafted 0.5 MB partial is refused with 413 before it is read or decoded', async () => {
    // Finding 7: a partial claiming a roster of millions cost ~200× the CPU and ~25 MiB.
    const huge = Buffer.alloc(512 * 1024);
    huge[0] = 1;
    huge[1] = 2;
    huge.writeUInt32BE(4_000_000, 20);
    await expectRefused(h, post('/v1/partials', binary(huge)), 413, 'OVERSIZED_MESSAGE', 'http');
    await expectRefused(
      h,
      post('/v1/partials', asJson({ partial: huge.toString('base64') })),
      413,
      'OVERSIZED_MESSAGE',
      'http',
    );
    // The limits are the exact message sizes, base64 JSON included: a first partial from
    // every device of the roster is the largest (one verifier entry each), re-aggregations
    // carry none.
    const partial = roundPartials(h.dep, 0, 0)[0]!;
    expect(partial.length).toBe(maxPartialBytesOf(h.dep.params));
    expect(partialBytesOf(h.dep.params)).toBeLessThan(partial.length);
    const json = JSON.stringify({ partial: partial.toString('base64') });
    expect(json.length).toBeLessThanOrEqual(bodyLimitFor(partial.length));
    expect((await h.app.inject(post('/v1/partials', asJson(JSON.parse(json))))).statusCode).toBe(
      202,
    );
  });
});

describe('POST /v1/restore', () => {
  it('restores, reconciles or fails with the RestoreOutcome; bad bodies are 4xx', async () => {
    const h = await harness();
    for (const p of roundPartials(h.dep, 0, 0))
      expect((await h.app.inject(post('/v1/partials', binary(p)))).statusCode).toBe(202);
    const res = await h.app.inject(post('/v1/restore', asJson({ ian: 0, round: 0 })));
    expect(res.statusCode).toBe(200);
    const outcome = RestoreOutcome.parse(res.json());
    expect(outcome).toMatchObject({ status: 'restored', ian: 0, round: 0, crossChecked: true });

    // Fewer than k partials: failed, still a 200 (an outcome, not a refusal).
    const two = roundPartials(h.dep, 1, 0).slice(0, 2);
    for (const p of two) await h.app.inject(post('/v1/partials', binary(p)));
    const failed = await h.app.inject(post('/v1/restore', asJson({ ian: 1, round: 0 })));
    expect(failed.statusCode).toBe(200);
    expect(RestoreOutcome.parse(failed.json())).toMatchObject({ status: 'failed', ian: 1 });

    // Gateways 1–3 each miss a different device, 4 and 5 hold all: no k = 3 agree, so the
    // ledger asks k + f = 5 of them (the default f = 2: all) to re-aggregate over the
    // devices they all hold.
    const gws = [1, 2, 3, 4, 5].map((l) => h.dep.gateway(0, l));
    for (const g of gws) g.beginRound(1);
    for (let i = 0; i < 5; i++) {
      for (const m of h.dep.device(0, i).report(1, [1, 1], T0, systemRandom))
        if (m.gateway - 1 !== i || m.gateway > 3) gws[m.gateway - 1]!.ingest(m.bytes, T0);
    }
    for (const g of gws) await h.app.inject(post('/v1/partials', binary(g.closeRound(T0).partial)));
    const ask = await h.app.inject(post('/v1/restore', asJson({ ian: 0, round: 1 })));
    expect(RestoreOutcome.parse(ask.json())).toMatchObject({
      status: 'reconcile',
      attempt: 1,
      contributors: [3, 4],
      gateways: [1, 2, 3, 4, 5],
    });

    for (const body of [
      { ian: -1, round: 0 },
      { ian: 65_536, round: 0 },
      { ian: 0, round: 2 ** 32 },
      { ian: 0.5, round: 0 },
      { ian: '0', round: 0 },
      { ian: 0 },
      { ian: 0, round: 0, extra: true },
    ]) {
      await expectRefused(h, post('/v1/restore', asJson(body)), 400, 'MALFORMED_MESSAGE', 'http');
    }
    await expectRefused(
      h,
      post('/v1/restore', binary(Buffer.from([0, 0]))),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'http',
    );
    await expectRefused(
      h,
      post('/v1/restore', asJson({ ian: 0, round: 0, pad: 'x'.repeat(2000) })),
      413,
      'OVERSIZED_MESSAGE',
      'http',
    );
    await h.app.close();
  });

  it('refuses what could fail a healthy round or lift the bound on queries (finding 4)', async () => {
    const h = await harness();
    // An IAN the deployment does not have.
    await expectRefused(
      h,
      post('/v1/restore', asJson({ ian: 2, round: 0 })),
      400,
      'INVALID_ARGUMENT',
      'http',
    );
    // A round that has not ended, or beyond any round the clock allows.
    for (const round of [CURRENT_ROUND, CURRENT_ROUND + 1, 2 ** 32 - 1]) {
      await expectRefused(
        h,
        post('/v1/restore', asJson({ ian: 0, round })),
        422,
        'WRONG_ROUND',
        'http',
      );
    }
    expect(h.ledger.node.contract.latestFinalRound).toBe(-1);

    // A healthy round, restored once: a repeated request is refused and adds nothing.
    for (const p of roundPartials(h.dep, 0, 3))
      expect((await h.app.inject(post('/v1/partials', binary(p)))).statusCode).toBe(202);
    const first = await h.app.inject(post('/v1/restore', asJson({ ian: 0, round: 3 })));
    expect(RestoreOutcome.parse(first.json())).toMatchObject({ status: 'restored', round: 3 });
    await h.ledger.flush();
    const height = h.ledger.height();
    for (let i = 0; i < 20; i++) {
      await expectRefused(
        h,
        post('/v1/restore', asJson({ ian: 0, round: 3 })),
        422,
        'WRONG_ROUND',
        'http',
      );
    }
    await h.ledger.flush();
    expect(h.ledger.height()).toBe(height);
    await h.app.close();
  });

  it('without a round clock, no restore request is taken', async () => {
    const h = await harness({ rounds: undefined });
    await expectRefused(
      h,
      post('/v1/restore', asJson({ ian: 0, round: 0 })),
      422,
      'WRONG_ROUND',
      'http',
    );
    await h.app.close();
  });
});

describe('POST /v1/queries', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
    for (const v of [0, 1]) {
      for (const p of roundPartials(h.dep, v, 0))
        expect((await h.app.inject(post('/v1/partials', binary(p)))).statusCode).toBe(202);
      const r = await h.app.inject(post('/v1/restore', asJson({ ian: v, round: 0 })));
      expect(r.json()).toMatchObject({ status: 'restored' });
    }
  });
  afterEach(() => h.app.close());

  it('answers a valid query (binary and base64 JSON) and spends the budget once', async () => {
    const q = queryBytes(h.dep, 0);
    const res = await h.app.inject(post('/v1/queries', binary(q)));
    expect(res.statusCode).toBe(200);
    const body = QueryAccepted.parse(res.json());
    expect(body.answer).toMatchObject({ oem: 'oem-full', number: 2, ians: [0, 1], cached: false });
    expect(body.answer.spent).toEqual({ epsilon: '3/10', delta: '0' });
    // Both IANs summed: the zero-sum noise cancels and the totals are exact.
    expect(body.answer.dimensions.map((d) => d.total)).toEqual(TOTALS.map((t) => 2 * t));
    expect(h.ledger.counters().queriesAnswered).toBe(1);

    // The same window again (a new message): the cached answer, nothing spent.
    const again = await h.app.inject(
      post(
        '/v1/queries',
        asJson({ query: queryBytes(h.dep, 0, { timestamp: T0 + 1 }).toString('base64') }),
      ),
    );
    expect(again.statusCode).toBe(200);
    expect(QueryAccepted.parse(again.json()).answer).toMatchObject({ cached: true, spent: null });
  });

  it('refuses replayed, forged, stale, unauthorised, denied and over-budget queries', async () => {
    const q = queryBytes(h.dep, 0);
    expect((await h.app.inject(post('/v1/queries', binary(q)))).statusCode).toBe(200);
    await expectRefused(h, post('/v1/queries', binary(q)), 409, 'REPLAY');

    // The budget (0.3) is spent: any other window is refused before it is answered.
    await expectRefused(
      h,
      post('/v1/queries', binary(queryBytes(h.dep, 0, { number: 1, timestamp: T0 + 2 }))),
      403,
      'BUDGET_EXCEEDED',
    );
    // oem-a may not read dimension 1.
    await expectRefused(
      h,
      post('/v1/queries', binary(queryBytes(h.dep, 1, { dimensionMask: 0b10 }))),
      403,
      'ACCESS_DENIED',
    );
    const forged = queryBytes(h.dep, 1, { dimensionMask: 0b01 });
    forged[forged.length - 1]! ^= 0x80;
    await expectRefused(h, post('/v1/queries', binary(forged)), 401, 'BAD_MAC');
    const noOem = queryBytes(h.dep, 1, { dimensionMask: 0b01 });
    noOem.writeUInt16BE(42, 2);
    await expectRefused(h, post('/v1/queries', binary(noOem)), 403, 'UNKNOWN_SENDER');
    await expectRefused(
      h,
      post(
        '/v1/queries',
        binary(queryBytes(h.dep, 1, { dimensionMask: 1, timestamp: T0 - 60_000 })),
      ),
      422,
      'STALE_TIMESTAMP',
    );
    await expectRefused(
      h,
      post('/v1/queries', binary(queryBytes(h.dep, 1, { dimensionMask: 1, endRound: 5 }))),
      422,
      'WRONG_ROUND',
    );
    await expectRefused(
      h,
      post('/v1/queries', binary(Buffer.alloc(56))),
      400,
      'UNSUPPORTED_VERSION',
    );
    await expectRefused(
      h,
      post('/v1/queries', binary(Buffer.alloc(3, 1))),
      400,
      'MALFORMED_MESSAGE',
    );
    await expectRefused(
      h,
      post('/v1/queries', asJson({ query: 'AAAA', partial: 'AAAA' })),
      400,
      'MALFORMED_MESSAGE',
      'http',
    );
    await expectRefused(
      h,
      post('/v1/queries', { headers: { 'content-type': 'text/plain' }, payload: 'q' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'http',
    );

    // oem-a, never refused for budget, still gets its answer.
    const before = ledgerState(h);
    const ok = await h.app.inject(
      post('/v1/queries', binary(queryBytes(h.dep, 1, { dimensionMask: 1 }))),
    );
    expect(ok.statusCode).toBe(200);
    expect(QueryAccepted.parse(ok.json()).answer.spent).toEqual({ epsilon: '1/10', delta: '0' });
    expect(ledgerState(h).answered).toBe(before.answered + 1);
  });
});

describe('routing and internal errors', () => {
  it('unknown routes and methods are 404 NOT_FOUND', async () => {
    const h = await harness();
    await expectRefused(h, { method: 'GET', url: '/v1/nothing' }, 404, 'NOT_FOUND', 'http');
    await expectRefused(h, { method: 'GET', url: '/v1/partials' }, 404, 'NOT_FOUND', 'http');
    await expectRefused(h, { method: 'DELETE', url: '/v1/blocks/0' }, 404, 'NOT_FOUND', 'http');
    expect(h.lines.at(-1)).toMatchObject({ route: '(unmatched)', path: '/v1/blocks/0' });
    await h.app.close();
  });

  it('a service that throws yields 500 INTERNAL without details, logged once', async () => {
    const h = await harness();
    const secret = 'sqlite: disk I/O error at /secret/path key=abcdef';
    h.ledger.addPartial = async () => {
      throw new Error(secret);
    };
    const logged = h.lines.length;
    const res = await h.app.inject(post('/v1/partials', binary(roundPartials(h.dep, 0, 0)[0]!)));
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ ok: false, code: 'INTERNAL', message: 'internal error' });
    expect(res.body).not.toContain('secret');
    expect(res.body).not.toContain('at ');
    const lines = h.lines.slice(logged);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, code: 'INTERNAL', status: 500 });
    await h.app.close();
  });
});

describe('POST /v1/epoch', () => {
  it('without an epoch hook the route is 404 NOT_FOUND; bad bodies are 400', async () => {
    const h = await harness();
    await expectRefused(h, post('/v1/epoch', asJson({ epochMs: T0 })), 404, 'NOT_FOUND', 'http');
    await h.app.close();
    const started: number[] = [];
    const withHook = await harness({
      control: {
        async startEpoch(epochMs) {
          started.push(epochMs);
        },
      },
    });
    for (const body of [
      { epochMs: -1 },
      { epochMs: 1.5 },
      { epochMs: '1' },
      {},
      { epochMs: 1, x: 1 },
    ]) {
      await expectRefused(
        withHook,
        post('/v1/epoch', asJson(body)),
        400,
        'MALFORMED_MESSAGE',
        'http',
      );
    }
    const ok = await withHook.app.inject(post('/v1/epoch', asJson({ epochMs: T0 })));
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ ok: true, epochMs: T0 });
    expect(started).toEqual([T0]);
    await withHook.app.close();
  });
});
