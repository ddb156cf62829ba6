import { ErrorCode, PrivaggError } from '../../errors.js';
import type { Population, Scheme, SchemeConfig } from '../scheme.js';
import { joyeLibertAggregator } from './aggregator.js';
import { joyeLibertCenter } from './center.js';
import { partialBytes, reportBytes } from './codec.js';
import { deploymentOf } from './context.js';
import { joyeLibertDevice } from './device.js';
import { aggregatorKeysOf, centerKeysOf, deviceKeysOf, trustedSetup } from './keys.js';
import { type JoyeLibertParams, joyeLibertParams, SCHEME_ID } from './params.js';
import { maxPlaintext } from './readings.js';
import { joyeLibertTopology } from './topology.js';

export { type JoyeLibertParams, joyeLibertParams } from './params.js';

/**
 * Joye & Libert, "A scalable scheme for privacy-preserving aggregation of time-series
 * data", FC 2013, on the scheme seam: each device of a group encrypts its readings under
 * its key s_i with masks H(t)^{s_i} that cancel in the product of all n ciphertexts; the
 * group's one aggregator multiplies; the center, holding s_0 = −Σ s_i, decrypts the sum
 * Σx = (V − 1)/N without a discrete logarithm. No fault tolerance: one missing device and
 * the round is lost. (The paper's aggregator holds s_0; here the center does — see keys.ts.)
 */
export const joyeLibertScheme: Scheme<JoyeLibertParams> = {
  id: SCHEME_ID,
  title: 'Joye–Libert 2013 (one aggregator per group, every device needed)',
  status: 'standard',
  summary:
    'Paillier-style masks in Z_{N²} that cancel in the product of all devices; exact sums, no device may fail.',
  params: joyeLibertParams,
  configure: (params, population) =>
    configureJoyeLibert(joyeLibertParams.parse(params), population),
};

function checkPopulation(p: JoyeLibertParams, pop: Population): void {
  const { groups, devicesPerGroup: n, dimensions } = pop;
  if (!Number.isInteger(groups) || groups < 1 || !Number.isInteger(n) || n < 1 || n > 0xffff_ffff)
    throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, `${groups} group(s) of ${n} device(s)`);
  if (dimensions.length < 1 || dimensions.length > 0xffff)
    throw new PrivaggError(
      ErrorCode.INVALID_ARGUMENT,
      `${dimensions.length} dimensions (1..65535)`,
    );
  for (const d of dimensions) {
    if (!Number.isFinite(d.max) || d.max < 0)
      throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, `${d.name}: max ${d.max}`);
    // The sum comes back as a JS number; beyond 2^53 it would no longer be exact. (N, at
    // 2^511 or more, is never the limit.)
    if (BigInt(n) * maxPlaintext(p.scale, d) > BigInt(Number.MAX_SAFE_INTEGER))
      throw new PrivaggError(
        ErrorCode.SUM_MAY_WRAP,
        `${d.name}: n · max · scale exceeds 2^53, so a sum would not be exact`,
      );
  }
}

function configureJoyeLibert(p: JoyeLibertParams, pop: Population): SchemeConfig {
  checkPopulation(p, pop);
  const w = pop.dimensions.length;
  return {
    id: SCHEME_ID,
    population: pop,
    publicConfig: { ...p },
    properties: {
      privacy: 'Z_{N²} masks that cancel in the product; the center decrypts only the sum',
      integrity:
        'reports: HMAC-SHA256 per link, freshness window, replay cache; partials: Ed25519; the decrypted sum range-checked (a device can still lie within n·max)',
      deviceFaults: 'none: one missing device fails the round',
      aggregatorFaults: 'none (one aggregator)',
      dp: 'none',
      exact: true,
      // The center checks the aggregator's signature, not its arithmetic: a product times
      // (1 + c·N) decrypts to the sum plus c.
      lyingAggregator: 'undetected',
    },
    sizes: {
      report: reportBytes(p.modulusBits, w),
      partial: partialBytes(p.modulusBits, w, pop.devicesPerGroup),
    },
    topology: joyeLibertTopology(pop),
    setup: (rng) => trustedSetup(p.modulusBits, pop, rng),
    roles(publicSetup) {
      const dep = deploymentOf(p, pop, publicSetup);
      const deployment = dep.setup.deployment;
      return {
        device: (g, i, blob) => joyeLibertDevice(dep, g, i, deviceKeysOf(g, i, blob, deployment)),
        aggregator: (at, blob) =>
          joyeLibertAggregator(
            dep,
            at,
            aggregatorKeysOf(at, blob, deployment, pop.devicesPerGroup),
          ),
        center: (blob) => joyeLibertCenter(dep, centerKeysOf(blob, deployment, pop.groups)),
      };
    },
  };
}
