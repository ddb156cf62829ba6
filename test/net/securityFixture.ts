import { type BrokerGrant, BrokerPolicy } from '../../src/net/brokerPolicy.js';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  issueCertificate,
} from '../../src/net/pki.js';

/**
 * One small deployment "dep" for the broker-security tests: 2 IANs, m = 3 gateways
 * (gw-0-1, gw-0-2, gw-1-1 have identities), two device fleets (devices-0: IAN 0 devices
 * 0–2; devices-1: IAN 1 device 0), an OEM, the operator and the auditor; a CA, a broker
 * server certificate for 127.0.0.1/localhost, and a client certificate per identity.
 */
export const DEP = 'dep';

export function sampleGrants(): Map<string, BrokerGrant> {
  return new Map<string, BrokerGrant>([
    ['dep.ledger', { role: 'ledger' }],
    ['dep.gw-0-1', { role: 'gateway', ian: 0, gateway: 1 }],
    ['dep.gw-0-2', { role: 'gateway', ian: 0, gateway: 2 }],
    ['dep.gw-1-1', { role: 'gateway', ian: 1, gateway: 1 }],
    [
      'dep.devices-0',
      {
        role: 'devices',
        devices: [
          { ian: 0, device: 0 },
          { ian: 0, device: 1 },
          { ian: 0, device: 2 },
        ],
      },
    ],
    ['dep.devices-1', { role: 'devices', devices: [{ ian: 1, device: 0 }] }],
    ['dep.oem-1', { role: 'oem' }],
    ['dep.operator', { role: 'operator' }],
    ['dep.auditor', { role: 'auditor' }],
  ]);
}

export function samplePolicy(): BrokerPolicy {
  return new BrokerPolicy(DEP, 3, sampleGrants());
}

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export interface SamplePki {
  ca: CertificateAuthority;
  /** The broker's server certificate (127.0.0.1, ::1, localhost). */
  broker: TlsFiles;
  /** A client bundle for each identity of the policy. */
  identity(name: string): TlsFiles;
  /** A client bundle for any name and role, from the deployment CA. */
  issue(name: string, role: string): TlsFiles;
  /** The same identity, from a CA the broker does not trust. */
  foreign(name: string, role: string): TlsFiles;
  /** A CA the deployment does not use (its certificate as `ca`). */
  foreignCa: CertificateAuthority;
}

let cached: SamplePki | undefined;

export function samplePki(): SamplePki {
  if (cached) return cached;
  const ca = createCertificateAuthority({ commonName: 'dep.ca' });
  const foreignCa = createCertificateAuthority({ commonName: 'dep.ca' });
  const bundle = (authority: CertificateAuthority, name: string, role: string): TlsFiles => {
    const c = issueCertificate(authority, { commonName: name, role });
    return { ca: ca.certPem, cert: c.certPem, key: c.keyPem };
  };
  const broker = issueCertificate(ca, {
    commonName: 'dep.broker',
    role: 'broker',
    server: { dns: ['localhost'], ips: ['127.0.0.1', '::1'] },
  });
  const byName = new Map<string, TlsFiles>();
  for (const [name, grant] of sampleGrants()) byName.set(name, bundle(ca, name, grant.role));
  cached = {
    ca,
    foreignCa,
    broker: { ca: ca.certPem, cert: broker.certPem, key: broker.keyPem },
    identity(name) {
      const b = byName.get(name);
      if (!b) throw new Error(`no identity ${name} in the sample deployment`);
      return b;
    },
    issue: (name, role) => bundle(ca, name, role),
    foreign: (name, role) => bundle(foreignCa, name, role),
  };
  return cached;
}
