import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { sha256 } from '../../crypto/bytes.js';
import { ed25519KeyPair, ed25519PublicFromPrivate } from '../../crypto/ed25519.js';
import { exportRawPrivate } from '../../crypto/rawKeys.js';
import { encodeDeploymentConfig } from '../../ledger/deploymentConfig.js';
import type { BrokerGrant } from '../../net/brokerPolicy.js';
import { createCertificateAuthority, issueCertificate } from '../../net/pki.js';
import { type ParsedDeploymentSpec, toMaasParams } from '../deploymentFile.js';
import { loadOrCreateMasterSecret, loadRegistration, registryFor } from '../masterSecret.js';
import { BUNDLE_FORMAT, type CredentialBundle, loadBundle, type TlsCredentials } from './bundle.js';
import { identityOf, type Role } from './identities.js';

/**
 * The TA issues credentials: one bundle per identity (bundle.ts), each holding only its
 * role's keys, derived from the master secret the TA alone reads, plus a certificate from
 * the deployment's private CA. Layout under the state directory:
 *
 *   master.key, registration.json          the TA's (masterSecret.ts)
 *   pki/ca.crt, pki/ca.key                 the CA (ca.key 0600, the TA's only)
 *   credentials/<identity>.json            one bundle per identity, 0600: copy each to its host
 *   credentials/ledger.pub                 the ledger's Ed25519 public key (hex), public
 *
 * `privagg up` issues them afresh for each run, with a new ledger key: a retained epoch or
 * an outcome signed in an earlier run fails the signature check of this run's processes.
 * `privagg credentials issue` does the same for a deployment on several hosts.
 */
export interface IssueOptions {
  /** Devices per fleet bundle, in (IAN, device) order; default: every device in one fleet. */
  fleetSize?: number;
  /** Explicit fleets (each device in exactly one); overrides fleetSize. */
  fleets?: readonly (readonly { ian: number; device: number }[])[];
  /** Certificates and TLS keys in every bundle (off only for an insecure deployment). */
  tls: boolean;
  /** A new ledger signing key (default true: a new run is a new chain). */
  rotateLedgerKey?: boolean;
  nowMs?: number;
}

export interface IssuedCredentials {
  dir: string;
  /** identity → bundle path */
  bundles: Map<string, string>;
  /** The broker's view of who may do what (brokerPolicy.ts). */
  grants: Map<string, BrokerGrant>;
  ledgerPublicKey: Buffer;
  /** The CA certificate (PEM), or undefined without TLS. */
  caPem?: string;
  /** Fleets as issued: fleet k → its devices. */
  fleets: { ian: number; device: number }[][];
}

export const CREDENTIALS_DIR = 'credentials';

export function credentialsDir(spec: Pick<ParsedDeploymentSpec, 'stateDir'>): string {
  return join(spec.stateDir, CREDENTIALS_DIR);
}

export function bundlePath(spec: Pick<ParsedDeploymentSpec, 'stateDir'>, identity: string): string {
  return join(credentialsDir(spec), `${identity}.json`);
}

export function issueCredentials(spec: ParsedDeploymentSpec, o: IssueOptions): IssuedCredentials {
  const secret = loadOrCreateMasterSecret(spec.stateDir, {
    create: true,
    deployment: spec.name,
    ...(o.nowMs !== undefined ? { nowMs: o.nowMs } : {}),
  });
  const { registeredAtMs } = loadRegistration(spec.stateDir, spec.name);
  const registry = registryFor(spec, secret, { registeredAtMs });
  secret.fill(0);
  const dep = spec.name;
  const dir = credentialsDir(spec);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = o.tls ? loadOrCreateCa(spec) : undefined;

  const ledgerKeyFile = join(dir, `${identityOf.ledger(dep)}.json`);
  // Keeping the key: read it from the ledger's own bundle, with that bundle's checks.
  const signingKey =
    o.rotateLedgerKey === false && existsSync(ledgerKeyFile)
      ? Buffer.from(loadBundle(ledgerKeyFile, 'ledger').keys.signingKey, 'hex')
      : ed25519KeyPair().privateKey;
  const ledgerPublicKey = ed25519PublicFromPrivate(signingKey);
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const bundles = new Map<string, string>();
  const grants = new Map<string, BrokerGrant>();

  const write = (
    identity: string,
    role: Role,
    keys: CredentialBundle['keys'],
    tlsFor?: { server?: boolean; host?: string | undefined },
  ) => {
    let tls: TlsCredentials | undefined;
    if (ca) {
      const leaf = issueCertificate(ca, {
        commonName: identity,
        role,
        client: true,
        ...(tlsFor?.server ? { server: serverNames(tlsFor.host) } : {}),
      });
      tls = { ca: ca.certPem, cert: leaf.certPem, key: leaf.keyPem };
    }
    const bundle = {
      format: BUNDLE_FORMAT,
      deployment: dep,
      identity,
      role,
      registeredAtMs,
      ledgerPublicKey: hex(ledgerPublicKey),
      ...(tls ? { tls } : {}),
      keys,
    } as CredentialBundle;
    const path = join(dir, `${identity}.json`);
    writePrivate(path, `${JSON.stringify(bundle)}\n`);
    bundles.set(identity, path);
  };

  // The ledger.
  const lk = registry.ledgerKey();
  write(
    identityOf.ledger(dep),
    'ledger',
    {
      gatewayPublicKey: lk.gatewayPublicKey.map((row) => row.map((k) => hex(k.raw))),
      gatewayIdentity: lk.gatewayIdentity.map((row) => row.map(hex)),
      oems: lk.oems.map((x) => ({ identity: hex(x.identity), publicKey: hex(x.publicKey.raw) })),
      queryNoiseKey: hex(lk.queryNoiseKey),
      contentKey: hex(lk.chainContentKey!),
      signingKey: hex(signingKey),
    },
    // Clients reach the ledger at ledger.host (and on this machine at localhost).
    { server: true, host: spec.ledger.host },
  );
  grants.set(identityOf.ledger(dep), { role: 'ledger' });
  signingKey.fill(0);

  // Gateways.
  for (let v = 0; v < spec.scheme.ians; v++) {
    for (let l = 1; l <= spec.scheme.gateways; l++) {
      const g = registry.gatewayKey(v, l);
      const id = identityOf.gateway(dep, v, l);
      write(id, 'gateway', {
        ian: v,
        gateway: l,
        identity: hex(g.identity),
        deviceMac: g.deviceMac.map((k) => hex(k.bytes)),
        deviceAead: g.deviceAead.map((k) => hex(k.bytes)),
        deviceIdentity: g.deviceIdentity.map(hex),
        signingKey: hex(exportRawPrivate(g.signingKey.keyObject)),
      });
      grants.set(id, { role: 'gateway', ian: v, gateway: l });
    }
  }

  // Device fleets.
  const all: { ian: number; device: number }[] = [];
  for (let v = 0; v < spec.scheme.ians; v++)
    for (let i = 0; i < spec.scheme.devicesPerIan; i++) all.push({ ian: v, device: i });
  const fleets: { ian: number; device: number }[][] = [];
  if (o.fleets) {
    const seen = new Set<string>();
    for (const f of o.fleets) {
      for (const d of f) {
        const k = `${d.ian}/${d.device}`;
        if (seen.has(k) || d.ian >= spec.scheme.ians || d.device >= spec.scheme.devicesPerIan)
          throw new Error(`fleets: device ${k} is out of range or listed twice`);
        seen.add(k);
      }
      fleets.push(f.map((d) => ({ ian: d.ian, device: d.device })));
    }
    if (seen.size !== all.length) throw new Error('fleets: every device must be in one fleet');
  } else {
    const size = Math.max(1, o.fleetSize ?? all.length);
    for (let at = 0; at < all.length; at += size) fleets.push(all.slice(at, at + size));
  }
  fleets.forEach((devices, k) => {
    const id = identityOf.devices(dep, k);
    write(id, 'devices', {
      devices: devices.map(({ ian, device }) => {
        const d = registry.deviceKey(ian, device);
        return {
          ian,
          device,
          identity: hex(d.identity),
          gatewayMac: d.gatewayMac.map((x) => hex(x.bytes)),
          gatewayAead: d.gatewayAead.map((x) => hex(x.bytes)),
        };
      }),
    });
    grants.set(id, { role: 'devices', devices });
  });

  // Queriers, the operator, the auditor, the broker.
  spec.oems.forEach((_, o2) => {
    const k = registry.oemKey(o2);
    const id = identityOf.oem(dep, o2);
    write(id, 'oem', {
      oem: o2,
      identity: hex(k.identity),
      signingKey: hex(exportRawPrivate(k.signingKey.keyObject)),
    });
    grants.set(id, { role: 'oem' });
  });
  write(identityOf.operator(dep), 'operator', {});
  grants.set(identityOf.operator(dep), { role: 'operator' });
  // The auditor opens the chain's sealed values and checks its signed partials and queries.
  write(identityOf.auditor(dep), 'auditor', {
    gatewayPublicKey: lk.gatewayPublicKey.map((row) => row.map((k) => hex(k.raw))),
    oemPublicKey: lk.oems.map((x) => hex(x.publicKey.raw)),
    contentKey: hex(lk.chainContentKey!),
    // The configuration the ledger must hold, as it stores it: a file that says otherwise
    // (another mode, another f) is not this deployment's chain.
    deploymentHash: hex(
      sha256(encodeDeploymentConfig({ params: toMaasParams(spec), oems: spec.oems })),
    ),
  });
  grants.set(identityOf.auditor(dep), { role: 'auditor' });
  // An external broker is reached at broker.url's host; the embedded and managed ones on
  // this machine.
  write(
    identityOf.broker(dep),
    'broker',
    {},
    { server: true, host: brokerHostOf(spec.broker.url) },
  );

  writeFileSync(join(dir, 'ledger.pub'), `${hex(ledgerPublicKey)}\n`, { mode: 0o644 });
  return {
    dir,
    bundles,
    grants,
    ledgerPublicKey,
    ...(ca ? { caPem: ca.certPem } : {}),
    fleets,
  };
}

/** The deployment's CA: created once under <stateDir>/pki, its key readable by the TA only. */
function loadOrCreateCa(spec: ParsedDeploymentSpec): { certPem: string; keyPem: string } {
  const dir = join(spec.stateDir, 'pki');
  const certFile = join(dir, 'ca.crt');
  const keyFile = join(dir, 'ca.key');
  if (existsSync(certFile) && existsSync(keyFile)) {
    return { certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') };
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = createCertificateAuthority({ commonName: `${spec.name}.ca` });
  writePrivate(keyFile, ca.keyPem);
  writeFileSync(certFile, ca.certPem, { mode: 0o644 });
  return ca;
}

/** Written whole or not at all (temporary file, then rename), mode 0600 from the start. */
function writePrivate(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, path);
}

/**
 * The names a server certificate is valid for: this machine (localhost, 127.0.0.1, ::1),
 * and the host other machines reach it at, when one is configured. Unspecified addresses
 * (0.0.0.0, ::) are bind addresses, not names, and are left out.
 */
function serverNames(host: string | undefined): { dns: string[]; ips: string[] } {
  const dns = ['localhost'];
  const ips = ['127.0.0.1', '::1'];
  if (host && host !== '0.0.0.0' && host !== '::') {
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    if (isIP(bare)) {
      if (!ips.includes(bare)) ips.push(bare);
    } else if (!dns.includes(bare.toLowerCase())) dns.push(bare.toLowerCase());
  }
  return { dns, ips };
}

/** The host of an external broker URL; undefined for 'embedded' and 'mosquitto'. */
function brokerHostOf(url: string): string | undefined {
  if (url === 'embedded' || url === 'mosquitto') return undefined;
  try {
    return new URL(url).hostname || undefined;
  } catch {
    return undefined;
  }
}
