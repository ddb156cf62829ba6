import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readSchemeAuditorKeys, verifySchemeChain } from '../../../src/ledger/scheme/index.js';
import { type RunningSeamDeployment, runNameOf } from '../../../src/node/seam/seamUp.js';
import { type SeamFixture, seamDeployment, startSeam } from './seamFixture.js';

/**
 * `privagg up` for schemes on the seam, as real processes: the center (in its scheme
 * ledger), each aggregator and each group's device fleet, on the run's own TLS broker.
 * Every wait is for an event (a recovery, a restart), never a fixed delay; round lengths
 * leave room for a busy machine, and the assertions hold whichever round a late process
 * joins: every recovered sum is exact over the devices the center says entered.
 */

/** Every recovered group-round: the sum equals the truth of exactly its contributors. */
function expectExact(d: RunningSeamDeployment): void {
  for (const r of d.result().rounds)
    for (const g of r.groups)
      if (g.values) expect(g.values.map((v) => v.estimate)).toEqual(g.truth);
}

function chainOf(fx: SeamFixture, d: RunningSeamDeployment) {
  const keys = readSchemeAuditorKeys(d.auditorKeysFile);
  return verifySchemeChain(fx.spec.ledger.file, {
    contentKey: keys.contentKey,
    ledgerPublicKey: keys.ledgerPublicKey,
    centerKeys: keys.centerKeys,
  });
}

describe('privagg up with a scheme on the seam (role processes)', () => {
  it('refuses a round too short for its aggregators to close in order, before anything starts, and leaves the state directory free', async () => {
    const fx = seamDeployment('seam-short', { id: 'tree-test', params: { leaves: 3 } }, 2, 30);
    const attempt = () => startSeam(fx);
    await expect(attempt()).rejects.toThrow(
      /INVALID_ARGUMENT: rounds.durationMs 30 is too short for 4 aggregator\(s\).*at least 40 ms/,
    );
    // The lock was released: a second attempt meets the same refusal, not STATE_LOCKED.
    await expect(attempt()).rejects.toThrow(/INVALID_ARGUMENT/);
    rmSync(fx.dir, { recursive: true, force: true });
  });

  it('tree-test: a silent device costs a second phase across processes, a killed leaf is restarted and rejoins, every sum is exact and the chain replays', async () => {
    const fx = seamDeployment('seam-tree', { id: 'tree-test', params: { leaves: 2 } }, 7, 2500);
    const run = runNameOf(fx.spec.name);
    const leaf = `${run}.agg.0.2`; // leaf 2 takes devices 1 and 3 (i mod 2 = 1)
    let killed = false;
    let restarted: () => void = () => undefined;
    const rejoined = new Promise<void>((r) => {
      restarted = r;
    });
    const { d, events } = await startSeam(fx, {
      // Device 3 is dead for the whole run: its pairwise masks never cancel by themselves.
      roleArgs: (id, args) =>
        id.name === `${run}.dev.0` ? [...args, '--silent-devices', '3'] : args,
      onEvent: ({ role, ev }) => {
        // Once round 1 is recovered, the leaf dies without a word.
        if (role === `${run}.center` && ev.event === 'recovery' && ev.round === 1 && !killed) {
          killed = true;
          d.kill(leaf, 'SIGKILL');
        }
        if (role === 'up' && ev.event === 'restarted' && ev.role === leaf) restarted();
      },
    });
    try {
      await rejoined;
      await d.finished;
    } finally {
      await d.stop();
    }
    const result = d.result();
    expect(result.rounds.map((r) => r.round)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expectExact(d);
    const groups = result.rounds.flatMap((r) => r.groups);
    // The silent device is never counted, and no round claims to be complete without it.
    for (const g of groups) {
      expect(g.contributors).not.toContain(3);
      expect(g.status).not.toBe('complete');
    }
    // The second phase ran: the center's announcement went to the fleet's process and the
    // devices' answers came back, in a round where device 3 alone was missing.
    const phased = groups.filter((g) => g.phases >= 1 && g.status === 'degraded');
    expect(phased.length).toBeGreaterThan(0);
    // The restarted leaf took part again: the last round counts device 1, which only it hears.
    expect(groups.at(-1)!.contributors).toContain(1);
    expect(events.some((e) => e.role === leaf && e.ev.event === 'ready')).toBe(true);
    const chain = chainOf(fx, d);
    expect(chain.ok).toBe(true);
    expect(chain.replayed).toBe(true);
    // Every recover call is on the chain: each round's pending one, then its final one.
    expect(chain.recoveries).toBe(2 * 7);
    rmSync(fx.dir, { recursive: true, force: true });
  }, 90_000);

  it("joye-libert: the center (holding s0) recovers exact sums from the one aggregator's product; a lying aggregator's process moves its group's sum, unseen, as `privagg schemes` says", async () => {
    const fx = seamDeployment(
      'seam-jl',
      { id: 'joye-libert', params: { modulusBits: 1024 } },
      2,
      4000,
      2,
    );
    const run = runNameOf(fx.spec.name);
    const { d } = await startSeam(fx, {
      roleArgs: (id, args) => (id.name === `${run}.agg.1.0` ? [...args, '--lie', '2'] : args),
    });
    try {
      await d.finished;
    } finally {
      await d.stop();
    }
    const result = d.result();
    const groups = result.rounds.flatMap((r) => r.groups);
    expect(groups.length).toBe(4);
    // A busy machine can make a round lose a device (JL then fails it, honestly); the rest
    // recover every device's reading: exactly in group 0, +2 a dimension in group 1.
    const recovered = groups.filter((g) => g.values);
    expect(recovered.length).toBeGreaterThan(0);
    for (const g of recovered) {
      expect(g.contributors).toEqual([0, 1, 2, 3]);
      const lie = g.group === 1 ? 2 : 0;
      expect(g.values!.map((v) => v.estimate)).toEqual(g.truth!.map((t) => t + lie));
      expect(g.flagged).toEqual([]);
    }
    expect(chainOf(fx, d).ok).toBe(true);
    rmSync(fx.dir, { recursive: true, force: true });
  }, 90_000);
});
