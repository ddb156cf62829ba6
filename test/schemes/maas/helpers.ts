import { seededRandom } from '../../../src/math/random.js';
import {
  DEFAULT_MODES,
  defaultMaasParams,
  type MaasModes,
  type MaasParams,
} from '../../../src/schemes/maas/params.js';
import { SyntheticWorkload } from '../../../src/sim/syntheticWorkload.js';

/** A small synthetic deployment: fast enough for property tests. */
export function smallSetup(opts: {
  ians?: number;
  devices?: number;
  gateways?: number;
  threshold?: number;
  rounds?: number;
  ldp?: MaasParams['ldp'];
  modes?: Partial<MaasModes>;
  /** f; default min(k − 1, m − k) (params.ts). */
  maxLyingGateways?: number;
  seed?: string;
}) {
  const ians = opts.ians ?? 2;
  const devices = opts.devices ?? 8;
  const rounds = opts.rounds ?? 3;
  const workload = new SyntheticWorkload({
    ians,
    devicesPerIan: devices,
    rounds,
    dimensions: 3,
    maxReading: 6,
    rng: seededRandom(`workload/${opts.seed ?? 'x'}`),
  });
  const params = defaultMaasParams({
    deployment: 'test',
    ians,
    devicesPerIan: devices,
    gateways: opts.gateways ?? 5,
    threshold: opts.threshold ?? 3,
    dimensions: workload.dimensionNames,
    maxReading: workload.maxReading,
    ldp: opts.ldp === undefined ? null : opts.ldp,
    modes: { ...DEFAULT_MODES, ...opts.modes },
    ...(opts.maxLyingGateways === undefined ? {} : { maxLyingGateways: opts.maxLyingGateways }),
  });
  return { params, workload, rounds };
}
