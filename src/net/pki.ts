import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerCertificate } from 'node:tls';
import { ErrorCode, PrivaggError } from '../errors.js';

/**
 * A deployment's private certificate authority and the certificates of its identities
 * (TLS with mutual authentication on MQTT and HTTPS).
 *
 * Made with the system's `openssl` binary, not a JavaScript X.509 library: it is the
 * same OpenSSL that Node and Mosquitto link, it is well kept (security releases, a
 * distribution package), and it spares the project a JavaScript certificate stack of
 * some 290 packages. Keys are ECDSA P-256, signatures SHA-256.
 *
 * Key material never appears in argv (which `ps` shows to every user): keys and the CA
 * key are handed to openssl as files in a private temporary directory (mode 0700,
 * files 0600), deleted afterwards whatever happens.
 *
 * Subjects are `CN=<identity name>, OU=<role>, O=privagg`: the identity (also the MQTT
 * client id and the Mosquitto username) is the CN, the role the OU. `peerIdentity`
 * reads them back strictly.
 */

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
}

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
}

export interface IssueOptions {
  /** The identity name (CN): the MQTT client id, the Mosquitto username. */
  commonName: string;
  /** The role (OU): ledger, gateway, devices, oem, operator, auditor, broker, … */
  role: string;
  /** A server certificate (extendedKeyUsage serverAuth) for these names and addresses. */
  server?: { dns: readonly string[]; ips: readonly string[] };
  /** extendedKeyUsage clientAuth. Default: true unless `server` is given. */
  client?: boolean;
  /** Default 365. */
  validityDays?: number;
}

/** Identity names and roles: what may appear in a CN or an OU (and an MQTT topic level). */
export const IDENTITY_NAME = /^[A-Za-z0-9._-]{1,128}$/;
const DNS_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*$/;
const ORGANIZATION = 'privagg';
/** Certificates start an hour in the past, so hosts whose clocks lag a little accept them. */
const BACKDATE_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export function createCertificateAuthority(opts: {
  commonName: string;
  /** Default 3650 (10 years). */
  validityDays?: number;
}): CertificateAuthority {
  const name = checkName(opts.commonName, 'CA common name');
  const days = checkDays(opts.validityDays ?? 3650);
  return inScratchDir((dir) => {
    genKey(dir, 'ca.key');
    openssl(dir, [
      'req',
      '-new',
      '-config',
      'openssl.cnf',
      '-key',
      'ca.key',
      '-subj',
      subject(name),
      '-out',
      'ca.csr',
    ]);
    sign(
      dir,
      [
        '-selfsign',
        '-keyfile',
        'ca.key',
        '-in',
        'ca.csr',
        '-out',
        'ca.crt',
        '-extensions',
        'ca_ext',
      ],
      days,
    );
    return { certPem: read(dir, 'ca.crt'), keyPem: read(dir, 'ca.key') };
  });
}

export function issueCertificate(ca: CertificateAuthority, opts: IssueOptions): IssuedCertificate {
  const name = checkName(opts.commonName, 'common name');
  const role = checkName(opts.role, 'role');
  const days = checkDays(opts.validityDays ?? 365);
  checkAuthority(ca);
  const usages: string[] = [];
  const altNames: string[] = [];
  if (opts.server) {
    usages.push('serverAuth');
    for (const dns of opts.server.dns) {
      if (typeof dns !== 'string' || !DNS_NAME.test(dns)) {
        throw new PrivaggError(
          ErrorCode.INVALID_ARGUMENT,
          `not a DNS name: ${JSON.stringify(dns)}`,
        );
      }
      altNames.push(`DNS:${dns}`);
    }
    for (const ip of opts.server.ips) {
      if (typeof ip !== 'string' || isIP(ip) === 0) {
        throw new PrivaggError(
          ErrorCode.INVALID_ARGUMENT,
          `not an IP address: ${JSON.stringify(ip)}`,
        );
      }
      altNames.push(`IP:${ip}`);
    }
    if (altNames.length === 0) {
      throw new PrivaggError(
        ErrorCode.INVALID_ARGUMENT,
        'a server certificate needs at least one DNS name or IP address',
      );
    }
  }
  if (opts.client ?? !opts.server) usages.push('clientAuth');
  if (usages.length === 0) {
    throw new PrivaggError(
      ErrorCode.INVALID_ARGUMENT,
      'a certificate must be for a server, a client or both',
    );
  }
  const extensions = [
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    `extendedKeyUsage = ${usages.join(', ')}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid:always',
    ...(altNames.length > 0 ? [`subjectAltName = ${altNames.join(', ')}`] : []),
  ];
  return inScratchDir((dir) => {
    writeFileSync(join(dir, 'ca.crt'), ca.certPem, { mode: 0o600 });
    writeFileSync(join(dir, 'ca.key'), ca.keyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'leaf.ext'), `[leaf_ext]\n${extensions.join('\n')}\n`, { mode: 0o600 });
    genKey(dir, 'leaf.key');
    openssl(dir, [
      'req',
      '-new',
      '-config',
      'openssl.cnf',
      '-key',
      'leaf.key',
      '-subj',
      subject(name, role),
      '-out',
      'leaf.csr',
    ]);
    sign(
      dir,
      [
        '-keyfile',
        'ca.key',
        '-cert',
        'ca.crt',
        '-in',
        'leaf.csr',
        '-out',
        'leaf.crt',
        '-extfile',
        'leaf.ext',
        '-extensions',
        'leaf_ext',
      ],
      days,
    );
    return { certPem: read(dir, 'leaf.crt'), keyPem: read(dir, 'leaf.key') };
  });
}

/**
 * The identity a certificate names: its CN and OU, when it has exactly one of each, both
 * made of A–Z a–z 0–9 . _ - (1–128), and O=privagg. Anything else — a missing or doubled
 * attribute, a multi-valued name, an escaped character — is null: not an identity.
 * Checks nothing about the signature; call it on a certificate TLS has verified.
 */
export function peerIdentity(
  cert: PeerCertificate | X509Certificate | null | undefined,
): { name: string; role: string } | null {
  let x509: X509Certificate;
  try {
    if (cert instanceof X509Certificate) x509 = cert;
    else if (cert && Buffer.isBuffer(cert.raw) && cert.raw.length > 0)
      x509 = new X509Certificate(cert.raw);
    else return null;
  } catch {
    return null;
  }
  // Node prints the subject one attribute a line, control characters and RFC 2253
  // specials escaped, so a value cannot forge a line; a multi-valued RDN joins with " + ".
  const seen = new Map<string, string[]>();
  for (const line of x509.subject.split('\n')) {
    const at = line.indexOf('=');
    if (at <= 0) return null;
    const key = line.slice(0, at);
    const values = seen.get(key) ?? [];
    values.push(line.slice(at + 1));
    seen.set(key, values);
  }
  const one = (key: string) => {
    const v = seen.get(key);
    return v?.length === 1 && IDENTITY_NAME.test(v[0]!) ? v[0]! : null;
  };
  const name = one('CN');
  const role = one('OU');
  if (name === null || role === null || one('O') !== ORGANIZATION) return null;
  return { name, role };
}

function subject(name: string, role?: string): string {
  // The names are checked against IDENTITY_NAME, so they carry no '/', '=', '+' or '\'.
  return role === undefined
    ? `/O=${ORGANIZATION}/CN=${name}`
    : `/O=${ORGANIZATION}/OU=${role}/CN=${name}`;
}

function checkName(value: string, what: string): string {
  if (typeof value !== 'string' || !IDENTITY_NAME.test(value)) {
    throw new PrivaggError(
      ErrorCode.INVALID_ARGUMENT,
      `${what} ${JSON.stringify(value)} must be 1–128 of A–Z a–z 0–9 . _ -`,
    );
  }
  return value;
}

function checkDays(days: number): number {
  if (!Number.isInteger(days) || days < 1 || days > 36_500) {
    throw new PrivaggError(
      ErrorCode.INVALID_ARGUMENT,
      `validity of ${days} days is not in 1..36500`,
    );
  }
  return days;
}

function checkAuthority(ca: CertificateAuthority): void {
  let ok = false;
  try {
    const cert = new X509Certificate(ca.certPem);
    ok = cert.ca && cert.checkPrivateKey(createPrivateKey(ca.keyPem));
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new PrivaggError(
      ErrorCode.INVALID_ARGUMENT,
      'the certificate authority is not a CA certificate with its matching private key',
    );
  }
}

/** The openssl configuration `req` and `ca` read: relative paths, run with cwd = the scratch dir. */
const OPENSSL_CNF = `
[ca]
default_ca = privagg_ca
[privagg_ca]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = policy_privagg
email_in_dn = no
unique_subject = no
copy_extensions = none
[policy_privagg]
organizationName = supplied
organizationalUnitName = optional
commonName = supplied
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
`;

function inScratchDir<T>(work: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'privagg-pki-')); // mode 0700
  try {
    writeFileSync(join(dir, 'openssl.cnf'), OPENSSL_CNF, { mode: 0o600 });
    writeFileSync(join(dir, 'index.txt'), '', { mode: 0o600 });
    // A random positive 128-bit serial (RFC 5280: at most 20 octets, unpredictable).
    const serial = randomBytes(16);
    serial[0] = (serial[0]! & 0x7f) | 0x10;
    writeFileSync(join(dir, 'serial'), `${serial.toString('hex')}\n`, { mode: 0o600 });
    return work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function genKey(dir: string, file: string): void {
  openssl(dir, [
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    file,
  ]);
}

function sign(dir: string, args: string[], days: number): void {
  const start = Date.now() - BACKDATE_MS;
  openssl(dir, [
    'ca',
    '-batch',
    '-config',
    'openssl.cnf',
    '-notext',
    '-preserveDN',
    '-startdate',
    asn1Time(start),
    '-enddate',
    asn1Time(start + BACKDATE_MS + days * DAY_MS),
    ...args,
  ]);
}

/** YYYYMMDDHHMMSSZ, which `openssl ca -startdate/-enddate` take. */
function asn1Time(ms: number): string {
  return `${new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

function read(dir: string, file: string): string {
  return readFileSync(join(dir, file), 'utf8');
}

function openssl(cwd: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') {
      throw new PrivaggError(
        ErrorCode.INVALID_ARGUMENT,
        'the `openssl` command is not installed; privagg makes its TLS certificates with it. ' +
          'Install it (Debian/Ubuntu: `apt-get install openssl`) and try again.',
      );
    }
    // openssl's stderr names the step that failed; it never echoes key material.
    const detail = err.stderr?.toString('utf8').trim().split('\n').slice(-3).join(' | ');
    throw new PrivaggError(
      ErrorCode.INVALID_ARGUMENT,
      `openssl ${args[0]} failed: ${detail || err.message}`,
    );
  }
}
