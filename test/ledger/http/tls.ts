import { request } from 'node:https';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  type IssuedCertificate,
  issueCertificate,
} from '../../../src/net/pki.js';

/**
 * A deployment's PKI for the HTTPS tests (src/net/pki.ts, the system's openssl): the CA,
 * the ledger's server certificate, and client certificates made on demand (cached).
 */
export interface TestPki {
  ca: CertificateAuthority;
  /** startLedgerApi's `tls` option. */
  ledgerTls: { ca: string; cert: string; key: string };
  /** A client certificate with this CN and OU (issued once per pair). */
  client(commonName: string, role: string): IssuedCertificate;
}

export function testPki(deployment: string): TestPki {
  const ca = createCertificateAuthority({ commonName: `${deployment}.ca` });
  const ledger = issueCertificate(ca, {
    commonName: `${deployment}.ledger`,
    role: 'ledger',
    server: { dns: ['localhost'], ips: ['127.0.0.1'] },
    client: true,
  });
  const issued = new Map<string, IssuedCertificate>();
  return {
    ca,
    ledgerTls: { ca: ca.certPem, cert: ledger.certPem, key: ledger.keyPem },
    client(commonName, role) {
      const key = `${commonName}|${role}`;
      let c = issued.get(key);
      if (!c) {
        c = issueCertificate(ca, { commonName, role });
        issued.set(key, c);
      }
      return c;
    },
  };
}

export interface HttpsAnswer {
  status: number;
  text: string;
  json(): unknown;
}

/**
 * One HTTPS request with a client certificate (or none), trusting `ca`. `announce` sends a
 * Content-Length larger than the body actually written, and waits for the answer without
 * ending the body: the server must answer from the headers alone.
 */
export function httpsCall(
  url: string,
  o: {
    ca: string;
    client?: IssuedCertificate;
    method?: 'GET' | 'POST';
    body?: Buffer | string;
    contentType?: string;
    announce?: number;
  },
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const body = o.body === undefined ? undefined : Buffer.from(o.body);
    const req = request(
      url,
      {
        method: o.method ?? (body ? 'POST' : 'GET'),
        ca: o.ca,
        ...(o.client ? { cert: o.client.certPem, key: o.client.keyPem } : {}),
        agent: false,
        headers: body
          ? {
              'content-type': o.contentType ?? 'application/octet-stream',
              'content-length': o.announce ?? body.length,
            }
          : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
        // An announced body is never finished: close the connection once answered.
        if (o.announce !== undefined) res.on('end', () => req.destroy());
      },
    );
    req.on('error', reject);
    if (body && o.announce !== undefined) req.write(body);
    else if (body) req.end(body);
    else req.end();
  });
}
