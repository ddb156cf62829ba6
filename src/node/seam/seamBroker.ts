import { startEmbeddedBroker } from '../../net/embeddedBroker.js';
import type { LinkLogger } from '../../net/mqttClient.js';
import { createCertificateAuthority, issueCertificate } from '../../net/pki.js';
import type { SchemeConfig, Topology } from '../../schemes/scheme.js';
import { aggregatorAt, deviceAt } from '../../schemes/scheme.js';
import type { RouterFactory } from '../../sim/router.js';
import { MqttRouter } from './mqttRouter.js';
import { seamPolicy } from './seamPolicy.js';
import { checkRunName, envelopeTopic } from './seamTopics.js';

/**
 * A scheme run's own broker, secure by default: a fresh CA, a client certificate per
 * identity (the center, each aggregator, each group's device fleet), the embedded broker
 * over TLS requiring them, with the seam's access control and a packet limit that follows
 * the scheme's own message sizes. `router` plugs the whole into `runScheme`.
 */
export interface SeamBroker {
  url: string;
  /** The CA certificate clients trust. */
  ca: string;
  router: RouterFactory;
  /** An identity's client certificate and key (the TA's issue, for a role in another process). */
  credentialsOf(identity: string): { cert: string; key: string } | undefined;
  /** Publishes and refusals the broker counted. */
  stats(): ReturnType<Awaited<ReturnType<typeof startEmbeddedBroker>>['stats']>;
  close(): Promise<void>;
}

/** Topic overhead and MQTT header bytes a packet may carry beyond the scheme's message. */
const PACKET_SLACK = 512;

export async function startSeamBroker(o: {
  run: string;
  config: SchemeConfig;
  topology: Topology;
  logger?: LinkLogger;
}): Promise<SeamBroker> {
  const run = checkRunName(o.run);
  const policy = seamPolicy(run, o.topology);
  const ca = createCertificateAuthority({ commonName: `${run}.ca` });
  const server = issueCertificate(ca, {
    commonName: `${run}.broker`,
    role: 'broker',
    server: { dns: ['localhost'], ips: ['127.0.0.1'] },
  });
  const credentials = new Map<string, { cert: string; key: string }>();
  for (const id of policy.identities) {
    const c = issueCertificate(ca, { commonName: id.name, role: id.role });
    credentials.set(id.name, { cert: c.certPem, key: c.keyPem });
  }
  const largest = Math.max(...Object.values(o.config.sizes));
  // The longest topic a run can use: the largest group and index of either kind.
  const g = o.topology.groups - 1;
  const topic = envelopeTopic(run, deviceAt(g, 1e8), 'x'.repeat(32), aggregatorAt(g, 1e8));
  const maxPacketBytes = largest + topic.length + PACKET_SLACK;
  const broker = await startEmbeddedBroker({
    tls: { ca: ca.certPem, cert: server.certPem, key: server.keyPem },
    policy,
    maxPacketBytes,
    ...(o.logger ? { logger: o.logger } : {}),
  });
  return {
    url: broker.url,
    ca: ca.certPem,
    credentialsOf: (identity) => credentials.get(identity),
    stats: () => broker.stats(),
    router: (roles, ctx) =>
      MqttRouter.start({
        run,
        url: broker.url,
        ca: ca.certPem,
        roles,
        identities: policy.identities,
        credentials,
        rng: ctx.rng,
        now: ctx.now,
        maxPacketBytes,
        ...(ctx.onDelivery ? { onDelivery: ctx.onDelivery } : {}),
        ...(o.logger ? { logger: o.logger } : {}),
      }),
    close: () => broker.close(),
  };
}
