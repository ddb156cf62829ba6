import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/math/random.js';
import { pFailGw, pFailGwJoint } from '../../../src/schemes/maas/failureProbability.js';
import { runMaas } from '../../../src/sim/maasRunner.js';
import { smallSetup } from './helpers.js';

/**
 * Formulas 13–16 against Monte Carlo of the runner itself: every DS→GW message is lost
 * with probability p1 and every gateway is down in a round with probability p2; the
 * paper's failure event is "fewer than k live gateways received every device".
 */
describe('failure probability: formula vs the runner', () => {
  it('the runner matches the joint formula; formula 13 under-estimates; reconciliation fails far less', () => {
    const model = {
      devices: 8,
      gateways: 5,
      threshold: 3,
      pMessageLoss: 0.03,
      pGatewayFailure: 0.15,
    };
    // f = 0: the paper's formulas count k live gateways; with f > 0 a restore needs k + f.
    const { params, workload } = smallSetup({
      ians: 10,
      devices: 8,
      rounds: 60,
      seed: 'mc',
      maxLyingGateways: 0,
    });
    const result = runMaas({
      params,
      workload,
      rounds: 60,
      queries: false,
      faults: {
        linkLossProbability: model.pMessageLoss,
        gatewayFailureProbability: model.pGatewayFailure,
      },
      scenarioRng: seededRandom('monte-carlo'),
      cryptoRng: seededRandom('mc-crypto'),
    });
    const trials = result.rounds.flatMap((r) => r.ians);
    expect(trials).toHaveLength(600);
    const paperEvent =
      trials.filter((x) => x.gatewaysWithAllDevices < model.threshold).length / trials.length;
    const joint = pFailGwJoint(model);
    const se = Math.sqrt((joint * (1 - joint)) / trials.length);
    // 4 standard errors: a correct model fails this with probability 6e−5 (fixed seed: never).
    expect(Math.abs(paperEvent - joint)).toBeLessThan(4 * se);
    // The paper's formula 13 is below the joint probability for these parameters.
    expect(pFailGw(model)).toBeLessThan(joint);
    // privagg's reconciliation only fails when fewer than k gateways are up at all.
    const ours = trials.filter((x) => x.status === 'failed').length / trials.length;
    expect(ours).toBeLessThan(paperEvent);
  });
});
