import { connect, type MqttClient } from 'mqtt';
import { ErrorCode, PrivaggError } from '../errors.js';
import { coalesceAcks } from './mqttAckCoalescing.js';
import { AckDeadlines } from './mqttAckDeadlines.js';
import { backoffDelayMs } from './mqttBackoff.js';
import { checkBrokerUrl } from './mqttBrokerUrl.js';
import { describeConnectError } from './mqttConnectErrors.js';
import {
  LINK_DEFAULTS,
  type MqttConnectOptions,
  mqttJsOptions,
  resolveLinkSettings,
} from './mqttConnectOptions.js';
import type { MqttLink } from './mqttLink.js';
import { stderrLogger } from './mqttLinkLogger.js';
import { publishPacketBytes } from './mqttPacketSize.js';
import { Subscriptions } from './mqttSubscriptions.js';

// The pieces of the link, importable from here as they always were.
export { backoffDelayMs } from './mqttBackoff.js';
export { checkBrokerUrl } from './mqttBrokerUrl.js';
export { describeConnectError } from './mqttConnectErrors.js';
export type { MqttConnectOptions } from './mqttConnectOptions.js';
export type { LinkLogger } from './mqttLinkLogger.js';
export { DEFAULT_MAX_PACKET_BYTES, publishPacketBytes } from './mqttPacketSize.js';
export { topicMatches } from './mqttTopicFilter.js';

/**
 * The MqttLink of privagg's roles over MQTT.js, speaking MQTT 3.1.1 (protocolVersion 4:
 * the current aedes refuses MQTT 5, and Mosquitto speaks both), QoS 1 both ways. This
 * file holds the link's life: connecting, reacting to MQTT.js's events, publishing,
 * subscribing and closing. The pieces it is built from each have their own file:
 *
 * - mqttConnectOptions.ts: the options, their defaults and the MQTT.js options they make
 *   (TLS, resubscription after reconnects);
 * - mqttBrokerUrl.ts: the URL check (no credentials in URLs, no password in clear);
 * - mqttBackoff.ts: reconnection with jittered exponential backoff. MQTT.js retries on a
 *   fixed `reconnectPeriod`, so the period is rewritten on each 'reconnect' event and
 *   reset on 'connect' (below);
 * - mqttConnectErrors.ts: why a connection failed, in words, and whether retrying helps;
 * - mqttAckDeadlines.ts: publish/subscribe acknowledgement timeouts;
 * - mqttSubscriptions.ts, mqttTopicFilter.ts: routing incoming messages to handlers;
 * - mqttAckCoalescing.ts: one write per batch of PUBACKs;
 * - mqttPacketSize.ts: the packet size limit; mqttLinkLogger.ts: where the link logs.
 *
 * Delivery: `publish` resolves on PUBACK. A publish made while the connection is down
 * waits in MQTT.js's outgoing store and is sent after the reconnect; a publish not
 * acknowledged within `publishTimeoutMs`, or still pending at `close()`, rejects. A
 * rejection means "not known to be delivered", not "not delivered" (QoS 1 is at least
 * once): receivers drop duplicates by their replay caches.
 *
 * The first connection fails fast with a reason a person can act on. With
 * `waitForBroker` the transient failures (refused, not found, reset, timeout) are retried
 * until the broker answers; a refusal of this identity (TLS certificate or CONNACK) is
 * not transient and fails at once in both modes. Once connected, every failure is
 * retried with backoff, CONNACK refusals included.
 */

export interface MqttClientLink extends MqttLink {
  readonly url: string;
  readonly clientId: string;
  /** Exceptions (and rejections) thrown by subscription handlers, caught and logged. */
  readonly handlerErrors: number;
  /** Resolves when connected (at once if connected now); rejects after timeoutMs. */
  waitConnected(timeoutMs?: number): Promise<void>;
}

const RETAINED = Object.freeze({ qos: 1 as const, retain: true });
const NOT_RETAINED = Object.freeze({ qos: 1 as const, retain: false });

/**
 * Connects to the broker at `url` (mqtt://host:port or mqtts://host:port). Rejects with
 * INVALID_ARGUMENT for a URL it refuses (`checkBrokerUrl`); with "MQTT broker at <url>
 * unreachable: <reason>" at the first failed attempt (or when no CONNACK comes within
 * connectTimeoutMs), unless `waitForBroker` is set, in which case it retries with backoff
 * until the broker answers; and with "MQTT broker at <url> refused this client: <reason>"
 * when the broker refuses this identity (TLS certificate, CONNACK), in both modes.
 */
export function connectMqtt(url: string, opts: MqttConnectOptions): Promise<MqttClientLink> {
  let secure: boolean;
  try {
    secure = checkBrokerUrl(url, opts);
  } catch (e) {
    return Promise.reject(e);
  }
  const log = opts.logger ?? stderrLogger;
  const settings = resolveLinkSettings(opts);
  const { connectTimeoutMs, baseMs, maxMs, maxPacketBytes } = settings;
  const clientId = opts.clientId;

  const client: MqttClient = connect(url, mqttJsOptions(opts, secure, settings));

  let attempt = 0;
  let everConnected = false;
  let reconnects = 0;
  let handlerErrors = 0;
  let closed = false;
  let lastError: Error | undefined;
  /** Set until the first connection is made or given up: fails it with a reason. */
  let failFirstConnection: ((reason: string, code?: ErrorCode) => void) | undefined;
  const acks = new AckDeadlines(url, settings.publishTimeoutMs, () => client.connected);
  const subscriptions = new Subscriptions(handlerFailed);

  client.on('reconnect', () => {
    attempt++;
    // Used if this attempt fails: the close re-arms MQTT.js's timer with it.
    client.options.reconnectPeriod = backoffDelayMs(attempt, baseMs, maxMs);
  });
  client.on('connect', () => {
    coalesceAcks(client.stream);
    if (everConnected) {
      reconnects++;
      log.info({ url, clientId, reconnects, attempts: attempt }, 'MQTT reconnected');
    }
    everConnected = true;
    attempt = 0;
    lastError = undefined;
    client.options.reconnectPeriod = backoffDelayMs(0, baseMs, maxMs);
  });
  client.on('close', () => {
    // Closed before any CONNACK and without an error: e.g. a TLS port reached with mqtt://.
    if (!everConnected && !opts.waitForBroker && failFirstConnection) {
      // Over TLS with no error, the handshake went through and the broker hung up: it
      // refused this client (Node's TLS server sends no alert for a certificate it rejects).
      // Retrying with the same certificate cannot help, so it is a refusal, not a transient.
      if (!lastError && secure) {
        failFirstConnection(
          `MQTT broker at ${url} refused this client: the broker closed the connection before answering CONNECT; most likely it did not accept this client's certificate (a client certificate from the deployment CA is needed)`,
          ErrorCode.BROKER_REFUSED,
        );
        return;
      }
      const reason = lastError
        ? describeConnectError(lastError, secure).reason
        : 'the connection closed before the broker answered (a TLS port reached with mqtt://? use mqtts://)';
      failFirstConnection(`MQTT broker at ${url} unreachable: ${reason}`);
    }
  });
  client.on('offline', () => {
    if (everConnected && !closed) {
      log.warn({ url, clientId }, 'MQTT connection lost; reconnecting with backoff');
    }
  });
  client.on('error', (err) => {
    // Connection errors end in 'close' and a scheduled retry; never let them crash the process.
    const repeated = lastError?.message === err.message;
    lastError = err;
    if (!everConnected && failFirstConnection) {
      const problem = describeConnectError(err, secure);
      if (problem.permanent || !opts.waitForBroker) {
        failFirstConnection(
          `MQTT broker at ${url} ${problem.permanent ? 'refused this client' : 'unreachable'}: ${problem.reason}`,
          problem.permanent ? ErrorCode.BROKER_REFUSED : ErrorCode.BROKER_UNREACHABLE,
        );
        return;
      }
    }
    if (!closed && (everConnected || opts.waitForBroker) && !repeated) {
      log.warn(
        {
          url,
          clientId,
          err,
          reason: describeConnectError(err, secure).reason,
          retryInMs: client.options.reconnectPeriod,
        },
        'MQTT connection error',
      );
    }
  });
  client.on('message', (topic, payload) => subscriptions.dispatch(topic, payload));

  function handlerFailed(filter: string, topic: string, e: unknown): void {
    handlerErrors++;
    log.error(
      { url, clientId, filter, topic, err: e instanceof Error ? e : new Error(String(e)) },
      'MQTT message handler threw; message dropped, client keeps running',
    );
  }

  const link: MqttClientLink = {
    url,
    clientId,
    get connected() {
      return client.connected;
    },
    get reconnects() {
      return reconnects;
    },
    get handlerErrors() {
      return handlerErrors;
    },
    publish(topic, payload, opts) {
      if (closed)
        return Promise.reject(new Error(`MQTT publish to ${topic}: link ${clientId} is closed`));
      const size = publishPacketBytes(topic, payload.byteLength);
      if (size > maxPacketBytes) {
        return Promise.reject(
          new Error(
            `MQTT publish to ${topic}: packet of ${size} bytes exceeds the limit of ${maxPacketBytes} bytes`,
          ),
        );
      }
      const buffer = Buffer.isBuffer(payload)
        ? payload
        : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
      const publishOpts = opts?.retain ? RETAINED : NOT_RETAINED;
      // One promise per message (the caller's), no async wrapper around it.
      return acks.awaitAck(`publish to ${topic}`, (done) =>
        client.publish(topic, buffer, publishOpts, done),
      ) as Promise<unknown> as Promise<void>;
    },
    async subscribe(filter, handler) {
      if (closed) throw new Error(`MQTT subscribe to ${filter}: link ${clientId} is closed`);
      // Registered before the SUBACK so the first retained or queued message is not missed.
      const s = subscriptions.add(filter, handler);
      try {
        const granted = await acks.awaitAck<{ qos: number }[]>(`subscribe to ${filter}`, (done) =>
          client.subscribe(filter, { qos: 1 }, (err, g) => {
            // MQTT.js reports a SUBACK failure code (0x80: not allowed) as an error
            // carrying the SUBACK; it is the broker's answer, not a transport failure.
            const suback = (err as { packet?: { granted?: unknown } } | null)?.packet;
            const refused = Array.isArray(suback?.granted) && (suback.granted[0] & 0x80) !== 0;
            done(refused ? null : err, refused ? [{ qos: 128 }] : g);
          }),
        );
        const qos = granted?.[0]?.qos;
        if (qos === 128)
          throw new Error(`MQTT subscribe to ${filter} on ${url}: refused by broker`);
      } catch (e) {
        subscriptions.remove(s);
        throw e;
      }
    },
    waitConnected(timeoutMs = connectTimeoutMs) {
      if (client.connected) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          client.removeListener('connect', onConnect);
          reject(
            new PrivaggError(
              ErrorCode.BROKER_UNREACHABLE,
              `MQTT broker at ${url} unreachable for ${timeoutMs} ms: ${lastError?.message ?? 'no CONNACK'}`,
              { url },
            ),
          );
        }, timeoutMs);
        const onConnect = () => {
          clearTimeout(timer);
          resolve();
        };
        client.once('connect', onConnect);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      acks.rejectAll(`MQTT link ${clientId} closed before the broker acknowledged`);
      // Unacknowledged QoS 1 messages would make a graceful end wait for PUBACKs forever.
      for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id));
      await endClient(client, client.connected, LINK_DEFAULTS.closeTimeoutMs);
    },
  };

  return new Promise((resolve, reject) => {
    const signal = opts.signal;
    const giveUp = (message: string, code: ErrorCode = ErrorCode.BROKER_UNREACHABLE) => {
      failFirstConnection = undefined;
      clearTimeout(timer);
      client.removeListener('connect', onConnect);
      signal?.removeEventListener('abort', onAbort);
      closed = true;
      void endClient(client, false, LINK_DEFAULTS.closeTimeoutMs).finally(() =>
        reject(new PrivaggError(code, message, { url })),
      );
    };
    const timer = opts.waitForBroker
      ? undefined
      : setTimeout(
          () =>
            giveUp(
              `MQTT broker at ${url} unreachable: ${lastError?.message ?? 'no CONNACK'} (no connection within ${connectTimeoutMs} ms; is the broker running?)`,
            ),
          connectTimeoutMs,
        );
    const onAbort = () =>
      giveUp(
        `MQTT connection to ${url} aborted before the broker answered (last error: ${lastError?.message ?? 'none'})`,
      );
    const onConnect = () => {
      failFirstConnection = undefined;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(link);
    };
    client.once('connect', onConnect);
    failFirstConnection = giveUp;
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Sends DISCONNECT when connected (graceful), else just stops; never waits past `timeoutMs`. */
function endClient(client: MqttClient, graceful: boolean, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.stream?.destroy();
      resolve();
    }, timeoutMs);
    client.end(!graceful, {}, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
