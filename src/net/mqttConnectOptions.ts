import type { IClientOptions } from 'mqtt';
import { backoffDelayMs } from './mqttBackoff.js';
import type { LinkLogger } from './mqttLinkLogger.js';
import { DEFAULT_MAX_PACKET_BYTES } from './mqttPacketSize.js';

/**
 * What a caller of connectMqtt may set, the defaults, and the MQTT.js options they turn
 * into: MQTT 3.1.1 (protocolVersion 4: the current aedes refuses MQTT 5, and Mosquitto
 * speaks both), resubscription after reconnects, and for `mqtts://` TLS 1.2 or later with
 * the deployment CA as the only trust anchor, the broker's certificate checked against
 * the host name or address, and this identity's client certificate (`tls`).
 *
 * Subscriptions survive reconnects: with clean sessions the broker forgets them, and
 * MQTT.js (`resubscribe: true`) subscribes again after each reconnect; with
 * `clean: false` it does so only when the broker reports no session.
 */

export interface MqttConnectOptions {
  clientId: string;
  /** Default: warnings and errors to stderr as one JSON line each; info dropped. */
  logger?: LinkLogger;
  /** How long the first connection may take before connectMqtt rejects (and each CONNACK wait). Default 10 s. */
  connectTimeoutMs?: number;
  /** First reconnect delay (backoff start). Default 250 ms. */
  reconnectPeriodMs?: number;
  /** Backoff ceiling. Default 10 s. */
  maxReconnectPeriodMs?: number;
  /** MQTT clean session. Default true. */
  clean?: boolean;
  /** Keep retrying (with backoff) until the broker is up instead of rejecting after connectTimeoutMs. */
  waitForBroker?: boolean;
  /** Gives up connecting (e.g. a waitForBroker wait at shutdown); no effect once connected. */
  signal?: AbortSignal;
  /** A publish (or subscribe) not acknowledged in this time rejects. Default 30 s. */
  publishTimeoutMs?: number;
  /** Largest MQTT packet this link sends (remaining length); larger publishes reject before sending. */
  maxPacketBytes?: number;
  /** MQTT keepalive. Default 30 s. */
  keepaliveSeconds?: number;
  /**
   * For mqtts:// URLs (PEM): the deployment CA (the only trust anchor), and this
   * identity's certificate and key (a broker that requires client certificates refuses a
   * client without them).
   */
  tls?: { ca: string; cert?: string; key?: string };
  /** MQTT username (never in the URL). */
  username?: string;
  /** MQTT password (never in the URL); refused on plaintext mqtt://. */
  password?: string;
}

export const LINK_DEFAULTS = {
  connectTimeoutMs: 10_000,
  reconnectPeriodMs: 250,
  maxReconnectPeriodMs: 10_000,
  publishTimeoutMs: 30_000,
  keepaliveSeconds: 30,
  /** How long close() waits for a graceful DISCONNECT before dropping the socket. */
  closeTimeoutMs: 2_000,
};

/** The timings and limits a link works with, defaults filled in. */
export interface LinkSettings {
  connectTimeoutMs: number;
  /** Backoff start. */
  baseMs: number;
  /** Backoff ceiling, never below the start. */
  maxMs: number;
  publishTimeoutMs: number;
  maxPacketBytes: number;
}

export function resolveLinkSettings(opts: MqttConnectOptions): LinkSettings {
  const baseMs = opts.reconnectPeriodMs ?? LINK_DEFAULTS.reconnectPeriodMs;
  return {
    connectTimeoutMs: opts.connectTimeoutMs ?? LINK_DEFAULTS.connectTimeoutMs,
    baseMs,
    maxMs: Math.max(baseMs, opts.maxReconnectPeriodMs ?? LINK_DEFAULTS.maxReconnectPeriodMs),
    publishTimeoutMs: opts.publishTimeoutMs ?? LINK_DEFAULTS.publishTimeoutMs,
    maxPacketBytes: opts.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES,
  };
}

const noop = () => undefined;

/** The MQTT.js options for a link; `secure` is checkBrokerUrl's answer (mqtts://). */
export function mqttJsOptions(
  opts: MqttConnectOptions,
  secure: boolean,
  settings: LinkSettings,
): IClientOptions {
  const options: IClientOptions = {
    clientId: opts.clientId,
    protocolVersion: 4,
    clean: opts.clean ?? true,
    resubscribe: true,
    keepalive: opts.keepaliveSeconds ?? LINK_DEFAULTS.keepaliveSeconds,
    connectTimeout: settings.connectTimeoutMs,
    reconnectPeriod: backoffDelayMs(0, settings.baseMs, settings.maxMs),
    // Hot-path costs of MQTT.js that buy nothing here: its `debug` logger is called ~10
    // times per packet even when disabled, and by default every packet sent re-arms the
    // keepalive timer. Pings then go every `keepalive` seconds, busy or idle.
    log: noop,
    reschedulePings: false,
    // MQTT.js stops reconnecting after a CONNACK refusal; a running role keeps trying
    // (with backoff) — the first connection's refusals are handled by connectMqtt.
    reconnectOnConnackError: true,
  };
  if (opts.username !== undefined) options.username = opts.username;
  if (opts.password !== undefined) options.password = opts.password;
  if (secure && opts.tls) {
    options.ca = opts.tls.ca;
    if (opts.tls.cert !== undefined) options.cert = opts.tls.cert;
    if (opts.tls.key !== undefined) options.key = opts.tls.key;
  }
  if (secure) {
    // MQTT.js sets `servername` from a host name; Node then checks the broker's
    // certificate against the host name or IP address (checkServerIdentity).
    options.rejectUnauthorized = true;
    (options as { minVersion?: string }).minVersion = 'TLSv1.2';
  }
  return options;
}
