import type { RandomSource } from '../../math/random.js';
import {
  aggregatorAt,
  CENTER,
  type Population,
  type Scheme,
  type SchemeConfig,
  type SchemeRoles,
  type Topology,
} from '../scheme.js';
import type { MaasParams } from './params.js';
import { maasCenter } from './schemeCenter.js';
import { maasSetup, openSetup } from './schemeKeys.js';
import {
  type MaasSchemeParams,
  maasParamsOf,
  maasProperties,
  maasSchemeParams,
  maasSizes,
  resolvedParams,
} from './schemeParams.js';
import { maasAggregator, maasDevice, roleContext } from './schemeRoles.js';

export type { MaasSchemeParams } from './schemeParams.js';
export { maasSchemeParams } from './schemeParams.js';

/**
 * MaaS (docs/SCHEMES.md §1) behind the scheme seam (src/schemes/scheme.ts), running
 * today's cores unchanged: the TA's registration (keys.ts) in `setup`, the device's
 * Algorithm 1 (device.ts), the gateway (gateway.ts) and the ledger contract's Add and
 * Restore with reconciliation (ledgerContract.ts). Queries (query.ts, DpUtils) stay
 * outside the seam in this step: the center is the contract alone.
 *
 * Files: schemeParams.ts (parameters, properties, sizes), schemeKeys.ts (setup, public
 * setup and key blobs), schemeRoles.ts (device and aggregator), schemeCenter.ts (the
 * center and its status notes).
 */
export interface MaasSchemeConfig extends SchemeConfig {
  /** The MaasParams the roles run with (for tests and the steps that move callers over). */
  readonly maasParams: MaasParams;
}

export const maasScheme: Scheme<MaasSchemeParams> = {
  id: 'maas',
  title: 'MaaS trend query (LDP + Shamir + ledger)',
  status: 'paper',
  summary:
    'Each device perturbs its reading (LDP) and Shamir-splits it k-of-m over the m gateways of its IAN; ' +
    'gateways sum the shares they received and sign partials; the ledger reconciles ' +
    'contributor sets, corrects lying gateways (Berlekamp–Welch) and restores each IAN sum.',
  params: maasSchemeParams,
  configure: (params, population) => configureMaas(params, population),
};

/**
 * The star of MaaS: every device of IAN v reports to all m gateways of v; aggregator
 * index l − 1 is gateway l (the wire's 1-based gateway number); gateways report to the
 * center.
 */
export function maasTopology(params: MaasParams): Topology {
  const m = params.gateways;
  const gatewaysOf = (g: number) => Array.from({ length: m }, (_, i) => aggregatorAt(g, i));
  return {
    groups: params.ians,
    devices: () => params.devicesPerIan,
    aggregators: gatewaysOf,
    upstream: (of) =>
      of.role === 'device' ? gatewaysOf(of.group) : of.role === 'aggregator' ? [CENTER] : [],
  };
}

export function configureMaas(p: MaasSchemeParams, population: Population): MaasSchemeConfig {
  const params = maasParamsOf(p, population);
  const config = resolvedParams(p, params);
  const pop: Population = {
    groups: population.groups,
    devicesPerGroup: population.devicesPerGroup,
    dimensions: population.dimensions.map((d) => ({ name: d.name, max: d.max })),
  };
  const topology = maasTopology(params);
  return {
    id: 'maas',
    population: pop,
    properties: maasProperties(params),
    publicConfig: config,
    sizes: maasSizes(params),
    topology,
    maasParams: params,
    setup: (rng: RandomSource) => maasSetup(params, config, pop, rng),
    roles(publicSetup): SchemeRoles {
      const ctx = roleContext(params, openSetup(publicSetup, config, pop), config.registeredAtMs);
      return {
        device: (group, index, keys) => maasDevice(ctx, group, index, keys),
        aggregator: (at, keys) => maasAggregator(ctx, at, keys),
        center: (keys) => maasCenter(ctx, keys),
      };
    },
  };
}
