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
  waitFor,
} from './helpers.js';

/**
 * The ledger SIGKILLed mid-round and restarted (`restart('ledger')`, same port), across
 * real processes. The kill lands 30 ms into round K, while the gateways are posting
 * their partials and the ledger is restoring and recording (gateways close a round as
 * soon as every device reported, so this is the ledger's busiest moment).
 *  - No committed data is lost: the file as the killed process left it verifies, holds
 *    every round the ledger had reported before the kill (status and exact restore), and
 *    is a prefix of the final chain (same block hashes), which verifies too.
 *  - Round K resumes (the gateways retry their partials until the ledger is back) or is
 *    recorded with a reason; every round has exactly one recorded status.
 *  - Every round that starts once the ledger is back is complete, with exact totals.
 */
describe('faults: ledger killed mid-round and restarted', () => {
  it('loses no committed data, resumes or marks the round, completes later rounds', async () => {
    await checkMosquitto();
    const fx = fixture('ledgerkill', { rounds: 14 });
    const { spec } = fx;
    const h = await start(fx);
    const { clock } = h;
    let K = 0;
    let backRound = 0;
    let before: ReturnType<typeof readLedger> | undefined;
    let reported = 0;
    try {
      await h.at(Math.max(2, clock.roundAt() + 2), 30);
      K = clock.roundAt();
      h.d.kill('ledger', 'SIGKILL');
      // Rounds the ledger reported 200 ms or more before the kill. (It reports a status just
      // before the block holding it is written, so the very last one may not be on disk.)
      const killedAt = Date.now();
      reported = new Set(
        h.events
          .filter((e) => e.role === 'ledger' && e.ev.event === 'round' && e.at < killedAt - 200)
          .map((e) => e.ev.round),
      ).size;
      await waitFor(
        () => h.events.some((e) => e.role === 'ledger' && e.ev.event === 'exit'),
        'the ledger to exit',
      );
      // The file exactly as the killed process left it.
      before = readLedger(spec);
      await h.d.restart('ledger');
      backRound = clock.roundAt() + 1;
      expect(backRound + 1, 'the ledger took too long to restart').toBeLessThan(spec.rounds.count);
      await h.untilRound(backRound + 1);
    } finally {
      await h.d.stop();
    }

    // What was committed when the ledger died: verifies, and holds every round it had reported.
    expect(before!.verify, JSON.stringify(before!.verify.firstBad)).toMatchObject({ ok: true });
    expect(reported).toBeGreaterThanOrEqual(1);
    const committed = expectConsistent(spec, before!, reported);
    for (let round = 0; round < reported; round++)
      expect(committed.get(key(0, round))).toMatchObject({ status: 'complete' });

    const after = readLedger(spec);
    // No committed block lost or rewritten: the old chain is a prefix of the new one.
    expect(after.hashes.length).toBeGreaterThan(before!.hashes.length);
    expect(after.hashes.slice(0, before!.hashes.length)).toEqual(before!.hashes);
    // One status per round, none twice; restored rounds exact, failed ones with a reason.
    const records = expectConsistent(spec, after, backRound + 2);
    for (const [k, rec] of committed) expect(records.get(k)).toEqual(rec);

    // Round K resumed, or was marked with its reason (checked by expectConsistent).
    const rK = records.get(key(0, K))!;
    expect(['complete', 'degraded', 'failed']).toContain(rK.status);
    // Every round that started after the restart: complete, exact over every device.
    for (const round of [backRound, backRound + 1]) {
      expect(records.get(key(0, round))).toEqual({
        ian: 0,
        round,
        status: 'complete',
        reasons: [],
      });
      expect(expectExact(spec, after.restores.get(key(0, round))).contributors).toEqual(
        everyone(spec),
      );
    }
    // Two ledger processes reported statuses; together they agree with the file.
    const readies = h.events.filter((e) => e.role === 'ledger' && e.ev.event === 'ready');
    expect(readies).toHaveLength(2);
    for (const s of h.d.statuses) expect(s).toMatchObject(records.get(key(s.ian, s.round))!);
    cleanUp(fx);
  }, 90_000);
});
