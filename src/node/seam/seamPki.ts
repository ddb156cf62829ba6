import { createCertificateAuthority, issueCertificate } from '../../net/pki.js';
import type { SchemeConfig } from '../../schemes/scheme.js';
import { aggregatorAt, deviceAt } from '../../schemes/scheme.js';
import type { SeamIdentity } from './seamTopics.js';
import { envelopeTopic } from './seamTopics.js';

/**
 * The TLS material of one scheme run: a fresh CA, the broker's server certificate, and a
 * client certificate per identity (CN = the identity = the MQTT client id the broker's
 * policy knows). The TA issues it once; the demo keeps it in memory, `privagg up` hands
 * each process its own certificate in its bundle.
 */
export interface SeamPki {
  ca: string;
  server: { cert: string; key: string };
  credentials: ReadonlyMap<string, { cert: string; key: string }>;
}

export function issueSeamPki(run: string, identities: readonly SeamIdentity[]): SeamPki {
  const ca = createCertificateAuthority({ commonName: `${run}.ca` });
  const server = issueCertificate(ca, {
    commonName: `${run}.broker`,
    role: 'broker',
    server: { dns: ['localhost'], ips: ['127.0.0.1'] },
  });
  const credentials = new Map<string, { cert: string; key: string }>();
  for (const id of identities) {
    const c = issueCertificate(ca, { commonName: id.name, role: id.role });
    credentials.set(id.name, { cert: c.certPem, key: c.keyPem });
  }
  return { ca: ca.certPem, server: { cert: server.certPem, key: server.keyPem }, credentials };
}

/** Topic overhead and MQTT header bytes a packet may carry beyond the scheme's message. */
const PACKET_SLACK = 512;

/** The largest packet a run may carry: the scheme's largest message, the longest topic, headers. */
export function seamPacketLimit(run: string, config: SchemeConfig): number {
  const largest = Math.max(...Object.values(config.sizes));
  const g = config.topology.groups - 1;
  const topic = envelopeTopic(run, deviceAt(g, 1e8), 'x'.repeat(32), aggregatorAt(g, 1e8));
  return largest + topic.length + PACKET_SLACK;
}
