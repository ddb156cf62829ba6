import { randomInt } from 'node:crypto';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { ErrorCode, PrivaggError } from '../errors.js';
import type { MqttLink } from './mqttLink.js';

/**
 * The MqttLink of privagg's roles over MQTT.js, speaking MQTT 3.1.1 (protocolVersion 4:
 * the current aedes refuses MQTT 5, and Mosquitto speaks both), QoS 1 both ways.
 *
 * Reconnection with exponential backoff. MQTT.js retries on a fixed `reconnectPeriod`;
 * its timer is armed from `options.reconnectPeriod` each time a connection closes. So
 * the period is rewritten on each 'reconnect' event (an attempt is starting; if it
 * fails, the close re-arms the timer with the new value) and reset on 'connect':
 * the nominal delay doubles per failed attempt from `reconnectPeriodMs` up to
 * `maxReconnectPeriodMs`, and the actual delay is drawn uniformly from [nominal/2,
 * nominal] ("equal jitter"), so a fleet of devices does not hammer a restarted broker
 * in lockstep. See `backoffDelayMs`.
 *
 * Subscriptions survive reconnects: with clean sessions the broker forgets them, and
 * MQTT.js (`resubscribe: true`) subscribes again after each reconnect; with
 * `clean: false` it does so only when the broker reports no session.
 *
 * Delivery: `publish` resolves on PUBACK. A publish made while the connection is down
 * waits in MQTT.js's outgoing store and is sent after the reconnect; a publish not
 * acknowledged within `publishTimeoutMs`, or still pending at `close()`, rejects. A
 * rejection means "not known to be delivered", not "not delivered" (QoS 1 is at least
 * once): receivers drop duplicates by their replay caches.
 *
 * Security: `mqtts://` URLs connect over TLS (1.2 or later) with the deployment CA as the
 * only trust anchor, the broker's certificate checked against the host name or address,
 * and this identity's client certificate (`tls`). Credentials never travel in URLs (they
 * reach logs, error messages and command lines): a URL with user information is refused;
 * `username`/`password` are options, and a password is refused on plaintext `mqtt://`.
 *
 * The first connection fails fast with a reason a person can act on ("connection
 * refused", "host not found", "TLS handshake failed: the broker refused this client's
 * certificate", "the broker refused the connection: not authorized", …). With
 * `waitForBroker` the transient ones (refused, not found, reset, timeout) are retried
 * until the broker answers; a refusal of this identity (TLS certificate or CONNACK) is
 * not transient and fails at once in both modes. Once connected, every failure is
 * retried with backoff, CONNACK refusals included.
 */

/** pino-compatible: a pino Logger fits, so does `console`-backed glue. */
export interface LinkLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

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

export interface MqttClientLink extends MqttLink {
  readonly url: string;
  readonly clientId: string;
  /** Exceptions (and rejections) thrown by subscription handlers, caught and logged. */
  readonly handlerErrors: number;
  /** Resolves when connected (at once if connected now); rejects after timeoutMs. */
  waitConnected(timeoutMs?: number): Promise<void>;
}

/**
 * Largest MQTT packet (remaining length) privagg sends, and the embedded broker accepts:
 * the largest binary MaaS message the parameters allow (a gateway partial for 10^6
 * devices, 8 dimensions, 16-byte shares) is about 125 KB.
 */
export const DEFAULT_MAX_PACKET_BYTES = 256 * 1024;

const RETAINED = Object.freeze({ qos: 1 as const, retain: true });
const NOT_RETAINED = Object.freeze({ qos: 1 as const, retain: false });

const DEFAULTS = {
  connectTimeoutMs: 10_000,
  reconnectPeriodMs: 250,
  maxReconnectPeriodMs: 10_000,
  publishTimeoutMs: 30_000,
  keepaliveSeconds: 30,
  closeTimeoutMs: 2_000,
};

/**
 * Delay before reconnect attempt `attempt` (0 = the first after a drop): nominal
 * min(max, base·2^attempt), jittered uniformly in [nominal/2, nominal].
 */
export function backoffDelayMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  draw: (below: number) => number = randomInt,
): number {
  const nominal = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  const half = Math.floor(nominal / 2);
  return Math.max(1, nominal - draw(half + 1));
}

/** Remaining length of a QoS 1 PUBLISH in MQTT 3.1.1: topic (2 + bytes), packet id (2), payload. */
export function publishPacketBytes(topic: string, payloadBytes: number): number {
  return 2 + Buffer.byteLength(topic, 'utf8') + 2 + payloadBytes;
}

/** MQTT topic-filter matching (3.1.1 §4.7): `+` one level, `#` the rest; wildcards skip `$` topics. */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter === topic) return true;
  const f = filter.split('/');
  const t = topic.split('/');
  if ((f[0] === '+' || f[0] === '#') && topic.startsWith('$')) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

const stderrLogger: LinkLogger = {
  info() {},
  warn(obj, msg) {
    process.stderr.write(`${JSON.stringify({ level: 'warn', msg, ...serialise(obj) })}\n`);
  },
  error(obj, msg) {
    process.stderr.write(`${JSON.stringify({ level: 'error', msg, ...serialise(obj) })}\n`);
  },
};

function serialise(obj: object): object {
  const err = (obj as { err?: unknown }).err;
  return err instanceof Error ? { ...obj, err: err.message } : obj;
}

const noop = () => undefined;

interface Pending {
  reject(e: Error): void;
  what: string;
  /** Date.now() after which it times out. */
  deadline: number;
}

interface Subscription {
  filter: string;
  /** The filter split on '/', or null when it has no wildcard (plain string equality). */
  levels: string[] | null;
  handler: (topic: string, payload: Buffer) => void;
}

/** `topicMatches` with the filter split once, at subscribe time. */
function matchesLevels(levels: string[], topic: string): boolean {
  const t = topic.split('/');
  if ((levels[0] === '+' || levels[0] === '#') && topic.startsWith('$')) return false;
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return levels.length === t.length;
}

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
  const connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
  const baseMs = opts.reconnectPeriodMs ?? DEFAULTS.reconnectPeriodMs;
  const maxMs = Math.max(baseMs, opts.maxReconnectPeriodMs ?? DEFAULTS.maxReconnectPeriodMs);
  const publishTimeoutMs = opts.publishTimeoutMs ?? DEFAULTS.publishTimeoutMs;
  const maxPacketBytes = opts.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
  const clientId = opts.clientId;

  const options: IClientOptions = {
    clientId,
    protocolVersion: 4,
    clean: opts.clean ?? true,
    resubscribe: true,
    keepalive: opts.keepaliveSeconds ?? DEFAULTS.keepaliveSeconds,
    connectTimeout: connectTimeoutMs,
    reconnectPeriod: backoffDelayMs(0, baseMs, maxMs),
    // Hot-path costs of MQTT.js that buy nothing here: its `debug` logger is called ~10
    // times per packet even when disabled, and by default every packet sent re-arms the
    // keepalive timer. Pings then go every `keepalive` seconds, busy or idle.
    log: noop,
    reschedulePings: false,
    // MQTT.js stops reconnecting after a CONNACK refusal; a running role keeps trying
    // (with backoff) — the first connection's refusals are handled below.
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
  const client: MqttClient = connect(url, options);

  let attempt = 0;
  let everConnected = false;
  let reconnects = 0;
  let handlerErrors = 0;
  let closed = false;
  let lastError: Error | undefined;
  /** Set until the first connection is made or given up: fails it with a reason. */
  let failFirstConnection: ((reason: string, code?: ErrorCode) => void) | undefined;
  const pending = new Set<Pending>();
  const subscriptions: Subscription[] = [];

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
  client.on('message', (topic, payload) => {
    for (const s of subscriptions) {
      if (s.levels === null ? s.filter !== topic : !matchesLevels(s.levels, topic)) continue;
      try {
        const r = s.handler(topic, payload) as unknown;
        if (r && typeof (r as Promise<unknown>).then === 'function') {
          (r as Promise<unknown>).then(undefined, (e: unknown) =>
            handlerFailed(s.filter, topic, e),
          );
        }
      } catch (e) {
        handlerFailed(s.filter, topic, e);
      }
    }
  });

  function handlerFailed(filter: string, topic: string, e: unknown): void {
    handlerErrors++;
    log.error(
      { url, clientId, filter, topic, err: e instanceof Error ? e : new Error(String(e)) },
      'MQTT message handler threw; message dropped, client keeps running',
    );
  }

  // Acknowledgement timeouts without a timer per message (a fleet has tens of thousands
  // in flight): entries share one timeout, so insertion order is deadline order, and one
  // timer armed for the oldest entry's deadline sweeps the expired ones.
  let sweepTimer: NodeJS.Timeout | undefined;
  const sweep = () => {
    sweepTimer = undefined;
    const now = Date.now();
    for (const entry of pending) {
      if (entry.deadline > now) {
        sweepTimer = setTimeout(sweep, entry.deadline - now);
        return;
      }
      pending.delete(entry);
      entry.reject(
        new Error(
          `MQTT ${entry.what} on ${url}: no acknowledgement within ${publishTimeoutMs} ms (${client.connected ? 'connected' : 'broker unreachable'}); it may still be delivered later`,
        ),
      );
    }
  };

  function awaitAck<T>(
    what: string,
    send: (done: (err?: Error | null, result?: T) => void) => void,
  ): Promise<T | undefined> {
    return new Promise((resolve, reject) => {
      const entry: Pending = { reject, what, deadline: Date.now() + publishTimeoutMs };
      pending.add(entry);
      sweepTimer ??= setTimeout(sweep, publishTimeoutMs);
      send((err, result) => {
        if (!pending.delete(entry)) return; // timed out or closed already
        if (err) reject(new Error(`MQTT ${what} on ${url} failed: ${err.message}`, { cause: err }));
        else resolve(result);
      });
    });
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
      return awaitAck(`publish to ${topic}`, (done) =>
        client.publish(topic, buffer, publishOpts, done),
      ) as Promise<unknown> as Promise<void>;
    },
    async subscribe(filter, handler) {
      if (closed) throw new Error(`MQTT subscribe to ${filter}: link ${clientId} is closed`);
      // Registered before the SUBACK so the first retained or queued message is not missed.
      const s: Subscription = {
        filter,
        levels: filter.includes('+') || filter.includes('#') ? filter.split('/') : null,
        handler,
      };
      subscriptions.push(s);
      try {
        const granted = await awaitAck<{ qos: number }[]>(`subscribe to ${filter}`, (done) =>
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
        subscriptions.splice(subscriptions.indexOf(s), 1);
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
      if (sweepTimer) clearTimeout(sweepTimer);
      sweepTimer = undefined;
      for (const p of [...pending]) {
        pending.delete(p);
        p.reject(new Error(`MQTT link ${clientId} closed before the broker acknowledged`));
      }
      // Unacknowledged QoS 1 messages would make a graceful end wait for PUBACKs forever.
      for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id));
      await endClient(client, client.connected, DEFAULTS.closeTimeoutMs);
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
      void endClient(client, false, DEFAULTS.closeTimeoutMs).finally(() =>
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

const coalesced = new WeakSet<object>();

/**
 * One write per batch of incoming packets, not one per acknowledgement. MQTT.js handles
 * each incoming packet on its own tick and corks the socket only until the next tick, so
 * a subscriber receiving a burst of QoS 1 messages sends each PUBACK in its own write
 * system call (a fifth of a busy subscriber's CPU). Corking the socket when a chunk
 * arrives and uncorking it once the chunk's packets are handled (setImmediate runs after
 * every tick they queue) sends the same PUBACKs, in the same order, in one write.
 */
function coalesceAcks(stream: unknown): void {
  const s = stream as {
    on?: (event: 'data', listener: () => void) => void;
    cork?: () => void;
    uncork?: () => void;
    writableLength?: number;
  } | null;
  if (!s?.on || !s.cork || !s.uncork || coalesced.has(s)) return;
  coalesced.add(s);
  const cork = s.cork.bind(s);
  const uncork = s.uncork.bind(s);
  let corked = false;
  const release = () => {
    corked = false;
    uncork();
  };
  s.on('data', () => {
    // A socket with writes still queued (a publisher mid-burst) batches them already; a
    // cork would only hold them back until the next turn of the loop.
    if (corked || (s.writableLength ?? 0) > 0) return;
    corked = true;
    cork();
    setImmediate(release);
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
