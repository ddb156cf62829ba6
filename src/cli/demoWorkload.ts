import { PrivaggError } from '../errors.js';
import { seededRandom } from '../math/random.js';
import { loadAi4iWorkload } from '../sim/ai4iWorkload.js';
import { SyntheticWorkload } from '../sim/syntheticWorkload.js';
import type { Workload } from '../sim/workload.js';

/**
 * The demo's data, for every scheme: AI4I 2020 (the copy shipped in data/, or --data)
 * split over IANs × devices × rounds, or the seeded synthetic stand-in.
 */
export function demoWorkload(
  o: { workload: string; data?: string; seed: string },
  shape: { ians: number; devices: number; rounds: number },
): Workload {
  const { ians, devices, rounds } = shape;
  if (o.workload === 'ai4i') {
    return loadAi4iWorkload(
      { ians, devicesPerIan: devices, rounds },
      o.data ? { path: o.data } : {},
    );
  }
  if (o.workload === 'synthetic') {
    return new SyntheticWorkload({
      ians,
      devicesPerIan: devices,
      rounds,
      dimensions: 5,
      maxReading: 5,
      rng: seededRandom(`synthetic/${o.seed}`),
    });
  }
  throw new PrivaggError(
    'INVALID_ARGUMENT',
    `--workload must be ai4i or synthetic, got "${o.workload}"`,
  );
}
