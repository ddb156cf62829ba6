import { ensure } from '../errors.js';
import { squareWaveParameters } from './ldpSquareWave.js';

/**
 * What the devices' LDP spends, composed: each report perturbs each of its w dimensions
 * with the (ε, 2bδ)-LDP square wave (ldpSquareWave.ts), so under basic sequential
 * composition one device-round costs (w·ε, w·2bδ) and a device that reports in R rounds
 * (R·w·ε, R·w·2bδ). Basic composition is an upper bound: advanced composition gives a
 * smaller ε for many rounds at some extra δ, and correlated readings leak no less than this.
 */
export interface LdpBudget {
  perDimension: { epsilon: number; delta: number };
  perDeviceRound: { epsilon: number; delta: number; dimensions: number };
  perDeviceRun: { epsilon: number; delta: number; rounds: number };
}

export function composedLdpBudget(
  ldp: { epsilon: number; delta: number },
  dimensions: number,
  rounds: number,
): LdpBudget {
  ensure(Number.isInteger(dimensions) && dimensions >= 1, 'dimensions must be an integer ≥ 1');
  ensure(Number.isInteger(rounds) && rounds >= 0, 'rounds must be an integer ≥ 0');
  const delta = squareWaveParameters(ldp.epsilon, ldp.delta).guaranteedDelta;
  return {
    perDimension: { epsilon: ldp.epsilon, delta },
    perDeviceRound: { epsilon: dimensions * ldp.epsilon, delta: dimensions * delta, dimensions },
    perDeviceRun: {
      epsilon: rounds * dimensions * ldp.epsilon,
      delta: rounds * dimensions * delta,
      rounds,
    },
  };
}
