import { seededRandom } from '../math/random.js';
import { defaultMaasParams, type MaasParams } from '../schemes/maas/params.js';
import type { Population } from '../schemes/scheme.js';
import { AI4I_FAILURE_TYPES } from '../sim/ai4i.js';
import { loadAi4iWorkload } from '../sim/ai4iWorkload.js';
import { SyntheticWorkload } from '../sim/syntheticWorkload.js';
import type { Workload } from '../sim/workload.js';
import type { DeploymentSpec } from './deploymentSpec.js';

/**
 * What every process of a deployment derives from its spec alike: the dimensions, the
 * rounds the workload covers, the MaaS parameters and the workload itself.
 */
/** Rows in the AI4I 2020 data set (data/README.md); the row check does not load the CSV. */
export const AI4I_ROWS = 10_000;
/** Upper bound of every synthetic reading (SyntheticWorkload's default). */
export const SYNTHETIC_MAX_READING = 5;
/** Rounds the workload covers when rounds.count is 0 (run until SIGINT), synthetic only. */
export const SYNTHETIC_OPEN_ENDED_ROUNDS = 100;
/** Synthetic workloads are precomputed: at most this many values (z·n·rounds·w) in memory. */
export const SYNTHETIC_MAX_VALUES = 50_000_000;

export function dimensionNames(
  workload: DeploymentSpec['scheme']['workload'],
  w: number,
): string[] {
  return workload === 'ai4i'
    ? [...AI4I_FAILURE_TYPES]
    : Array.from({ length: w }, (_, j) => `d${j + 1}`);
}

export function syntheticRounds(count: number): number {
  return count > 0 ? count : SYNTHETIC_OPEN_ENDED_ROUNDS;
}

/** w: 5 for AI4I; for synthetic the file's `scheme.dimensions` (default 5). */
export function dimensionCount(spec: DeploymentSpec): number {
  if (spec.scheme.workload === 'ai4i') return AI4I_FAILURE_TYPES.length;
  return (spec.scheme as { dimensions?: number }).dimensions ?? 5;
}

/** The names of the spec's dimensions: TWF…RNF for AI4I, d1…dw for synthetic. */
export function dimensionNamesOf(spec: DeploymentSpec): string[] {
  return dimensionNames(spec.scheme.workload, dimensionCount(spec));
}

/**
 * Rounds the workload covers: rounds.count, or when it is 0 (run until SIGINT) as many as
 * AI4I holds at one row per reading, or SYNTHETIC_OPEN_ENDED_ROUNDS. A runtime that runs
 * past them must wrap (round mod workloadRounds).
 */
export function workloadRounds(spec: DeploymentSpec): number {
  const { count } = spec.rounds;
  if (spec.scheme.workload === 'synthetic') return syntheticRounds(count);
  return count > 0 ? count : Math.floor(AI4I_ROWS / (spec.scheme.ians * spec.scheme.devicesPerIan));
}

/** AI4I rows per reading, R = ⌊rows / (z·n·rounds)⌋, as Ai4iWorkload's default computes it. */
export function ai4iRowsPerReading(spec: DeploymentSpec): number {
  return Math.floor(
    AI4I_ROWS / (spec.scheme.ians * spec.scheme.devicesPerIan * workloadRounds(spec)),
  );
}

/** The MaaS parameters every process of the deployment derives from the spec. */
export function toMaasParams(spec: DeploymentSpec): MaasParams {
  const names = dimensionNamesOf(spec);
  const max = spec.scheme.workload === 'ai4i' ? ai4iRowsPerReading(spec) : SYNTHETIC_MAX_READING;
  return defaultMaasParams({
    deployment: spec.name,
    ians: spec.scheme.ians,
    devicesPerIan: spec.scheme.devicesPerIan,
    gateways: spec.scheme.gateways,
    threshold: spec.scheme.threshold,
    ...(spec.scheme.maxLyingGateways !== undefined
      ? { maxLyingGateways: spec.scheme.maxLyingGateways }
      : {}),
    dimensions: names,
    maxReading: names.map(() => max),
    ldp: spec.scheme.ldp ? { ...spec.scheme.ldp } : null,
    ...(spec.scheme.inputValidity !== undefined
      ? { validity: spec.scheme.inputValidity ? { ...spec.scheme.inputValidity } : null }
      : {}),
    freshnessWindowMs: spec.rounds.freshnessWindowMs,
    modes: { ...spec.scheme.modes },
  });
}

/**
 * The workload the devices read: AI4I (rows per reading fixed to toMaasParams' maxReading,
 * so the two always agree) or synthetic, seeded from the deployment name so every process
 * builds the same readings.
 */
export function workloadFor(spec: DeploymentSpec): Workload {
  const shape = {
    ians: spec.scheme.ians,
    devicesPerIan: spec.scheme.devicesPerIan,
    rounds: workloadRounds(spec),
  };
  if (spec.scheme.workload === 'ai4i') {
    return loadAi4iWorkload(
      { ...shape, rowsPerReading: ai4iRowsPerReading(spec) },
      spec.scheme.data !== undefined ? { path: spec.scheme.data } : {},
    );
  }
  return new SyntheticWorkload({
    ...shape,
    dimensions: dimensionCount(spec),
    dimensionNames: dimensionNamesOf(spec),
    maxReading: SYNTHETIC_MAX_READING,
    rng: seededRandom(`privagg/deployment/v1/${spec.name}/synthetic`),
  });
}

/**
 * Who reports what, as the scheme seam sees it: the spec's IANs and devices, and each
 * dimension's public bound (AI4I's rows per reading, or the synthetic maximum) — the
 * same bound toMaasParams gives MaaS, computed without loading the data.
 */
export function populationOfSpec(spec: DeploymentSpec): Population {
  const max = spec.scheme.workload === 'ai4i' ? ai4iRowsPerReading(spec) : SYNTHETIC_MAX_READING;
  return {
    groups: spec.scheme.ians,
    devicesPerGroup: spec.scheme.devicesPerIan,
    dimensions: dimensionNamesOf(spec).map((name) => ({ name, max })),
  };
}
