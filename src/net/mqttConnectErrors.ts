/**
 * Why a connection attempt failed, in words a person can act on ("connection refused",
 * "host not found", "TLS handshake failed: the broker refused this client's
 * certificate", "the broker refused the connection: not authorized", …), and whether
 * retrying can help. The link fails its first connection with this reason; with
 * `waitForBroker` it retries the transient ones (refused, not found, reset, timeout)
 * until the broker answers, but a refusal of this identity (TLS certificate or CONNACK)
 * or an untrusted broker is permanent and fails at once in both modes.
 */

/** Node's codes for a broker certificate that does not chain to the CA we trust. */
const UNTRUSTED_SERVER = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'INVALID_PURPOSE',
]);
/** TLS alerts a server sends when it does not accept the client's certificate. */
const CLIENT_CERT_ALERTS = [
  'CERTIFICATE_REQUIRED',
  'BAD_CERTIFICATE',
  'UNKNOWN_CA',
  'CERTIFICATE_UNKNOWN',
  'UNSUPPORTED_CERTIFICATE',
  'CERTIFICATE_EXPIRED',
  'CERTIFICATE_REVOKED',
  'ACCESS_DENIED',
  'DECRYPT_ERROR',
];
const CONNACK_REFUSALS: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client id rejected (under TLS the client id must be the certificate identity)',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized (unknown identity, or a certificate whose name or role the broker does not accept)',
};

/**
 * Why a connection attempt failed, in words, and whether retrying can help (a refused
 * or unreachable port can come up; a refused identity or an untrusted broker cannot).
 */
export function describeConnectError(
  err: Error,
  tls: boolean,
): { reason: string; permanent: boolean } {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'number') {
    const what = CONNACK_REFUSALS[code] ?? `return code ${code}`;
    return {
      reason: `the broker refused the connection: ${what} (CONNACK ${code})`,
      permanent: code !== 3,
    };
  }
  const c = typeof code === 'string' ? code : '';
  const transient = (reason: string) => ({ reason, permanent: false });
  const refused = (reason: string) => ({
    reason: `TLS handshake failed: ${reason}`,
    permanent: true,
  });
  if (c === 'ECONNREFUSED')
    return transient(`connection refused, nothing listens there (${err.message})`);
  if (c === 'ENOTFOUND' || c === 'EAI_AGAIN') return transient(`host not found (${err.message})`);
  if (UNTRUSTED_SERVER.has(c)) {
    return refused(`the broker's certificate is not signed by the deployment CA (${c})`);
  }
  if (c === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return refused(`the broker's certificate is not for this host (${err.message})`);
  }
  if (c === 'CERT_HAS_EXPIRED' || c === 'CERT_NOT_YET_VALID') {
    return refused(`the broker's certificate is expired or not yet valid (${c})`);
  }
  if (c.startsWith('ERR_SSL_') && CLIENT_CERT_ALERTS.some((a) => c.endsWith(`ALERT_${a}`))) {
    return refused(`the broker refused this client's certificate (${c})`);
  }
  if (c === 'ERR_SSL_WRONG_VERSION_NUMBER' || c === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
    return refused(`the server does not speak TLS there (a plaintext broker? use mqtt://) (${c})`);
  }
  if (c.startsWith('ERR_SSL_') || c.startsWith('ERR_TLS_')) return refused(`${err.message} (${c})`);
  if (tls && (c === 'ECONNRESET' || c === 'EPIPE')) {
    return transient(
      `connection reset during TLS set-up: the broker may have refused this client's certificate (${c})`,
    );
  }
  return transient(err.message);
}
