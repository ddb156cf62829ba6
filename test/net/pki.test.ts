import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPrivaggError } from '../../src/errors.js';
import { createCertificateAuthority, issueCertificate, peerIdentity } from '../../src/net/pki.js';

const DAY = 24 * 60 * 60 * 1000;

describe('pki (system openssl)', () => {
  const ca = createCertificateAuthority({ commonName: 'dep.ca' });
  const caCert = new X509Certificate(ca.certPem);

  it('makes a P-256 CA valid for 10 years, and leaves it signs verify against it', () => {
    expect(caCert.ca).toBe(true);
    expect(caCert.subject).toBe('O=privagg\nCN=dep.ca');
    expect(caCert.publicKey.asymmetricKeyDetails).toMatchObject({ namedCurve: 'prime256v1' });
    expect(caCert.verify(caCert.publicKey)).toBe(true);
    const years = (Date.parse(caCert.validTo) - Date.parse(caCert.validFrom)) / (365 * DAY);
    expect(years).toBeGreaterThan(9.9);
    expect(years).toBeLessThan(10.1);
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);

    const leaf = issueCertificate(ca, { commonName: 'dep.gw-0-1', role: 'gateway' });
    const cert = new X509Certificate(leaf.certPem);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.subject).toBe('O=privagg\nOU=gateway\nCN=dep.gw-0-1');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']); // clientAuth only
    expect(cert.subjectAltName).toBeUndefined();
    expect(peerIdentity(cert)).toEqual({ name: 'dep.gw-0-1', role: 'gateway' });
    // Valid from (a little before) now for about a year.
    expect(Date.parse(cert.validFrom)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(cert.validFrom)).toBeGreaterThan(Date.now() - 2 * 60 * 60 * 1000);
    expect(Date.parse(cert.validTo) - Date.now()).toBeGreaterThan(364 * DAY);
    expect(Date.parse(cert.validTo) - Date.now()).toBeLessThan(366 * DAY);
  });

  it('a server certificate names its hosts and addresses (and is a client too only if asked)', () => {
    const broker = issueCertificate(ca, {
      commonName: 'dep.broker',
      role: 'broker',
      server: { dns: ['localhost'], ips: ['127.0.0.1', '::1'] },
    });
    const cert = new X509Certificate(broker.certPem);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkHost('example.org')).toBeUndefined();
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('::1')).toBe('::1');
    expect(cert.checkIP('10.0.0.1')).toBeUndefined();
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // serverAuth only

    const ledger = issueCertificate(ca, {
      commonName: 'dep.ledger',
      role: 'ledger',
      server: { dns: ['localhost'], ips: ['127.0.0.1'] },
      client: true,
    });
    expect(new X509Certificate(ledger.certPem).keyUsage!.sort()).toEqual([
      '1.3.6.1.5.5.7.3.1',
      '1.3.6.1.5.5.7.3.2',
    ]);
  });

  it('openssl agrees: the chain verifies for its purpose, and not for the other one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'privagg-pki-test-'));
    try {
      const client = issueCertificate(ca, { commonName: 'dep.oem-1', role: 'oem' });
      writeFileSync(join(dir, 'ca.pem'), ca.certPem);
      writeFileSync(join(dir, 'client.pem'), client.certPem);
      const verify = (purpose: string) =>
        execFileSync(
          'openssl',
          ['verify', '-CAfile', 'ca.pem', '-purpose', purpose, 'client.pem'],
          {
            cwd: dir,
            stdio: 'pipe',
          },
        ).toString();
      expect(verify('sslclient')).toMatch(/client\.pem: OK/);
      expect(() => verify('sslserver')).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a certificate from another CA does not verify', () => {
    const other = createCertificateAuthority({ commonName: 'dep.ca' }); // same name, other key
    const forged = issueCertificate(other, { commonName: 'dep.gw-0-1', role: 'gateway' });
    const cert = new X509Certificate(forged.certPem);
    expect(cert.verify(caCert.publicKey)).toBe(false);
    expect(cert.verify(new X509Certificate(other.certPem).publicKey)).toBe(true);
    expect(cert.checkIssued(caCert)).toBe(false);
  });

  it('keys are new for every certificate and serials are random', () => {
    const a = issueCertificate(ca, { commonName: 'x', role: 'devices' });
    const b = issueCertificate(ca, { commonName: 'x', role: 'devices' });
    expect(a.keyPem).not.toBe(b.keyPem);
    const sa = new X509Certificate(a.certPem).serialNumber;
    const sb = new X509Certificate(b.certPem).serialNumber;
    expect(sa).not.toBe(sb);
    expect(sa.length).toBeGreaterThanOrEqual(30);
  });

  it('refuses names that could inject into a subject, bad SANs, and a CA without its key', () => {
    const bad = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return isPrivaggError(e, 'INVALID_ARGUMENT');
      }
      return false;
    };
    expect(bad(() => issueCertificate(ca, { commonName: 'a/OU=ledger', role: 'gateway' }))).toBe(
      true,
    );
    expect(bad(() => issueCertificate(ca, { commonName: 'a', role: 'x+CN=b' }))).toBe(true);
    expect(bad(() => issueCertificate(ca, { commonName: '', role: 'gateway' }))).toBe(true);
    expect(bad(() => issueCertificate(ca, { commonName: 'a'.repeat(129), role: 'g' }))).toBe(true);
    expect(
      bad(() =>
        issueCertificate(ca, {
          commonName: 'a',
          role: 'b',
          server: { dns: ['x,IP:1.2.3.4'], ips: [] },
        }),
      ),
    ).toBe(true);
    expect(
      bad(() =>
        issueCertificate(ca, { commonName: 'a', role: 'b', server: { dns: [], ips: ['1.2.3'] } }),
      ),
    ).toBe(true);
    expect(
      bad(() => issueCertificate(ca, { commonName: 'a', role: 'b', server: { dns: [], ips: [] } })),
    ).toBe(true);
    const other = createCertificateAuthority({ commonName: 'other' });
    expect(
      bad(() =>
        issueCertificate(
          { certPem: ca.certPem, keyPem: other.keyPem },
          { commonName: 'a', role: 'b' },
        ),
      ),
    ).toBe(true);
    const leaf = issueCertificate(ca, { commonName: 'leaf', role: 'oem' });
    expect(bad(() => issueCertificate(leaf, { commonName: 'a', role: 'b' }))).toBe(true);
  });

  it('peerIdentity is strict: not a privagg subject → null', () => {
    expect(peerIdentity(caCert)).toBeNull(); // no OU
    expect(peerIdentity(null)).toBeNull();
    expect(peerIdentity({} as never)).toBeNull(); // what getPeerCertificate() gives without a certificate
    // The same subject as a PeerCertificate (its DER in `raw`).
    const leaf = issueCertificate(ca, { commonName: 'dep.devices-0', role: 'devices' });
    const raw = new X509Certificate(leaf.certPem).raw;
    expect(peerIdentity({ raw } as never)).toEqual({ name: 'dep.devices-0', role: 'devices' });
    // Subjects openssl makes on request but privagg never issues.
    for (const subj of [
      '/O=privagg/OU=gateway/CN=a/CN=b', // two CNs
      '/O=privagg/OU=gateway/OU=ledger/CN=a', // two OUs
      '/O=other/OU=gateway/CN=a', // foreign organisation
      '/O=privagg/OU=gateway/CN=a b', // a space
      '/O=privagg/OU=gateway+CN=a', // multi-valued RDN
      '/O=privagg/OU=gateway/CN=a\nCN=b', // a newline trying to forge a second line
    ]) {
      expect(peerIdentity(selfSigned(subj)), subj).toBeNull();
    }
    expect(peerIdentity(selfSigned('/O=privagg/OU=gateway/CN=a'))).toEqual({
      name: 'a',
      role: 'gateway',
    });
  });
});

/** A throwaway self-signed certificate with an arbitrary subject (made with openssl directly). */
function selfSigned(subject: string): X509Certificate {
  const dir = mkdtempSync(join(tmpdir(), 'privagg-pki-test-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'k.pem',
        '-out',
        'c.pem',
        '-days',
        '1',
        '-subj',
        subject,
        '-multivalue-rdn',
      ],
      { cwd: dir, stdio: 'pipe' },
    );
    return new X509Certificate(execFileSync('cat', ['c.pem'], { cwd: dir }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
