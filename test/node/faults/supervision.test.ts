import { describe, expect, it } from 'vitest';
import { cleanUp, expectConsistent, fixture, readLedger, start, waitFor } from './helpers.js';

/**
 * Supervision (issue 9): `privagg up` restarts a role process that exits, with backoff,
 * and says so — on its output and on the chain: the restart is noted (as the operator,
 * POST /v1/notes) in the next round status the ledger records. Secure run: the embedded
 * broker with TLS and ACLs, the roles on their own bundles. A gateway SIGKILLed mid-run is
 * back within the backoff, and later rounds are complete again; the chain verifies and
 * every recorded round is consistent.
 */
describe('faults: supervised restarts', () => {
  it('a killed gateway is restarted by up; rounds after it are complete', async () => {
    const fx = fixture('supervise', { rounds: 10, broker: 'embedded' });
    const h = await start(fx, 1500, true);
    let restartedAt = -1;
    try {
      await h.at(2, 100);
      h.d.kill('gateway-0-2', 'SIGKILL');
      await waitFor(
        () => h.events.some((e) => e.role === 'up' && e.ev.event === 'restarted'),
        'up to restart the killed gateway',
        15_000,
      );
      await h.untilStarted('gateway-0-2');
      restartedAt = h.clock.roundAt();
      expect(restartedAt + 2, 'the restart took too long for the test').toBeLessThan(10);
      await h.untilRound(restartedAt + 2);
    } finally {
      await h.d.stop();
    }
    const up = h.events.filter((e) => e.role === 'up').map((e) => e.ev);
    expect(up).toContainEqual(
      expect.objectContaining({ event: 'restarting', role: 'gateway-0-2', signal: 'SIGKILL' }),
    );
    expect(up).toContainEqual(expect.objectContaining({ event: 'supervision' }));
    expect(up.filter((e) => e.event === 'supervision-note-failed')).toEqual([]);
    expect(h.d.restarts.get('gateway-0-2')).toBe(1);
    const ledger = readLedger(fx.spec);
    const records = expectConsistent(fx.spec, ledger, restartedAt + 3);
    expect(records.get(`0/${restartedAt + 2}`)?.status).toBe('complete');
    // On the chain: exactly one round status carries the note, one recorded after the
    // restart (the note is posted once the gateway is back).
    const note = /^process gateway-0-2 exited \(SIGKILL\) and was restarted by privagg up$/;
    const noted = ledger.rounds.filter((r) => r.notes?.some((n) => note.test(n)));
    expect(noted, JSON.stringify(ledger.rounds.filter((r) => r.notes))).toHaveLength(1);
    expect(noted[0]!.round).toBeGreaterThanOrEqual(2);
    expect(noted[0]!.round).toBeLessThanOrEqual(restartedAt + 2);
    // The note is not a verdict: the status it rides on is judged as any other.
    expect(records.get(`${noted[0]!.ian}/${noted[0]!.round}`)).toEqual(noted[0]);
    // And the status `up` reported is the one on the chain, notes included.
    expect(h.d.statuses).toContainEqual(expect.objectContaining(noted[0]));
    cleanUp(fx);
  }, 60_000);
});
