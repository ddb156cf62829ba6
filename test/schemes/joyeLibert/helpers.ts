import { type RandomSource, seededRandom } from '../../../src/math/random.js';
import { joyeLibertScheme } from '../../../src/schemes/joyeLibert/index.js';
import {
  type AggregatorRole,
  aggregatorAt,
  CENTER,
  type CenterRole,
  type DeviceRole,
  deviceAt,
  type Envelope,
  type Inbound,
  type Population,
  type SchemeConfig,
  type SchemeRoles,
  type TrustedSetup,
} from '../../../src/schemes/scheme.js';

/** A Joye–Libert deployment with every role built from its own blob, driven by hand. */
export interface Deployed {
  readonly config: SchemeConfig;
  readonly ta: TrustedSetup;
  readonly roles: SchemeRoles;
  readonly devices: DeviceRole[][];
  readonly aggregators: AggregatorRole[];
  readonly center: CenterRole;
  readonly rng: RandomSource;
}

export const NOW = 1_700_000_000_000;

export function population(
  groups: number,
  devicesPerGroup: number,
  maxes: readonly number[],
): Population {
  return { groups, devicesPerGroup, dimensions: maxes.map((max, j) => ({ name: `d${j}`, max })) };
}

export function deploy(
  pop: Population,
  seed: string | number = 'jl-test',
  params: Record<string, unknown> = { modulusBits: 512 },
): Deployed {
  const config = joyeLibertScheme.configure(joyeLibertScheme.params.parse(params), pop);
  const ta = config.setup(seededRandom(seed));
  const roles = config.roles(ta.publicSetup);
  const devices = Array.from({ length: pop.groups }, (_, g) =>
    Array.from({ length: pop.devicesPerGroup }, (_, i) =>
      roles.device(g, i, ta.keysOf(deviceAt(g, i))),
    ),
  );
  const aggregators = Array.from({ length: pop.groups }, (_, g) =>
    roles.aggregator(aggregatorAt(g, 0), ta.keysOf(aggregatorAt(g, 0))),
  );
  const center = roles.center(ta.keysOf(CENTER));
  return { config, ta, roles, devices, aggregators, center, rng: seededRandom(`${seed}/run`) };
}

/** An envelope as it arrives, vouched for as coming from `from`. */
export function inbound(from: DeviceRole['address'], e: Envelope): Inbound {
  return { from, channel: e.channel, bytes: e.bytes };
}

/** Each listed device of group g reports; returns the envelopes, delivered to the aggregator. */
export function reportAll(
  d: Deployed,
  g: number,
  round: number,
  readings: readonly (readonly number[])[],
  skip: ReadonlySet<number> = new Set(),
  now = NOW,
): Envelope[][] {
  return readings.map((reading, i) => {
    if (skip.has(i)) return [];
    const dev = d.devices[g]![i]!;
    const out = dev.report(round, reading, now, d.rng);
    for (const e of out) {
      const v = d.aggregators[g]!.receive(inbound(dev.address, e), now, d.rng).verdict;
      if (!v.ok) throw new Error(`genuine report refused: ${v.reason}`);
    }
    return [...out];
  });
}

/** Closes the round at the aggregator and hands its partial to the center. */
export function closeAndDeliver(d: Deployed, g: number, round: number, now = NOW): Envelope {
  const out = d.aggregators[g]!.close(round, now + 1, d.rng);
  if (out.length !== 1) throw new Error(`expected one partial, got ${out.length}`);
  const v = d.center.receive(
    { from: aggregatorAt(g, 0), channel: out[0]!.channel, bytes: out[0]!.bytes },
    now + 2,
  ).verdict;
  if (!v.ok) throw new Error(`genuine partial refused: ${v.reason}`);
  return out[0]!;
}

export function columnSums(readings: readonly (readonly number[])[], dims: number): number[] {
  return Array.from({ length: dims }, (_, j) => readings.reduce((s, r) => s + r[j]!, 0));
}
