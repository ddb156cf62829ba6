import { describe, expect, it } from 'vitest';
import { seededRandom, systemRandom } from '../../../src/math/random.js';
import { createMaasDeployment } from '../../../src/schemes/maas/deployment.js';
import { defaultMaasParams, PAPER_MODES } from '../../../src/schemes/maas/params.js';

/**
 * MaasGateway.precheck (the checks that need no round state, without entering the round)
 * and the order of ingest's checks where tags are verified on ingest: the tag before the
 * replay cache, so a forged copy of an accepted (device, round) is BAD_MAC, not REPLAY.
 */
const T0 = Date.UTC(2026, 0, 1);
const params = defaultMaasParams({
  deployment: 'precheck',
  ians: 1,
  devicesPerIan: 3,
  dimensions: ['a'],
  maxReading: [9],
  ldp: null,
});

function setup(p = params) {
  const dep = createMaasDeployment(p, { oems: [], registeredAtMs: T0, rng: seededRandom(11) });
  return { dep, gw: dep.gateway(0, 1) };
}

function forge(bytes: Uint8Array): Buffer {
  const forged = Buffer.from(bytes);
  forged[forged.length - 1]! ^= 0x5a;
  return forged;
}

describe('MaasGateway.precheck', () => {
  it('authenticates a report of a round not yet open without entering it anywhere', () => {
    const { dep, gw } = setup();
    gw.beginRound(0);
    const next = dep.device(0, 0).report(1, [4], T0, systemRandom);
    // Genuine next-round report: passes, and is not queued (round 0 has no contributor).
    expect(gw.precheck(next[0]!.bytes, T0)).toEqual({ ok: true });
    expect(gw.precheck(next[0]!.bytes, T0)).toEqual({ ok: true }); // no replay cache entry
    // Forged, stale, misaddressed, unknown sender, malformed: their own codes.
    expect(gw.precheck(forge(next[0]!.bytes), T0)).toMatchObject({ ok: false, code: 'BAD_MAC' });
    expect(gw.precheck(next[0]!.bytes, T0 + 3_600_000)).toMatchObject({
      ok: false,
      code: 'STALE_TIMESTAMP',
    });
    expect(gw.precheck(next[1]!.bytes, T0)).toMatchObject({ ok: false, code: 'WRONG_RECIPIENT' });
    const unknown = Buffer.from(next[0]!.bytes);
    unknown.writeUInt32BE(7, 8);
    expect(gw.precheck(unknown, T0)).toMatchObject({ ok: false, code: 'UNKNOWN_SENDER' });
    expect(gw.precheck(next[0]!.bytes.subarray(0, 30), T0)).toMatchObject({
      ok: false,
      code: 'MALFORMED_MESSAGE',
    });
    expect(gw.closeRound(T0).contributors).toEqual([]);
    // When round 1 opens, the genuine report is accepted once, then it is a replay.
    gw.beginRound(1);
    expect(gw.ingest(next[0]!.bytes, T0)).toEqual({ ok: true });
    expect(gw.ingest(next[0]!.bytes, T0)).toMatchObject({ ok: false, code: 'REPLAY' });
    expect(gw.closeRound(T0).contributors).toEqual([0]);
  });

  it("in the paper's batch mode it does not check the tag (the round's batch does)", () => {
    const { dep, gw } = setup({ ...params, modes: PAPER_MODES });
    const next = dep.device(0, 0).report(1, [4], T0, systemRandom);
    const own = next.find((m) => m.gateway === 1)!;
    expect(gw.precheck(forge(own.bytes), T0)).toEqual({ ok: true });
  });
});

describe('MaasGateway.ingest: tag before replay cache (tags verified on ingest)', () => {
  it('a forged copy of an accepted (device, round) is BAD_MAC; a genuine copy is REPLAY', () => {
    const { dep, gw } = setup();
    gw.beginRound(0);
    const genuine = dep.device(0, 2).report(0, [3], T0, systemRandom)[0]!.bytes;
    expect(gw.ingest(genuine, T0)).toEqual({ ok: true });
    for (let f = 0; f < 20; f++)
      expect(gw.ingest(forge(genuine), T0)).toMatchObject({ ok: false, code: 'BAD_MAC' });
    expect(gw.ingest(genuine, T0)).toMatchObject({ ok: false, code: 'REPLAY' });
    expect(gw.closeRound(T0)).toMatchObject({ contributors: [2], rejected: [] });
  });

  it("in the paper's batch mode a forged copy queues unverified and is judged at close", () => {
    const { dep, gw } = setup({ ...params, modes: PAPER_MODES });
    gw.beginRound(0);
    const own = dep
      .device(0, 2)
      .report(0, [3], T0, systemRandom)
      .filter((m) => m.gateway === 1);
    for (const m of own) expect(gw.ingest(m.bytes, T0)).toEqual({ ok: true });
    expect(gw.ingest(forge(own[0]!.bytes), T0)).toEqual({ ok: true });
    const closed = gw.closeRound(T0);
    expect(closed.contributors).toEqual([2]);
    expect(closed.rejected.map((r) => r.code)).toEqual(['BAD_MAC']);
  });
});
