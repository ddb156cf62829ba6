import { z } from 'zod';
import { ErrorCode, PrivaggError } from '../../errors.js';
import type { RandomSource } from '../../math/random.js';
import { encodeKeyBlob } from '../keyBlob.js';
import {
  type Address,
  aggregatorAt,
  CENTER,
  type Population,
  type Scheme,
  type SchemeConfig,
  type Topology,
} from '../scheme.js';
import { bitmapWordCount } from './fixed.js';
import { frameBytes } from './frame.js';
import { pairName } from './pairMasks.js';
import { treeAggregator, treeCenter, treeDevice } from './twoPhaseTreeRoles.js';

/**
 * `tree-test`: the runtime's test of what real schemes need beyond one report and one
 * partial — a two-level tree and a second phase that goes back to the devices.
 *
 * Devices mask their readings with pairwise masks that cancel in the group's sum
 * (pairMasks.ts) and report to one of `leaves` leaf aggregators; leaves add what they got
 * and send it to the group's root; the root adds the leaves' sums and sends the group's to
 * the center. If every device is in it the masks cancel and the center reads the sum. If
 * some are missing, their masks do not cancel: the center announces who is missing to each
 * device that is in the sum (phase two, as DDPFT's failure announcement), each answers with
 * the masks it shares with the missing ones, and the center takes them out.
 */
export const twoPhaseTreeParams = z
  .object({
    leaves: z.number().int().min(1).max(64).default(2),
    scale: z.number().int().min(1).max(1_000_000).default(1),
    freshnessWindowMs: z.number().int().min(1).default(30_000),
  })
  .strict();
export type TwoPhaseTreeParams = z.infer<typeof twoPhaseTreeParams>;

export const TREE_ID = 'tree-test';

export const twoPhaseTreeScheme: Scheme<TwoPhaseTreeParams> = {
  id: TREE_ID,
  title: 'Two-level tree with a failure phase (test scheme)',
  status: 'test',
  summary:
    'Pairwise-masked readings summed by leaves and a root; missing devices cost a second phase.',
  params: twoPhaseTreeParams,
  configure: (params, population) => configureTree(params, population),
};

/** Root = aggregator 0 of each group; leaf j = aggregator 1 + j; device i reports to leaf i mod L. */
export function treeTopology(p: TwoPhaseTreeParams, pop: Population): Topology {
  return {
    groups: pop.groups,
    devices: () => pop.devicesPerGroup,
    aggregators: (g) => [
      ...Array.from({ length: p.leaves }, (_, j) => aggregatorAt(g, 1 + j)),
      aggregatorAt(g, 0),
    ],
    upstream(of) {
      if (of.role === 'device') return [aggregatorAt(of.group, 1 + (of.index % p.leaves))];
      if (of.role === 'aggregator') return [of.index === 0 ? CENTER : aggregatorAt(of.group, 0)];
      return [];
    },
  };
}

function configureTree(p: TwoPhaseTreeParams, pop: Population): SchemeConfig {
  const w = pop.dimensions.length;
  const n = pop.devicesPerGroup;
  if (p.leaves > n)
    throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, `${p.leaves} leaves for ${n} devices`);
  const topology = treeTopology(p, pop);
  const bitmap = bitmapWordCount(n);
  return {
    id: TREE_ID,
    population: pop,
    publicConfig: { ...p },
    properties: {
      privacy: 'pairwise masks: an aggregator sees masked words; the center only the group sum',
      integrity: 'HMAC-SHA256 per link, freshness window, replay caches; readings range-checked',
      deviceFaults: 'any, at the cost of a second phase (failure announcement, mask answers)',
      aggregatorFaults: 'none: a leaf down loses its devices, the root down fails the group',
      dp: 'none',
      exact: true,
      lyingAggregator: 'undetected',
    },
    sizes: {
      report: frameBytes(w),
      partial: frameBytes(1 + bitmap + w),
      announce: frameBytes(bitmap),
      aux: frameBytes(w),
    },
    setup: (rng) => treeSetup(pop, p, rng),
    topology,
    roles: () => ({
      device: (g, i, blob) => treeDevice(p, pop, topology, g, i, blob),
      aggregator: (at, blob) => treeAggregator(p, pop, topology, at, blob),
      center: (blob) => treeCenter(p, pop, blob),
    }),
  };
}

function treeSetup(pop: Population, p: TwoPhaseTreeParams, rng: RandomSource) {
  const n = pop.devicesPerGroup;
  const keys = new Map<string, Uint8Array>();
  const key = (name: string) => {
    let k = keys.get(name);
    if (!k) {
      k = new Uint8Array(32);
      rng.fill(k);
      keys.set(name, k);
    }
    return k;
  };
  // Drawn in a fixed order, so a seed gives the same keys whatever roles are asked for first.
  for (let g = 0; g < pop.groups; g++) {
    for (let i = 0; i < n; i++) {
      key(`${g}/up${i}`);
      key(`${g}/center${i}`);
      for (let j = i + 1; j < n; j++) key(`${g}/${pairName(i, j)}`);
    }
    for (let a = 0; a <= p.leaves; a++) key(`${g}/agg${a}`);
  }
  const leafOf = (i: number) => 1 + (i % p.leaves);
  return {
    publicSetup: Buffer.from(JSON.stringify({ scheme: TREE_ID, params: p }), 'utf8'),
    keysOf(who: Address): Uint8Array {
      const g = who.group;
      const out: Record<string, Uint8Array> = {};
      if (who.role === 'device') {
        out.up = key(`${g}/up${who.index}`);
        out.center = key(`${g}/center${who.index}`);
        for (let j = 0; j < n; j++)
          if (j !== who.index) out[pairName(who.index, j)] = key(`${g}/${pairName(who.index, j)}`);
      } else if (who.role === 'aggregator') {
        // A leaf holds its devices' links and its own link up; the root its leaves' links.
        out.up = key(`${g}/agg${who.index}`);
        if (who.index === 0)
          for (let a = 1; a <= p.leaves; a++) out[`agg${a}`] = key(`${g}/agg${a}`);
        else
          for (let i = 0; i < n; i++)
            if (leafOf(i) === who.index) out[`device${i}`] = key(`${g}/up${i}`);
      } else if (who.role === 'center') {
        for (let v = 0; v < pop.groups; v++) {
          out[`root${v}`] = key(`${v}/agg0`);
          for (let i = 0; i < n; i++) out[`device${v}_${i}`] = key(`${v}/center${i}`);
        }
      } else {
        throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, `${TREE_ID} has no ${who.role} role`);
      }
      return encodeKeyBlob(TREE_ID, who, out);
    },
  };
}
