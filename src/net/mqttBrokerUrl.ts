import { ErrorCode, PrivaggError } from '../errors.js';
import type { MqttConnectOptions } from './mqttConnectOptions.js';

/**
 * The broker URL check, made before anything is sent. Credentials never travel in URLs
 * (they reach logs, error messages and command lines): a URL with user information is
 * refused; `username`/`password` are options, and a password (or TLS credentials) on
 * plaintext `mqtt://` is refused too.
 */

/**
 * Checks a broker URL before anything is sent: mqtt:// or mqtts://, host and port only.
 * User information is refused (a URL reaches logs and argv), and so are a path, a query
 * (MQTT.js would take a client id from it) and a fragment. Returns whether it is TLS.
 */
export function checkBrokerUrl(
  url: string,
  opts: Pick<MqttConnectOptions, 'tls' | 'password'> = {},
): boolean {
  const refuse = (message: string): never => {
    throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, message);
  };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Not echoed: a malformed URL may still hold a password.
    return refuse(
      'the MQTT broker URL is not a valid URL (expected mqtt://host:port or mqtts://host:port)',
    );
  }
  if (u.username !== '' || u.password !== '') {
    refuse(
      `the MQTT broker URL ${u.protocol}//${u.host} carries credentials (user:password@); ` +
        'credentials never go in URLs (they reach logs and command lines): put them in the ' +
        "identity's credential bundle or the username/password options",
    );
  }
  if (u.protocol !== 'mqtt:' && u.protocol !== 'mqtts:') {
    refuse(`MQTT broker URL scheme ${u.protocol} is not mqtt: or mqtts:`);
  }
  if ((u.pathname !== '' && u.pathname !== '/') || u.search !== '' || u.hash !== '') {
    refuse(`the MQTT broker URL ${u.protocol}//${u.host} must have no path, query or fragment`);
  }
  const secure = u.protocol === 'mqtts:';
  if (!secure && opts.tls) {
    refuse(`TLS credentials were given for the plaintext URL mqtt://${u.host}: use mqtts://`);
  }
  if (!secure && opts.password !== undefined) {
    refuse(`a password would cross the network in clear to mqtt://${u.host}: use mqtts://`);
  }
  return secure;
}
