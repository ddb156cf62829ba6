import { connectMqtt } from '../net/mqttClient.js';
import type { CredentialBundle } from './credentials/bundle.js';

/**
 * One connection to an external broker before anything is started, closed at once. The
 * roles connect with `waitForBroker` (a role started by hand may come up before its
 * broker), so without this a closed port or a misspelt host left `privagg up` and the
 * demo waiting in silence with the reason only in a log file. It fails fast with the
 * reason connectMqtt gives ("connection refused, nothing listens there", "host not
 * found", a TLS or CONNACK refusal), naming the URL, before any role starts or the
 * previous ledger is moved aside (the credentials are issued by then). It connects as
 * `who` — the ledger, which every deployment's broker admits; `up` has checked that no
 * ledger of this file is running, so the client id (its certificate's name, as the
 * broker requires) is not taken from a live one.
 */
export async function probeBroker(
  url: string,
  who: CredentialBundle,
  timeoutMs = 5_000,
): Promise<void> {
  const link = await connectMqtt(url, {
    clientId: who.identity,
    connectTimeoutMs: timeoutMs,
    // Quiet: the rejection carries the reason.
    logger: { info() {}, warn() {}, error() {} },
    ...(who.tls ? { tls: who.tls } : {}),
  });
  await link.close();
}
