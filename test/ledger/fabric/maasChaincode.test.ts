import './quietFabricLogs.js';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/ledger/canonicalJson.js';
import { MAAS_CONTRACT_NAME } from '../../../src/ledger/fabric/maasChaincode.js';
import { KeyType } from '../../../src/ledger/fabric/stateLayout.js';
import type { RestoreOutcome } from '../../../src/schemes/maas/ledgerContract.js';
import { buildQuery, dimensionMask, type QueryResult } from '../../../src/schemes/maas/query.js';
import { MAX_MESSAGE_BYTES } from '../../../src/wire/maas.js';
import {
  b64,
  COLLECTION,
  deterministicRng,
  initArgs,
  MASTER_SECRET,
  makeDeployment,
  masterTransient,
  NEVER,
  OEMS,
  ROUND_MS,
  reading,
  roundOf,
  T0,
  TwinLedgers,
} from './fixtures.js';
import { invoke, loadChaincode, MemoryWorldState } from './memoryStub.js';

type Restored = Extract<RestoreOutcome, { status: 'restored' }>;

/** Σ readings of `contributors` for (ian, round), per dimension (the truth with LDP off). */
function truth(ian: number, round: number, contributors: readonly number[]): number[] {
  const out = [0, 0];
  for (const i of contributors) {
    const r = reading(ian, i, round);
    out[0]! += r[0]!;
    out[1]! += r[1]!;
  }
  return out;
}

/**
 * The whole life of a deployment — InitLedger, three rounds of real gateway partials with
 * forgeries, replays, stale and malformed messages, a crashed gateway, a lying gateway, a
 * reconciliation, restores and queries — on two independent ledgers and on the core.
 */
async function lifeOfADeployment(ldp: { epsilon: number; delta: number } | null) {
  // f = 1: this life rides out a crashed gateway (k + f = 4 partials) and corrects a liar
  // (m = 5 ≥ k + 2f); the default f = 2 would do neither (liars.test.ts).
  const dep = makeDeployment(ldp, 1);
  const twin = new TwinLedgers(dep);
  const rng = deterministicRng(ldp ? 'ldp' : 'plain');
  const restored: Restored[] = [];

  // Before InitLedger nothing works (and nothing is written).
  const early = await twin.tx(['Add', 'AAAA'], T0);
  expect(early.status).toBe(500);
  expect(early.message).toMatch(/not initialised/);
  expect(early.writes).toEqual([]);

  const init = await twin.tx(['InitLedger', initArgs(dep)], T0, { transient: masterTransient });
  expect(init.status, init.message).toBe(200);
  expect(JSON.parse(init.payload)).toMatchObject({
    deployment: 'fabric-test',
    secretStore: { store: 'private-data', collection: COLLECTION },
  });
  // Secrets went to the collection; only the config is in world state.
  expect(init.writes.filter((w) => w.collection === undefined).map((w) => w.key)).toEqual([
    'privagg.maas.config',
  ]);
  expect(init.writes.filter((w) => w.collection === COLLECTION)).toHaveLength(2 * 5 + 2 + 1);
  // f is part of the stored config (the twins' restores below match the core's f = 1 too).
  const stored = JSON.parse(
    init.writes.find((w) => w.key === 'privagg.maas.config')!.value!.toString(),
  );
  expect(stored.deployment.params.maxLyingGateways).toBe(1);

  // ── Round 0: every gateway of both IANs, plus every kind of bad partial ──
  for (const ian of [0, 1]) {
    const { partials, nowMs } = roundOf(dep, ian, 0, rng);
    const at = nowMs + 1_000;
    if (ian === 0) {
      const p1 = partials.get(1)!;
      const forged = Buffer.from(p1);
      forged[forged.length - 1]! ^= 0xff;
      expect((await twin.add(forged, at)).result).toMatchObject({ ok: false, code: 'BAD_MAC' });
      const unknown = Buffer.from(p1);
      unknown[4] = 9; // the gateway index byte
      expect((await twin.add(unknown, at)).result).toMatchObject({ code: 'UNKNOWN_SENDER' });
      expect((await twin.add(Buffer.from('not a partial'), at)).result).toMatchObject({
        code: 'UNSUPPORTED_VERSION',
      });
      expect((await twin.add(Buffer.from([1, 2, 0]), at)).result).toMatchObject({
        code: 'MALFORMED_MESSAGE',
      });
      expect((await twin.add(Buffer.alloc(MAX_MESSAGE_BYTES + 1), at)).result).toMatchObject({
        code: 'OVERSIZED_MESSAGE',
      });
      // Gateway 5's partial arrives a minute late first (stale), then on time.
      expect((await twin.add(partials.get(5)!, at + ROUND_MS)).result).toMatchObject({
        code: 'STALE_TIMESTAMP',
      });
      // Bytes that are not base64 never reach the core.
      const notBase64 = await twin.tx(['Add', '***'], at);
      expect(JSON.parse(notBase64.payload)).toMatchObject({ ok: false, code: 'MALFORMED_MESSAGE' });
      expect(notBase64.writes).toEqual([]);
    }
    for (const [l, p] of partials) {
      const r = await twin.add(p, at);
      expect(r.result).toMatchObject({ ok: true, ian, round: 0, gateway: l, attempt: 0 });
      expect(r.writes).toHaveLength(1);
    }
    // A replay of an accepted partial, even later in the window.
    const again = await twin.add(partials.get(1)!, at + 5_000);
    expect(again.result).toMatchObject({ ok: false, code: 'REPLAY' });
    expect(again.writes).toEqual([]);
  }
  for (const ian of [0, 1]) {
    const r = await twin.restore(ian, 0, T0 + 2_000);
    expect(r.result.status).toBe('restored');
    restored.push(r.result as Restored);
  }

  // ── Round 1: IAN 0 with gateway 5 down (k + f = 4 remain); IAN 1 needs a re-aggregation ──
  {
    const { partials, nowMs } = roundOf(dep, 0, 1, rng, { down: [5] });
    for (const p of partials.values()) await twin.add(p, nowMs + 1_000);
    const r = await twin.restore(0, 1, nowMs + 2_000);
    expect(r.result).toMatchObject({ status: 'restored', gateways: [1, 2, 3, 4] });
    restored.push(r.result as Restored);
  }
  {
    // Gateways 1..3 each miss a different device, 4 holds all, 5 is down: no k = 3 agree.
    // (With 4 down too, k + f = 4 gateways could not re-sum: the round would fail.)
    const { gateways, partials, nowMs } = roundOf(dep, 1, 1, rng, {
      skip: (l, i) => l <= 3 && i === l - 1,
      down: [5],
    });
    for (const p of partials.values()) await twin.add(p, nowMs + 1_000);
    const ask = await twin.restore(1, 1, nowMs + 2_000);
    expect(ask.result).toMatchObject({
      status: 'reconcile',
      attempt: 1,
      contributors: [3, 4],
      gateways: [1, 2, 3, 4],
    });
    expect(ask.writes).toHaveLength(1); // the request, with its basis
    // Asking again changes nothing and writes nothing.
    const askAgain = await twin.restore(1, 1, nowMs + 2_500);
    expect(askAgain.payload).toBe(ask.payload);
    expect(askAgain.writes).toEqual([]);
    // A re-aggregation over another set than the one asked for (tagged with gateway 1's
    // real key; an honest gateway would not even build it: it re-sums only the sets its
    // no-differencing rule allows, and [4] then [3, 4] differ by one device).
    const wrong = gateways[0]!.buildPartial(
      1,
      [4],
      dep.params.dimensions.map(() => 0n),
      1,
      nowMs + 3_000,
    );
    expect((await twin.add(wrong, nowMs + 3_000)).result).toMatchObject({
      code: 'CONTRIBUTOR_MISMATCH',
    });
    const again: Buffer[] = [];
    for (const l of [1, 2, 3, 4]) {
      const p = gateways[l - 1]!.reaggregate(1, [3, 4], 1, nowMs + 3_000)!;
      again.push(p);
      expect((await twin.add(p, nowMs + 3_000)).result).toMatchObject({ ok: true, attempt: 1 });
    }
    expect((await twin.add(again[0]!, nowMs + 3_500)).result).toMatchObject({ code: 'REPLAY' });
    const done = await twin.restore(1, 1, nowMs + 4_000);
    expect(done.result).toMatchObject({
      status: 'restored',
      attempt: 1,
      contributors: [3, 4],
      gateways: [1, 2, 3, 4],
    });
    restored.push(done.result as Restored);
  }

  // ── Round 2: gateway 2 of IAN 0 lies about its sums (with a valid tag); 5 partials at
  //    f = 1 correct τ = min(⌊2/2⌋, 2 − 1) = 1 liar ──
  for (const ian of [0, 1]) {
    // Gateway 2 of IAN 0 is left open by roundOf and closed here, to tag a lie.
    const { gateways, partials, nowMs } = roundOf(dep, ian, 2, rng, { down: ian === 0 ? [2] : [] });
    if (ian === 0) {
      const g2 = gateways[1]!;
      const honest = g2.closeRound(nowMs + 500);
      // Re-signed with other sums, its devices' verifier shares kept (input validity).
      const lie = g2.withSums(
        honest.partial,
        honest.sums.map((s) => s + 1n),
      );
      partials.set(2, lie);
    }
    for (const p of partials.values()) await twin.add(p, nowMs + 1_000);
    const r = await twin.restore(ian, 2, nowMs + 2_000);
    expect(r.result.status).toBe('restored');
    if (ian === 0) expect(r.result).toMatchObject({ liars: [2], crossChecked: true });
    restored.push(r.result as Restored);
  }

  // A final outcome is returned as stored, without writes; only operators may restore.
  const repeat = await twin.restore(0, 0, T0 + 3 * ROUND_MS);
  expect(repeat.payload).toBe(canonicalJson({ ...restored[0]!, estimates: [] }));
  expect(repeat.writes).toEqual([]);
  const outsider = await twin.tx(['Restore', '0', '3'], T0 + 3 * ROUND_MS, { mspId: 'Org2MSP' });
  expect(outsider.status).toBe(500);
  expect(outsider.message).toMatch(/ACCESS_DENIED/);
  // Finding 2 of issue 10 on Fabric: the noise-free values stay in the collection. No
  // world-state write and no recorded response carries a partial's sums or an estimate, and
  // only an operator reads an outcome.
  const reader = await twin.tx(['GetOutcome', '0', '0'], T0 + 3 * ROUND_MS, { mspId: 'Org2MSP' });
  expect(reader.status).toBe(500);
  expect(reader.message).toMatch(/ACCESS_DENIED/);
  const publicWrites = twin.a.history.flatMap((h) => h.writes.filter((w) => !w.collection));
  expect(publicWrites.filter((w) => w.key.includes(KeyType.partial))).toHaveLength(0);
  expect(publicWrites.filter((w) => w.key.includes(KeyType.outcome))).toHaveLength(0);
  expect(publicWrites.some((w) => w.value?.includes('"estimate"'))).toBe(false);
  const outOfRange = await twin.tx(['Restore', '7', '0'], T0 + 3 * ROUND_MS);
  expect(outOfRange.status).toBe(500);
  expect(outOfRange.writes).toEqual([]);

  if (!ldp) {
    // With LDP off the restored totals are the exact sums over their contributors.
    for (const o of restored) {
      expect(o.estimates.map((e) => e.estimate)).toEqual(truth(o.ian, o.round, o.contributors));
    }
  }

  // ── Queries ──
  const tq = T0 + 3 * ROUND_MS + 5_000;
  const acme = dep.registry.oemKey(0);
  const limited = dep.registry.oemKey(1);
  const ask = (key = acme, number = 2, endRound = 2, dims = [0, 1], at = tq, startRound = 0) =>
    buildQuery(dep.params, key, {
      number,
      startRound,
      endRound,
      dimensionMask: dimensionMask(dims),
      timestamp: at,
    });
  const all = await twin.query(ask(), tq);
  expect(all.result.ok).toBe(true);
  const answer = (all.result as Extract<QueryResult, { ok: true }>).answer;
  if (!ldp) {
    // All z IANs summed: the zero-sum query noise cancels and the truth comes out.
    for (const d of answer.dimensions) {
      const expected = restored.reduce(
        (s, o) => s + truth(o.ian, o.round, o.contributors)[d.index]!,
        0,
      );
      expect(d.total).toBeCloseTo(expected, 6);
    }
  }
  expect(all.writes.length).toBe(3); // seen tag, cached answer, budget
  const one = await twin.query(ask(acme, 1), tq);
  expect(one.result).toMatchObject({ ok: true, answer: { spent: { epsilon: '4' } } });
  expect((await twin.query(ask(), tq + 10)).result).toMatchObject({ ok: false, code: 'REPLAY' });
  // The same window in a new message: the cached answer, nothing spent.
  const cached = await twin.query(ask(acme, 2, 2, [0, 1], tq + 20), tq + 20);
  expect(cached.result).toMatchObject({ ok: true, answer: { cached: true, spent: null } });
  expect(cached.writes).toHaveLength(1); // only the seen tag
  expect((await twin.query(ask(acme, 1, 1, [0, 1], tq + 30), tq + 30)).result).toMatchObject({
    code: 'BUDGET_EXCEEDED',
  });
  expect((await twin.query(ask(acme, 2, 7, [0, 1], tq + 40), tq + 40)).result).toMatchObject({
    code: 'WRONG_ROUND',
  });
  expect((await twin.query(ask(limited, 2, 2, [0, 1], tq + 50), tq + 50)).result).toMatchObject({
    code: 'ACCESS_DENIED',
  });
  expect((await twin.query(ask(limited, 2, 2, [0], tq + 60), tq + 60)).result.ok).toBe(true);
  const forged = ask(acme, 2, 2, [0, 1], tq + 70);
  forged[forged.length - 1]! ^= 1;
  expect((await twin.query(forged, tq + 70)).result).toMatchObject({ code: 'BAD_MAC' });
  expect((await twin.query(ask(acme, 2, 2, [0, 1], tq - ROUND_MS), tq)).result).toMatchObject({
    code: 'STALE_TIMESTAMP',
  });
  const stranger = { ...acme, oem: 9 };
  expect((await twin.query(ask(stranger), tq + 80)).result).toMatchObject({
    code: 'UNKNOWN_SENDER',
  });
  expect((await twin.query(Buffer.from([1, 3, 0]), tq + 90)).result).toMatchObject({
    code: 'MALFORMED_MESSAGE',
  });

  // Byte for byte, the two ledgers wrote the same things in the same order.
  const { a, b } = twin.histories();
  expect(b).toEqual(a);
  expect(a.length).toBeGreaterThan(30);
  return { twin, restored };
}

describe('MaaS chaincode on two in-memory stubs', () => {
  it('LDP off: identical write sets, core-identical answers, exact restored totals', async () => {
    await lifeOfADeployment(null);
  });

  it('LDP on: float estimates survive world state unchanged (answers equal the core’s)', async () => {
    await lifeOfADeployment({ epsilon: 1, delta: 1e-3 });
  });

  it('a first-attempt Add reads only point keys nobody else writes (no MVCC conflicts)', async () => {
    const dep = makeDeployment();
    const twin = new TwinLedgers(dep);
    await twin.tx(['InitLedger', initArgs(dep)], T0, { transient: masterTransient });
    const { partials, nowMs } = roundOf(dep, 1, 0, deterministicRng('reads'));
    const out = await twin.add(partials.get(3)!, nowMs + 1_000);
    expect(out.reads.every((r) => r.kind === 'get')).toBe(true);
    const collectionKeys = out.reads.flatMap((r) =>
      r.kind === 'get' && r.collection === COLLECTION ? [r.key] : [],
    );
    const partialKeys = collectionKeys.filter((k) => k.includes(KeyType.partial));
    // The partial is kept in the collection, and only its own key is read.
    expect(out.writes[0]!.collection).toBe(COLLECTION);
    expect(partialKeys).toEqual([out.writes[0]!.key]);
    expect(collectionKeys.filter((k) => k.includes(KeyType.gatewaySecret))).toHaveLength(5);
  });

  it('world-state secrets (no collection): works, and says loudly that it is a shortcut', async () => {
    const dep = makeDeployment();
    const twin = new TwinLedgers(dep);
    const init = await twin.tx(['InitLedger', initArgs(dep, null, [])], T0, {
      transient: masterTransient,
    });
    expect(init.status, init.message).toBe(200);
    expect(JSON.parse(init.payload).warning).toMatch(/test networks only/);
    expect(init.writes.every((w) => w.collection === undefined)).toBe(true);
    expect(init.writes.some((w) => w.key.includes(KeyType.gatewaySecret))).toBe(true);
    const { partials, nowMs } = roundOf(dep, 0, 0, deterministicRng('ws'));
    for (const p of partials.values()) await twin.add(p, nowMs + 1_000);
    // No operator list: any MSP may restore.
    const r = await twin.tx(['Restore', '0', '0'], nowMs + 2_000, { mspId: 'Org2MSP' });
    expect(JSON.parse(r.payload)).toMatchObject({ status: 'restored' });
  });

  it('InitLedger refuses: no transient secret, a second call, paper-fresh noise, bad JSON', async () => {
    const dep = makeDeployment();
    const chaincode = loadChaincode();
    const world = new MemoryWorldState();
    const run = (args: string[], transient?: Record<string, Uint8Array>) =>
      invoke(chaincode, world, {
        txId: `t${world.history.length}-${args[0]}`,
        timestampMs: T0,
        args,
        transient,
      });
    const noSecret = await run(['InitLedger', initArgs(dep)]);
    expect(noSecret.status).toBe(500);
    expect(noSecret.message).toMatch(/master secret/);
    const short = await run(['InitLedger', initArgs(dep)], { masterSecret: Buffer.alloc(8) });
    expect(short.status).toBe(500);
    const paper = JSON.parse(initArgs(dep));
    paper.deployment.params.modes.queryNoise = 'paper-fresh';
    const fresh = await run(['InitLedger', JSON.stringify(paper)], masterTransient);
    expect(fresh.status).toBe(500);
    expect(fresh.message).toMatch(/derived/);
    expect((await run(['InitLedger', '{'], masterTransient)).status).toBe(500);
    expect(world.history).toEqual([]);
    expect((await run(['InitLedger', initArgs(dep)], masterTransient)).status).toBe(200);
    const twice = await run(['InitLedger', initArgs(dep)], masterTransient);
    expect(twice.status).toBe(500);
    expect(twice.message).toMatch(/already initialised/);
    expect(world.history).toHaveLength(1);
    // Read-only transactions.
    const health = await run(['Health']);
    expect(JSON.parse(health.payload)).toMatchObject({ ok: true, latestFinalRound: -1 });
    const config = JSON.parse((await run(['GetConfig'])).payload);
    expect(config.deployment.oems.map((o: { name: string }) => o.name)).toEqual(
      OEMS.map((o) => o.name),
    );
    const text = JSON.stringify(config);
    expect(text).not.toMatch(/secret\.(gateway|oem|noise)|identity/);
    expect(text).not.toContain(MASTER_SECRET.toString('base64'));
    expect((await run(['GetOutcome', '0', '0'])).payload).toBe('null');
  });

  it('a stored config without maxLyingGateways (older chaincode) gets the default f, as params.ts gives it', async () => {
    const dep = makeDeployment(null, 0);
    const chaincode = loadChaincode();
    const world = new MemoryWorldState();
    let seq = 0;
    const run = (args: string[], atMs: number, transient?: Record<string, Uint8Array>) =>
      invoke(chaincode, world, { txId: `old${++seq}`, timestampMs: atMs, args, transient });
    expect((await run(['InitLedger', initArgs(dep)], T0, masterTransient)).status).toBe(200);
    const restoreWithTwoDown = async (ian: number) => {
      const { partials, nowMs } = roundOf(dep, ian, 0, deterministicRng(`old-${ian}`), {
        down: [4, 5],
      });
      for (const p of partials.values()) {
        const added = await run(['Add', b64(p)], nowMs + 1_000);
        expect(JSON.parse(added.payload)).toMatchObject({ ok: true });
      }
      const r = await run(['Restore', String(ian), '0'], nowMs + 2_000);
      expect(r.status, r.message).toBe(200);
      return JSON.parse(r.payload) as RestoreOutcome;
    };
    // As stored by InitLedger (f = 0): k = 3 partials restore.
    expect(await restoreWithTwoDown(1)).toMatchObject({ status: 'restored', gateways: [1, 2, 3] });
    // The same config as a chaincode from before f wrote it: the field is absent, so
    // validateMaasParams gives min(k − 1, m − k) = 2, and 3 partials no longer restore.
    const config = JSON.parse(world.state.get('privagg.maas.config')!.toString('utf8'));
    expect(config.deployment.params.maxLyingGateways).toBe(0);
    delete config.deployment.params.maxLyingGateways;
    world.state.set('privagg.maas.config', Buffer.from(canonicalJson(config)));
    const old = await restoreWithTwoDown(0);
    expect(old).toMatchObject({ status: 'failed' });
    if (old.status === 'failed') expect(old.reason).toMatch(/RESTORE_FAILED.*k \+ f = 5/);
  });

  it('never draws fresh randomness (the core source handed over throws)', () => {
    expect(() => NEVER.nextUint32()).toThrow();
  });
});

describe('chaincode metadata', () => {
  it('fabric-contract-api generates metadata listing every transaction and its parameters', async () => {
    const chaincode = loadChaincode();
    const out = await invoke(chaincode, new MemoryWorldState(), {
      txId: 'meta',
      timestampMs: T0,
      args: ['org.hyperledger.fabric:GetMetadata'],
    });
    expect(out.status).toBe(200);
    const meta = JSON.parse(out.payload);
    const contract = meta.contracts[MAAS_CONTRACT_NAME];
    expect(contract.info.title).toBe('privagg MaaS ledger');
    const tx = Object.fromEntries(contract.transactions.map((t: { name: string }) => [t.name, t]));
    expect(Object.keys(tx).sort()).toEqual(
      ['Add', 'GetConfig', 'GetOutcome', 'Health', 'InitLedger', 'Query', 'Restore'].sort(),
    );
    expect(tx.Add.parameters).toEqual([
      expect.objectContaining({ name: 'partialBase64', schema: { type: 'string' } }),
    ]);
    expect(tx.Restore.parameters.map((p: { name: string }) => p.name)).toEqual(['ian', 'round']);
    expect(tx.Restore.tag).toContain('SUBMIT');
    expect(tx.Health.tag).toEqual(['EVALUATE']);
    expect(tx.Query.returns).toEqual({ type: 'string' });
  });
});
