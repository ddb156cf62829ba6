import { startEmbeddedBroker } from '../../net/embeddedBroker.js';
import type { LinkLogger } from '../../net/mqttClient.js';
import type { SchemeConfig } from '../../schemes/scheme.js';
import type { RouterFactory } from '../../sim/router.js';
import { MqttRouter } from './mqttRouter.js';
import { issueSeamPki, type SeamPki, seamPacketLimit } from './seamPki.js';
import { seamPolicy } from './seamPolicy.js';
import { checkRunName } from './seamTopics.js';

/**
 * A scheme run's own broker, secure by default: a CA, a client certificate per identity
 * (the center, each aggregator, each group's device fleet), the embedded broker over TLS
 * requiring them, with the seam's access control and a packet limit that follows the
 * scheme's own message sizes. `router` plugs the whole into `runScheme` (every role in this
 * process); `privagg up` passes the PKI it issued and runs the roles in their own processes.
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

export async function startSeamBroker(o: {
  run: string;
  config: SchemeConfig;
  logger?: LinkLogger;
  /** Certificates already issued for this run (default: a fresh CA and certificates). */
  pki?: SeamPki;
  host?: string;
  port?: number;
}): Promise<SeamBroker> {
  const run = checkRunName(o.run);
  const policy = seamPolicy(run, o.config.topology);
  const pki = o.pki ?? issueSeamPki(run, policy.identities);
  const maxPacketBytes = seamPacketLimit(run, o.config);
  const broker = await startEmbeddedBroker({
    tls: { ca: pki.ca, cert: pki.server.cert, key: pki.server.key },
    policy,
    maxPacketBytes,
    ...(o.host !== undefined ? { host: o.host } : {}),
    ...(o.port !== undefined ? { port: o.port } : {}),
    ...(o.logger ? { logger: o.logger } : {}),
  });
  return {
    url: broker.url,
    ca: pki.ca,
    credentialsOf: (identity) => pki.credentials.get(identity),
    stats: () => broker.stats(),
    router: (roles, ctx) =>
      MqttRouter.start({
        run,
        url: broker.url,
        ca: pki.ca,
        roles,
        identities: policy.identities,
        credentials: pki.credentials,
        rng: ctx.rng,
        now: ctx.now,
        maxPacketBytes,
        ...(ctx.onDelivery ? { onDelivery: ctx.onDelivery } : {}),
        ...(o.logger ? { logger: o.logger } : {}),
      }),
    close: () => broker.close(),
  };
}
