import { type Address, aggregatorAt, CENTER, type Population, type Topology } from '../scheme.js';

/**
 * Joye–Libert has one aggregator per group (the paper's aggregator over one IAN): every
 * device of group g reports to aggregatorAt(g, 0), which sends the group's product to
 * the center.
 */
export const groupAggregator = (g: number): Address => aggregatorAt(g, 0);

export function joyeLibertTopology(pop: Population): Topology {
  return {
    groups: pop.groups,
    devices: () => pop.devicesPerGroup,
    aggregators: (g) => [groupAggregator(g)],
    upstream: (of) =>
      of.role === 'device' ? [groupAggregator(of.group)] : of.role === 'aggregator' ? [CENTER] : [],
  };
}
