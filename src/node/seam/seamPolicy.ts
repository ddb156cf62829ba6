import type { TopicPolicy } from '../../net/brokerPolicy.js';
import type { Topology } from '../../schemes/scheme.js';
import { deviceAt } from '../../schemes/scheme.js';
import {
  inboxFilter,
  parseEnvelopeTopic,
  type SeamIdentity,
  seamIdentity,
  speaksFor,
} from './seamTopics.js';

/**
 * The broker's access control for a scheme run over the seam: every identity publishes
 * only with its own address(es) as the sender, never retained, and subscribes exactly the
 * inboxes of its own addresses (no wildcard but the inbox's channel and sender levels).
 * Receivers then take `from` from the topic: the broker has checked it.
 */
export function seamPolicy(
  run: string,
  topology: Topology,
): TopicPolicy & {
  identities: readonly SeamIdentity[];
} {
  const identities: SeamIdentity[] = [seamIdentity.center(run)];
  for (let g = 0; g < topology.groups; g++) {
    identities.push(seamIdentity.devices(run, g));
    for (const a of topology.aggregators(g)) identities.push(seamIdentity.aggregator(run, a));
  }
  const byName = new Map(identities.map((i) => [i.name, i]));
  const inboxes = (id: SeamIdentity): Set<string> => {
    if (id.role === 'ledger')
      return new Set([inboxFilter(run, { role: 'center', group: -1, index: 0 })]);
    if (id.role === 'gateway')
      return new Set([inboxFilter(run, { role: 'aggregator', group: id.group, index: id.index })]);
    return new Set(
      Array.from({ length: topology.devices(id.group) }, (_, i) =>
        inboxFilter(run, deviceAt(id.group, i)),
      ),
    );
  };
  const filters = new Map(identities.map((i) => [i.name, inboxes(i)]));
  return {
    identities,
    grant: (identity) => byName.get(identity),
    canPublish(identity, topic, retain = false) {
      const id = byName.get(identity);
      const t = parseEnvelopeTopic(topic);
      return (
        !retain && id !== undefined && t !== undefined && t.run === run && speaksFor(id, t.from)
      );
    },
    canSubscribe: (identity, filter) => filters.get(identity)?.has(filter) ?? false,
  };
}
