import { describe, expect, it } from 'vitest';
import { checkMosquitto } from '../mosquittoCheck.js';
import {
  type Child,
  cleanUp,
  expectConsistent,
  expectExact,
  fixture,
  key,
  readLedger,
  spawnCli,
  start,
} from './helpers.js';

/**
 * Devices silenced and killed, across real processes. `up` runs the ledger and the 5
 * gateways; its own device fleet is killed before round 0 and replaced by two fleets
 * started with the CLI (`privagg devices --count … --silent …`):
 *  - fleet A: devices 0, 1, 2 (device 5 silenced for the whole run, 3 and 4 are B's);
 *  - fleet B: devices 3 and 4.
 * Fleet B is SIGKILLed mid-round K and started again later. Every round is restored with
 * exact totals over exactly the devices that reported; the missing ones are left out and
 * the round recorded as degraded with the count of missing devices.
 */
describe('faults: devices silenced and killed', () => {
  it('silent and killed devices are excluded and recorded; totals exact over the rest', async () => {
    await checkMosquitto();
    const fx = fixture('devkill', { rounds: 14 });
    const { spec } = fx;
    // Time enough before round 0 to replace the fleet.
    const h = await start(fx, 4000);
    const { clock } = h;
    h.d.kill('devices', 'SIGKILL');
    const base = ['devices', '--deployment', fx.file, '--broker', h.d.brokerUrl];
    const fleetB = () =>
      spawnCli(fx, 'devices-b', [...base, '--count', '5', '--silent', '0:0,0:1,0:2']);
    const a = spawnCli(fx, 'devices-a', [...base, '--count', '6', '--silent', '0:3,0:4,0:5']);
    let b: Child = fleetB();
    let F = 0;
    let K = 0;
    let backRound = 0;
    try {
      // Both fleets report from round F on (round 0 unless this machine is very slow): each
      // says from which round once it has the epoch, so a fleet that started past round
      // 0's first quarter moves F instead of failing the test.
      const firstRound = async (c: Child) => Number((await c.event('reporting')).firstRound);
      F = Math.max(await firstRound(a), await firstRound(b));
      K = F + 2;
      // Mid-round K: fleet B has reported for round K; it is gone from round K + 1 on.
      await h.at(K, 600);
      expect(clock.roundAt(), 'the test process fell behind the round clock').toBe(K);
      b.proc.kill('SIGKILL');
      await h.untilRound(K + 2);
      b = fleetB();
      // The round B reports again from (it started after round K + 2 closed: K + 3 at the
      // earliest).
      backRound = await firstRound(b);
      expect(backRound + 1, 'fleet B took too long to restart').toBeLessThan(spec.rounds.count);
      await h.untilRound(backRound + 1);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await h.d.stop();
    }

    const ledger = readLedger(spec);
    const records = expectConsistent(spec, ledger, backRound + 2);
    const expectRound = (round: number, contributors: number[]) => {
      const r = expectExact(spec, ledger.restores.get(key(0, round)));
      expect(r.contributors, `round ${round}`).toEqual(contributors);
      expect(r.gateways).toEqual([1, 2, 3, 4, 5]);
      expect(records.get(key(0, round))).toEqual({
        ian: 0,
        round,
        status: 'degraded',
        reasons: [`${6 - contributors.length} device(s) missing`],
      });
    };
    // Up to round K: everyone but the silenced device 5.
    for (let round = F; round <= K; round++) expectRound(round, [0, 1, 2, 3, 4]);
    // From K + 1 until fleet B is back: devices 3 and 4 are gone too.
    expect(backRound).toBeGreaterThan(K + 2);
    for (let round = K + 1; round < backRound; round++) expectRound(round, [0, 1, 2]);
    // Fleet B back: devices 3 and 4 count again.
    for (const round of [backRound, backRound + 1]) expectRound(round, [0, 1, 2, 3, 4]);
    cleanUp(fx);
  }, 90_000);
});
