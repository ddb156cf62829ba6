import { request as httpsRequest } from 'node:https';
import { connectMqtt } from '../../net/mqttClient.js';
import { createCertificateAuthority, issueCertificate } from '../../net/pki.js';

/**
 * What the demo's outsider tries against a secure deployment — somebody on the network
 * with no credential of this deployment: MQTT in plaintext, MQTT over TLS without a
 * client certificate, MQTT with a certificate from another CA that names a real gateway,
 * and the ledger's HTTPS API without a client certificate. Each must be refused before
 * the broker or the ledger does any work for it. The outcome per attempt is reported, not
 * assumed: a probe that got in says so.
 */
export interface ProbeOutcome {
  what: string;
  refused: boolean;
  /** The refusal (or what happened instead), in a few words. */
  detail: string;
}

const TIMEOUT_MS = 5000;

async function mqttProbe(
  what: string,
  url: string,
  opts: Parameters<typeof connectMqtt>[1],
): Promise<ProbeOutcome> {
  try {
    const link = await connectMqtt(url, { ...opts, connectTimeoutMs: TIMEOUT_MS });
    await link.close().catch(() => undefined);
    return { what, refused: false, detail: 'connected' };
  } catch (e) {
    return { what, refused: true, detail: firstLine(e) };
  }
}

function httpsProbe(what: string, url: string, ca: string): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      `${url}/v1/health`,
      { ca, rejectUnauthorized: true, timeout: TIMEOUT_MS, agent: false },
      (res) => {
        res.resume();
        // A TLS 1.3 server can refuse the missing certificate after the client's handshake
        // ends; an answer at all (even 401/403) means the request got through TLS.
        resolve({ what, refused: false, detail: `HTTP ${res.statusCode}` });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => resolve({ what, refused: true, detail: firstLine(e) }));
    req.end();
  });
}

function firstLine(e: unknown): string {
  const s = e instanceof Error ? e.message : String(e);
  return s.split('\n')[0]!.slice(0, 160);
}

/**
 * Runs every probe against `brokerUrl` (mqtts://) and `ledgerUrl` (https://). `ca` is the
 * deployment's CA certificate — public, so an outsider may have it; `impersonate` is an
 * identity of the deployment (a gateway's) the foreign certificate claims.
 */
export async function probeAsOutsider(o: {
  brokerUrl: string;
  ledgerUrl: string;
  ca: string;
  impersonate: string;
}): Promise<ProbeOutcome[]> {
  const plain = o.brokerUrl.replace(/^mqtts:/, 'mqtt:');
  const foreignCa = createCertificateAuthority({ commonName: 'not-the-deployment-ca' });
  const foreign = issueCertificate(foreignCa, { commonName: o.impersonate, role: 'gateway' });
  return [
    await mqttProbe('MQTT without TLS', plain, { clientId: 'outsider-plaintext' }),
    await mqttProbe('MQTT over TLS without a client certificate', o.brokerUrl, {
      clientId: 'outsider-anonymous',
      tls: { ca: o.ca },
    }),
    await mqttProbe(`MQTT as ${o.impersonate} with another CA's certificate`, o.brokerUrl, {
      clientId: o.impersonate,
      tls: { ca: o.ca, cert: foreign.certPem, key: foreign.keyPem },
    }),
    await httpsProbe('ledger HTTPS without a client certificate', o.ledgerUrl, o.ca),
  ];
}
