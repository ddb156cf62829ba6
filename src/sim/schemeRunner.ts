import { type RandomSource, seededRandom, systemRandom } from '../math/random.js';
import {
  type Address,
  addressKey,
  CENTER,
  type CenterRole,
  type DeviceRole,
  deviceAt,
  type Envelope,
  type Lie,
  type Population,
  type Recovery,
  type SchemeConfig,
  type TrustedSetup,
} from '../schemes/scheme.js';
import { inMemory } from './memoryRouter.js';
import type { Delivery, RoleSet, RouterFactory, RouterFaults } from './router.js';
import {
  type GroupResult,
  groupResult,
  type SchemeRoundResult,
  type SchemeRunResult,
  summarise,
} from './schemeResults.js';
import type { Workload } from './workload.js';

export type { GroupResult, SchemeRoundResult, SchemeRunResult } from './schemeResults.js';

/**
 * One round driver for every scheme, over any router (in memory by default, or the seam's
 * MQTT router): the TA's setup, every role built from its own key blob, then per round —
 * aggregators open, devices report, aggregators close in the topology's order (children
 * first), and the center recovers each group, routing each pending phase (`Recovery.next`) until it is recovered or failed or the phases run out.
 * The status of each group-round comes from the one mapping (`roundStatusOf`), and the
 * truth is recomputed from the workload over exactly the devices the center says entered.
 */
export interface SchemeRunOptions {
  readonly config: SchemeConfig;
  readonly workload: Workload;
  /** Rounds to run (default: the workload's). */
  readonly rounds?: number;
  /** Seeds the TA and every role's randomness; absent: node:crypto's CSPRNG. */
  readonly seed?: string;
  readonly faults?: RunFaults;
  /** Pending phases allowed per group-round before it counts as failed. Default 8. */
  readonly maxPhases?: number;
  readonly roundMs?: number;
  readonly startMs?: number;
  readonly onRound?: (r: SchemeRoundResult, done: number, of: number) => void;
  /** The TA's output to run with (default: a fresh setup from the seed): benches reuse one. */
  readonly setup?: TrustedSetup;
  /** How envelopes travel (default: in memory). */
  readonly router?: RouterFactory;
  /** Wraps the center (a ledger that records what it receives and recovers). */
  readonly center?: (center: CenterRole, setup: TrustedSetup) => CenterRole | Promise<CenterRole>;
  /** Every step of the run in order, for test vectors (tests only: it keeps every message). */
  readonly trace?: (ev: TraceEvent) => void;
}

/** One step of a run: enough to replay it through fresh roles and compare (test/vectors). */
export type TraceEvent =
  | { kind: 'open'; at: Address; round: number; nowMs: number }
  | { kind: 'report'; from: Address; round: number; nowMs: number; out: readonly Envelope[] }
  | {
      kind: 'deliver';
      from: Address;
      to: Address;
      channel: string;
      bytes: Uint8Array;
      nowMs: number;
      verdict: Delivery['verdict'];
    }
  | { kind: 'close'; at: Address; round: number; nowMs: number; out: readonly Envelope[] }
  | { kind: 'recover'; group: number; round: number; nowMs: number; recovery: Recovery };

/** Faults by role and round, on top of the router's per-envelope ones. */
export interface RunFaults {
  /** The device sends nothing this round. */
  readonly deviceSilent?: (group: number, device: number, round: number) => boolean;
  /** The role is down for the whole round: it neither receives nor sends. */
  readonly down?: (who: Address, round: number) => boolean;
  readonly router?: (round: number) => RouterFaults;
  /** The aggregator is compromised this round: it lies about its sum (authenticated as ever). */
  readonly lying?: (who: Address, round: number) => Lie | undefined;
}

export function populationOf(w: Workload): Population {
  return {
    groups: w.ians,
    devicesPerGroup: w.devicesPerIan,
    dimensions: w.dimensionNames.map((name, j) => ({ name, max: w.maxReading[j]! })),
  };
}

export async function runScheme(o: SchemeRunOptions): Promise<SchemeRunResult> {
  const { config, workload } = o;
  const pop = config.population;
  const rounds = o.rounds ?? workload.rounds;
  const roundMs = o.roundMs ?? 1000;
  const startMs = o.startMs ?? 1_700_000_000_000;
  const rng: RandomSource = o.seed !== undefined ? seededRandom(`${o.seed}/roles`) : systemRandom;
  const setup =
    o.setup ?? config.setup(o.seed !== undefined ? seededRandom(`${o.seed}/setup`) : systemRandom);
  const roles = config.roles(setup.publicSetup);
  const { topology } = config;
  let now = startMs;
  const trace = o.trace;
  const devices: DeviceRole[] = [];
  for (let g = 0; g < topology.groups; g++)
    for (let i = 0; i < topology.devices(g); i++)
      devices.push(roles.device(g, i, setup.keysOf(deviceAt(g, i))));
  const aggregators = Array.from({ length: topology.groups }, (_, g) =>
    topology.aggregators(g).map((a) => roles.aggregator(a, setup.keysOf(a))),
  );
  const bare = roles.center(setup.keysOf(CENTER));
  const center = o.center ? await o.center(bare, setup) : bare;
  const roleSet: RoleSet = {
    devices: new Map(devices.map((d) => [addressKey(d.address), d])),
    aggregators: new Map(aggregators.flat().map((a) => [addressKey(a.address), a])),
    center,
  };
  const onDelivery = trace
    ? (d: Delivery) =>
        trace({
          kind: 'deliver',
          from: d.from,
          to: d.envelope.to,
          channel: d.envelope.channel,
          bytes: d.bytes,
          nowMs: now,
          verdict: d.verdict,
        })
    : undefined;
  const ctx = { rng, now: () => now, ...(onDelivery ? { onDelivery } : {}) };
  const router = await (o.router ?? inMemory)(roleSet, ctx);

  const results: SchemeRoundResult[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const t0 = startMs + round * roundMs;
      const isDown = (who: Address) => o.faults?.down?.(who, round) ?? false;
      const routerFaults = o.faults?.router?.(round) ?? {};
      router.faults = {
        ...routerFaults,
        down: (who) => isDown(who) || (routerFaults.down?.(who) ?? false),
      };
      now = t0;
      for (const a of aggregators.flat()) {
        if (isDown(a.address)) continue;
        a.open(round, now);
        trace?.({ kind: 'open', at: a.address, round, nowMs: now });
      }
      now = t0 + Math.floor(roundMs / 10);
      for (const d of devices) {
        const { group, index } = d.address;
        if (isDown(d.address) || o.faults?.deviceSilent?.(group, index, round)) continue;
        const reading = workload.reading(group, index, round % workload.rounds);
        const out = d.report(round, reading, now, rng);
        trace?.({ kind: 'report', from: d.address, round, nowMs: now, out });
        await router.send(d.address, out);
      }
      await router.settle();
      now = t0 + Math.floor(roundMs / 2);
      // Children before parents: a parent closes once its children's partials are in.
      for (const group of aggregators) {
        for (const a of group) {
          if (isDown(a.address)) continue;
          const out = a.close(round, now, rng, o.faults?.lying?.(a.address, round));
          trace?.({ kind: 'close', at: a.address, round, nowMs: now, out });
          await router.send(a.address, out);
          await router.settle();
        }
      }
      // Late envelopes arrive after every deadline of the round: receivers must refuse them.
      await router.release();
      await router.settle();
      now = t0 + Math.floor((3 * roundMs) / 4);
      const groups: GroupResult[] = [];
      for (let g = 0; g < topology.groups; g++) {
        const recover = () => {
          const recovery = center.recover(g, round, now);
          trace?.({ kind: 'recover', group: g, round, nowMs: now, recovery });
          return recovery;
        };
        let recovery: Recovery = recover();
        let phases = 0;
        while (recovery.status === 'pending' && phases < (o.maxPhases ?? 8)) {
          phases++;
          await router.send(CENTER, recovery.next);
          await router.settle();
          recovery = recover();
        }
        groups.push(groupResult(recovery, topology.devices(g), workload, phases));
      }
      const r = { round, groups };
      results.push(r);
      o.onRound?.(r, round + 1, rounds);
    }
  } finally {
    await router.close();
  }
  return summarise(config.id, pop, results, router.rejections);
}
