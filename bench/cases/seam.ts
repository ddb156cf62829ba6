import { seededRandom } from '../../src/math/random.js';
import { startSeamBroker } from '../../src/node/seam/seamBroker.js';
import { configureScheme } from '../../src/schemes/registry.js';
import type { SchemeConfig, TrustedSetup } from '../../src/schemes/scheme.js';
import { populationOf, runScheme } from '../../src/sim/schemeRunner.js';
import { SyntheticWorkload } from '../../src/sim/syntheticWorkload.js';
import type { BenchCase } from '../harness.js';

/**
 * Every scheme through the one driver, per device report: a round of one IAN × DEVICES
 * devices × 5 dimensions — devices report, aggregators close, the center recovers (the
 * TA's setup done once, untimed) — beside plain-sum, the scheme with no cryptography but
 * its link MACs, measured in the same run. And plain-sum over the seam's broker (TLS, a
 * connection per identity) against plain-sum in memory: what the transport costs a round.
 */
const DEVICES = 10;
/** Rounds per run over MQTT: the connections (TLS handshakes) are made once a run. */
const MQTT_ROUNDS = 20;
const workload = new SyntheticWorkload({
  ians: 1,
  devicesPerIan: DEVICES,
  rounds: 1,
  dimensions: 5,
  maxReading: 5,
  rng: seededRandom('bench/seam'),
});

function schemeCase(id: string, params: unknown, label: string): BenchCase {
  let config: SchemeConfig;
  let setup: TrustedSetup;
  return {
    name: `seam ${id} (${label}): a round, per device report`,
    group: 'seam',
    setup() {
      config = configureScheme(id, params, populationOf(workload));
      setup = config.setup(seededRandom(`bench/${id}`));
    },
    run: () => runScheme({ config, workload, setup, rounds: 1 }),
    opsPerCall: DEVICES,
    minMillis: id === 'joye-libert' ? 2000 : 400,
    ...(id === 'plain-sum' ? {} : { baseline: BASELINE }),
  };
}

const BASELINE = 'seam plain-sum (in memory): a round, per device report';

let broker: Awaited<ReturnType<typeof startSeamBroker>> | undefined;
let mqttConfig: SchemeConfig;
let mqttSetup: TrustedSetup;

export const cases: BenchCase[] = [
  schemeCase('plain-sum', {}, 'in memory'),
  schemeCase('tree-test', {}, 'in memory'),
  schemeCase('maas', { ldp: 'off' }, 'in memory, proofs on'),
  schemeCase('joye-libert', {}, 'in memory, 2048-bit N'),
  {
    name: `seam plain-sum (over MQTT, TLS): ${MQTT_ROUNDS} rounds on one set of connections, per device report`,
    group: 'seam',
    async setup() {
      mqttConfig = configureScheme('plain-sum', {}, populationOf(workload));
      mqttSetup = mqttConfig.setup(seededRandom('bench/mqtt'));
      broker = await startSeamBroker({ run: 'bench', config: mqttConfig });
    },
    run: () =>
      runScheme({
        config: mqttConfig,
        workload,
        setup: mqttSetup,
        rounds: 1,
        router: broker!.router,
      }),
    async teardown() {
      await broker?.close();
      broker = undefined;
    },
    opsPerCall: MQTT_ROUNDS * DEVICES,
    baseline: BASELINE,
  },
];
