import { type GroupRoundStatus, roundStatusOf } from '../schemes/roundStatus.js';
import {
  addressKey,
  type Estimate,
  type Flag,
  type Population,
  type Recovery,
} from '../schemes/scheme.js';
import type { ReadingRef, Workload } from './workload.js';

/**
 * What a scheme run's recoveries amount to, the same for the simulator (schemeRunner.ts)
 * and the networked runtime (node/seam/seamUp.ts): each group-round's status from the one
 * mapping (`roundStatusOf`), the truth recomputed from the workload over exactly the
 * devices the center says entered, and the totals, flags and status counts over a run.
 */
export interface GroupResult extends GroupRoundStatus {
  readonly contributors: readonly number[];
  readonly values: readonly Estimate[] | null;
  readonly truth: readonly number[] | null;
  readonly flagged: readonly Flag[];
  readonly phases: number;
}

export interface SchemeRoundResult {
  readonly round: number;
  readonly groups: readonly GroupResult[];
}

export interface SchemeRunResult {
  readonly scheme: string;
  readonly population: Population;
  readonly rounds: readonly SchemeRoundResult[];
  /** Per dimension, over every recovered group-round: Σ estimates, √Σ SE², and the truth. */
  readonly totals: readonly {
    name: string;
    estimate: number;
    standardError: number;
    truth: number;
  }[];
  readonly flagged: readonly (Flag & { round: number })[];
  readonly statusCounts: Readonly<Record<GroupRoundStatus['status'], number>>;
  /** Rejections by code, over every role. */
  readonly rejections: Readonly<Record<string, number>>;
}

export function groupResult(
  r: Recovery,
  devices: number,
  w: Workload,
  phases: number,
): GroupResult {
  const status = roundStatusOf(r, devices);
  if (r.status !== 'recovered')
    return { ...status, contributors: [], values: null, truth: null, flagged: r.flagged, phases };
  const refs: ReadingRef[] = r.contributors.map((device) => ({
    ian: r.group,
    device,
    round: r.round % w.rounds,
  }));
  return {
    ...status,
    contributors: r.contributors,
    values: r.values,
    truth: w.groundTruthOver(refs),
    flagged: r.flagged,
    phases,
  };
}

export function summarise(
  scheme: string,
  population: Population,
  rounds: readonly SchemeRoundResult[],
  rejections: Readonly<Record<string, number>>,
): SchemeRunResult {
  const w = population.dimensions.length;
  const est = new Array<number>(w).fill(0);
  const variance = new Array<number>(w).fill(0);
  const truth = new Array<number>(w).fill(0);
  const flagged: (Flag & { round: number })[] = [];
  const statusCounts = { complete: 0, degraded: 0, failed: 0 };
  const seen = new Set<string>();
  for (const r of rounds) {
    for (const g of r.groups) {
      statusCounts[g.status]++;
      for (const f of g.flagged) {
        const k = `${r.round}/${addressKey(f.who)}/${f.why}`;
        if (!seen.has(k)) flagged.push({ ...f, round: r.round });
        seen.add(k);
      }
      if (!g.values || !g.truth) continue;
      for (let j = 0; j < w; j++) {
        est[j]! += g.values[j]!.estimate;
        variance[j]! += g.values[j]!.standardError ** 2;
        truth[j]! += g.truth[j]!;
      }
    }
  }
  return {
    scheme,
    population,
    rounds,
    totals: population.dimensions.map((d, j) => ({
      name: d.name,
      estimate: est[j]!,
      standardError: Math.sqrt(variance[j]!),
      truth: truth[j]!,
    })),
    flagged,
    statusCounts,
    rejections: { ...rejections },
  };
}
