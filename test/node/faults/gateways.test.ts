import { describe, expect, it } from 'vitest';
import { checkMosquitto } from '../mosquittoCheck.js';
import {
  cleanUp,
  everyone,
  expectConsistent,
  expectExact,
  fixture,
  key,
  readLedger,
  start,
} from './helpers.js';

/**
 * Gateways SIGKILLed during a run, across real processes (`up`: ledger, 5 gateways, device
 * fleet; Mosquitto). m = 5, k = 3 and f = 0, so the IAN survives m − k = 2 dead gateways
 * (a restore needs k + f partials: at the default f = 2 it would survive none).
 *
 * Kills land 400 ms before a round's start, i.e. while round K − 1 is still running and
 * before the devices report for round K. (Gateways close a round as soon as every device
 * has reported, so a kill later in a round would only hit the next one; with the timer
 * close alone round K − 1 would lose those gateways too — the assertions accept both.)
 *  - gateways 4 and 5 die before round K: round K is restored from gateways 1–3 with
 *    exact totals over every device, and recorded as degraded with the reasons;
 *  - gateway 3 dies before round K + 2 (3 > m − k dead): recorded as failed, with the reason;
 *  - the three are restarted (`restart(role)`): every round that starts once they are all
 *    back is complete — all 5 gateways, all devices, exact totals.
 */
describe('faults: gateways killed mid-run', () => {
  it('≤ m − k dead: exact totals; > m − k dead: failed with the reason; restarted: complete again', async () => {
    await checkMosquitto();
    // f = 0: this test is about crash tolerance; liars are liars.test.ts's.
    const fx = fixture('gwkill', { rounds: 16, maxLyingGateways: 0 });
    expect(fx.spec.scheme.maxLyingGateways).toBe(0);
    const { spec } = fx;
    const h = await start(fx);
    const { clock } = h;
    let K = 0;
    let backRound = 0;
    const killAt = async (round: number, roles: string[]) => {
      await h.at(round, -400);
      // Any time after round − 1's reports and before round's is the same kill.
      const late = Date.now() - clock.startOf(round);
      expect(late, 'the test process fell behind the round clock').toBeLessThan(-5);
      for (const role of roles) h.d.kill(role, 'SIGKILL');
    };
    try {
      K = Math.max(2, clock.roundAt() + 2);
      await killAt(K, ['gateway-0-4', 'gateway-0-5']);
      await killAt(K + 2, ['gateway-0-3']);
      // Restart once round K + 2 is over (a gateway that joins a round late posts a partial for it).
      await h.at(K + 3, 0);
      await Promise.all(['gateway-0-3', 'gateway-0-4', 'gateway-0-5'].map((r) => h.d.restart(r)));
      // "Ready" is the process; a busy machine may take longer to subscribe it to its reports.
      await Promise.all(
        ['gateway-0-3', 'gateway-0-4', 'gateway-0-5'].map((r) => h.untilStarted(r)),
      );
      backRound = clock.roundAt() + 1;
      expect(backRound + 1, 'restarts took too long for the test').toBeLessThan(spec.rounds.count);
      await h.untilRound(backRound + 1);
    } finally {
      await h.d.stop();
    }

    const exits = h.events.filter((e) => e.ev.event === 'exit' && e.ev.signal === 'SIGKILL');
    expect(exits.map((e) => e.role).sort()).toEqual(['gateway-0-3', 'gateway-0-4', 'gateway-0-5']);

    const ledger = readLedger(spec);
    // One recorded status per round, restored rounds exact, failed rounds with a reason.
    const records = expectConsistent(spec, ledger, backRound + 2);
    const survivors = (round: number) => {
      const r = expectExact(spec, ledger.restores.get(key(0, round)));
      expect(r.contributors).toEqual(everyone(spec));
      expect(r.gateways).toEqual([1, 2, 3]);
      expect(r.crossChecked).toBe(false);
      expect(records.get(key(0, round))).toEqual({
        ian: 0,
        round,
        status: 'degraded',
        reasons: ['2 gateway(s) sent no partial', 'only k partials: not cross-checked'],
      });
    };
    const reason = '2 of the k + f = 3 partials needed arrived';
    const failed = (round: number) => {
      expect(ledger.restores.get(key(0, round))).toMatchObject({ status: 'failed', reason });
      expect(records.get(key(0, round))).toEqual({
        ian: 0,
        round,
        status: 'failed',
        reasons: [reason],
      });
    };

    for (let round = 0; round < K - 1; round++)
      expect(records.get(key(0, round))).toMatchObject({ status: 'complete' });
    // Round K − 1 was closed before the kill (early close) or lost gateways 4 and 5.
    if (records.get(key(0, K - 1))?.status !== 'complete') survivors(K - 1);
    // Round K: 2 = m − k gateways dead → restored from the other 3, exact over every device.
    survivors(K);
    // Round K + 1: gateways 1–3 (closed before gateway 3 died) or only 1–2.
    if (records.get(key(0, K + 1))?.status === 'failed') failed(K + 1);
    else survivors(K + 1);
    // Round K + 2: 3 > m − k dead → failed, with the reason.
    failed(K + 2);

    // Every round that started after the restarts: complete, all gateways, all devices, exact.
    for (const round of [backRound, backRound + 1]) {
      expect(records.get(key(0, round)), `round ${round}`).toEqual({
        ian: 0,
        round,
        status: 'complete',
        reasons: [],
      });
      const r = expectExact(spec, ledger.restores.get(key(0, round)));
      expect(r.gateways).toEqual([1, 2, 3, 4, 5]);
      expect(r.contributors).toEqual(everyone(spec));
    }
    // What the ledger process reported as it went is what it recorded.
    for (const s of h.d.statuses) expect(s).toMatchObject(records.get(key(s.ian, s.round))!);
    cleanUp(fx);
  }, 90_000);
});
