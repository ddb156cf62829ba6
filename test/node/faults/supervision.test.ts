import { describe, expect, it } from 'vitest';
import { cleanUp, expectConsistent, fixture, readLedger, start, waitFor } from './helpers.js';

/**
 * Supervision (issue 9): `privagg up` restarts a role process that exits, with backoff,
 * and says so. Secure run: the embedded broker with TLS and ACLs, the roles on their own
 * bundles. A gateway SIGKILLed mid-run is back within the backoff, and later rounds are
 * complete again; the chain verifies and every recorded round is consistent.
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
    expect(h.d.restarts.get('gateway-0-2')).toBe(1);
    const records = expectConsistent(fx.spec, readLedger(fx.spec), restartedAt + 3);
    expect(records.get(`0/${restartedAt + 2}`)?.status).toBe('complete');
    cleanUp(fx);
  }, 60_000);
});
