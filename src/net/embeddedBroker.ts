import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { Aedes, type AuthenticateError } from 'aedes';
import { ErrorCode, PrivaggError } from '../errors.js';
import type { TopicPolicy } from './brokerPolicy.js';
import { DEFAULT_MAX_PACKET_BYTES, type LinkLogger } from './mqttClient.js';
import { peerIdentity } from './pki.js';

/**
 * The default broker: aedes in this process, on a loopback TCP port (a free one when
 * `port` is 0). aedes speaks MQTT 3.1.1 only, which is what connectMqtt speaks.
 *
 * Secure by default: with `tls` and a `policy`, clients connect over TLS (1.2 or later)
 * and must present a certificate from the deployment CA (mutual authentication); the
 * CONNECT must carry the certificate's CN as client id — so a client id is bound to an
 * identity and no one can take over (and disconnect) another identity's session — and
 * the CN must have a grant in the policy, of the role the certificate's OU names. Every
 * PUBLISH and SUBSCRIBE is then checked against the policy: a refused subscription is
 * answered with the failure code 0x80; a refused publish is acknowledged (MQTT 3.1.1
 * cannot tell a client otherwise, and Mosquitto does the same) and dropped, never
 * delivered nor retained. Each refusal is counted (`stats()`) and logged, the first and
 * then every tenfold time per identity, so a flood cannot flood the log.
 * Plaintext and anonymous operation only with `insecure: true`: without either option
 * the broker refuses to start.
 *
 * A rogue client must not exhaust the broker's memory. aedes has no packet-size limit
 * (its parser buffers whatever remaining length a PUBLISH announces, up to MQTT's
 * 256 MB), so each connection's bytes pass a framing guard (`packetSizeGuard`) that
 * reads the fixed headers as aedes consumes them and drops the connection the moment a
 * packet announces more than `maxPacketBytes`, before its body is buffered: the chunk
 * that carries the violation is withheld from aedes, so a packet just over the limit that
 * arrives in one read is not delivered either. Over TLS the guard reads the decrypted
 * stream aedes reads. Connections are capped too
 * (`maxConnections`), and a TLS handshake must finish within `handshakeTimeoutMs`.
 */
export interface EmbeddedBrokerOptions {
  /** Default 127.0.0.1: the broker is for this machine unless asked otherwise. */
  host?: string;
  /** 0 (default): any free port; the chosen one is in `port` and `url`. */
  port?: number;
  /** Largest accepted packet (MQTT remaining length). Default 256 KiB. */
  maxPacketBytes?: number;
  /** Concurrent TCP connections accepted. Default 10,000. */
  maxConnections?: number;
  logger?: LinkLogger;
  /** TLS with client certificates (PEM): the deployment CA, the broker's certificate and key. */
  tls?: { ca: string; cert: string; key: string };
  /** Who may publish and subscribe what (required with `tls`). */
  policy?: TopicPolicy;
  /** Plaintext, anonymous, no access control. Must be asked for; excludes `tls`. */
  insecure?: boolean;
  /** A TLS handshake not finished in this time is dropped. Default 10 s. */
  handshakeTimeoutMs?: number;
}

export interface EmbeddedBrokerStats {
  /** Clients connected now (past CONNECT). */
  clients: number;
  /** PUBLISH packets received from clients and accepted since start. */
  published: number;
  /** Connections dropped for announcing a packet over the size limit. */
  rejectedOversized: number;
  /** TLS handshakes that failed (no or untrusted client certificate, plaintext, timeout). */
  rejectedHandshake: number;
  /** CONNECTs refused: client id not the certificate's CN, unknown identity, wrong role. */
  rejectedConnect: number;
  /** PUBLISHes the policy refused (acknowledged, dropped). */
  rejectedPublish: number;
  /** Subscriptions the policy refused (granted QoS 0x80). */
  rejectedSubscribe: number;
}

export interface EmbeddedBroker {
  /** mqtts://host:port with TLS, mqtt://host:port when insecure. */
  url: string;
  host: string;
  port: number;
  stats(): EmbeddedBrokerStats;
  /** Stops accepting, drops every client connection, closes aedes. Idempotent. */
  close(): Promise<void>;
}

const silent: LinkLogger = { info() {}, warn() {}, error() {} };

/** MQTT 3.1.1 CONNACK return codes used for refusals. */
const IDENTIFIER_REJECTED = 2;
const NOT_AUTHORIZED = 5;

export async function startEmbeddedBroker(
  opts: EmbeddedBrokerOptions = {},
): Promise<EmbeddedBroker> {
  const secure = checkSecurityOptions(opts);
  const host = opts.host ?? '127.0.0.1';
  const maxPacketBytes = opts.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
  const log = opts.logger ?? silent;
  const counts = {
    published: 0,
    rejectedOversized: 0,
    rejectedHandshake: 0,
    rejectedConnect: 0,
    rejectedPublish: 0,
    rejectedSubscribe: 0,
  };
  const note = refusalLog(log);

  const broker = await Aedes.createBroker({
    // MQTT 3.1.1 requires 23; privagg's client ids are identity names (up to 128).
    maxClientsIdLength: 256,
    connectTimeout: 10_000,
  });
  broker.on('publish', (_packet, client) => {
    if (client) counts.published++;
  });

  if (secure) {
    const policy = secure.policy;
    broker.authenticate = (client, _username, _password, done) => {
      const refuse = (returnCode: number, reason: string, details: object) => {
        counts.rejectedConnect++;
        note(
          'connect',
          reason,
          { clientId: client.id, ...details },
          `MQTT CONNECT refused: ${reason}`,
        );
        const err = Object.assign(new Error(reason), {
          returnCode,
        }) as unknown as AuthenticateError;
        done(err, null);
      };
      const conn = client.conn as TLSSocket;
      const identity =
        conn.authorized === true && typeof conn.getPeerX509Certificate === 'function'
          ? peerIdentity(conn.getPeerX509Certificate())
          : null;
      if (identity === null) {
        return refuse(NOT_AUTHORIZED, 'the client certificate names no privagg identity', {});
      }
      if (client.id !== identity.name) {
        return refuse(IDENTIFIER_REJECTED, 'client id is not the certificate identity', {
          identity: identity.name,
        });
      }
      const grant = policy.grant(identity.name);
      if (grant === undefined) {
        return refuse(NOT_AUTHORIZED, 'identity unknown to the broker policy', {
          identity: identity.name,
        });
      }
      if (grant.role !== identity.role) {
        return refuse(NOT_AUTHORIZED, 'certificate role differs from the granted role', {
          identity: identity.name,
          certificateRole: identity.role,
          grantedRole: grant.role,
        });
      }
      done(null, true);
    };

    // A refused PUBLISH is acknowledged like any other (aedes would otherwise close the
    // connection, and the client would resend the same message after each reconnect),
    // then withheld from broker.publish: neither delivered nor retained.
    const dropped = new WeakSet<object>();
    broker.authorizePublish = (client, packet, callback) => {
      if (client === null)
        return callback(new Error('a message without a client is not published'));
      if (policy.canPublish(client.id, packet.topic, packet.retain === true)) return callback(null);
      counts.rejectedPublish++;
      note(
        'publish',
        client.id,
        { clientId: client.id, topic: packet.topic.slice(0, 256) },
        'MQTT PUBLISH refused by the broker policy; acknowledged and dropped',
      );
      dropped.add(packet);
      callback(null);
    };
    const publish = broker.publish.bind(broker) as unknown as (...args: unknown[]) => void;
    (broker as unknown as { publish: (...args: unknown[]) => void }).publish = (
      packet: unknown,
      client: unknown,
      done?: unknown,
    ) => {
      if (typeof packet === 'object' && packet !== null && dropped.has(packet)) {
        dropped.delete(packet);
        const callback = typeof client === 'function' ? client : done;
        if (typeof callback === 'function') callback();
        return;
      }
      publish(packet, client, done);
    };

    broker.authorizeSubscribe = (client, subscription, callback) => {
      if (policy.canSubscribe(client.id, subscription.topic)) return callback(null, subscription);
      counts.rejectedSubscribe++;
      note(
        'subscribe',
        client.id,
        { clientId: client.id, filter: subscription.topic.slice(0, 256) },
        'MQTT SUBSCRIBE refused by the broker policy',
      );
      callback(null, null);
    };
  }

  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
  };
  const serve = (stream: Socket | TLSSocket) => {
    if (secure) track(stream); // the raw socket is tracked from 'connection'; this is its TLS layer
    broker.handle(stream);
    const guard = packetSizeGuard(maxPacketBytes);
    // aedes consumes with 'readable' + read(): every chunk passes the guard here, before
    // aedes parses it; a chunk with a violation is withheld (null), never parsed.
    const read = stream.read.bind(stream);
    let dropped = false;
    stream.read = ((size?: number) => {
      if (dropped) return null;
      const chunk = read(size) as Buffer | null;
      if (chunk === null) return chunk;
      const violation = guard(chunk);
      if (violation === null) return chunk;
      dropped = true;
      counts.rejectedOversized++;
      log.warn(
        { remote: `${stream.remoteAddress}:${stream.remotePort}`, ...violation, maxPacketBytes },
        'MQTT connection dropped: oversized or malformed packet',
      );
      stream.destroy();
      return null;
    }) as typeof stream.read;
  };

  let server: Server;
  if (secure) {
    server = createTlsServer(
      {
        ca: secure.tls.ca,
        cert: secure.tls.cert,
        key: secure.tls.key,
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
        handshakeTimeout: opts.handshakeTimeoutMs ?? 10_000,
      },
      serve,
    );
    server.on('connection', track);
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
      counts.rejectedHandshake++;
      note(
        'handshake',
        err.code ?? err.message,
        {
          remote: `${socket.remoteAddress}:${socket.remotePort}`,
          code: err.code,
          reason: err.message,
        },
        'MQTT TLS handshake failed',
      );
    });
  } else {
    server = createServer((socket) => {
      track(socket);
      serve(socket);
    });
    log.warn(
      { host },
      'INSECURE: embedded MQTT broker without TLS, authentication or access control (insecure: true)',
    );
  }
  server.maxConnections = opts.maxConnections ?? 10_000;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
  } catch (e) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw e;
  }
  server.on('error', (err) => log.error({ err }, 'embedded MQTT broker server error'));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('broker has no TCP address');
  const port = address.port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    url: `${secure ? 'mqtts' : 'mqtt'}://${urlHost}:${port}`,
    host,
    port,
    stats: () => ({ clients: broker.connectedClients, ...counts }),
    close() {
      closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await serverClosed;
      })();
      return closing;
    },
  };
}

function checkSecurityOptions(
  opts: EmbeddedBrokerOptions,
): { tls: NonNullable<EmbeddedBrokerOptions['tls']>; policy: TopicPolicy } | null {
  const refuse = (message: string): never => {
    throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, `embedded MQTT broker: ${message}`);
  };
  if (opts.insecure === true) {
    if (opts.tls || opts.policy) refuse('`insecure: true` excludes `tls` and `policy`');
    return null;
  }
  if (!opts.tls) {
    return refuse(
      'TLS is required (secure is the default): give `tls` and a `policy`, or `insecure: true` ' +
        'for a plaintext, anonymous broker',
    );
  }
  const { ca, cert, key } = opts.tls;
  if (![ca, cert, key].every((pem) => typeof pem === 'string' && pem.length > 0)) {
    refuse('`tls` needs the CA certificate, the broker certificate and its key (PEM)');
  }
  if (!opts.policy) return refuse('`tls` needs a `policy`: who may publish and subscribe what');
  return { tls: opts.tls, policy: opts.policy };
}

/**
 * Logs a refusal the 1st, 10th, 100th, … time for each (kind, key): attacks stay visible
 * without one log line per packet. Keys are identities or reasons; the map is capped.
 */
function refusalLog(log: LinkLogger) {
  const seen = new Map<string, number>();
  return (kind: string, key: string, details: object, message: string) => {
    const k = `${kind}\u0000${key}`;
    const n = (seen.get(k) ?? 0) + 1;
    if (n === 1 && seen.size >= 10_000) return;
    seen.set(k, n);
    if (isPowerOfTen(n)) log.warn({ ...details, times: n }, message);
  };
}

function isPowerOfTen(n: number): boolean {
  let x = n;
  while (x >= 10 && x % 10 === 0) x /= 10;
  return x === 1;
}

/**
 * Follows MQTT framing (fixed header byte, 1–4 byte remaining length, body) across
 * chunks. Returns null while every packet is within `maxPacketBytes`, else what is wrong.
 * O(1) per packet header; bodies are skipped, not copied.
 */
export function packetSizeGuard(
  maxPacketBytes: number,
): (chunk: Uint8Array) => { reason: string; announced?: number } | null {
  let state: 'header' | 'length' | 'body' = 'header';
  let length = 0;
  let multiplier = 1;
  let lengthBytes = 0;
  let remaining = 0;
  return (chunk) => {
    let at = 0;
    while (at < chunk.length) {
      if (state === 'body') {
        const step = Math.min(remaining, chunk.length - at);
        remaining -= step;
        at += step;
        if (remaining === 0) state = 'header';
      } else if (state === 'header') {
        at++;
        state = 'length';
        length = 0;
        multiplier = 1;
        lengthBytes = 0;
      } else {
        const b = chunk[at++]!;
        length += (b & 0x7f) * multiplier;
        multiplier *= 128;
        lengthBytes++;
        if (b & 0x80) {
          if (lengthBytes === 4) return { reason: 'remaining length longer than 4 bytes' };
          continue;
        }
        if (length > maxPacketBytes) return { reason: 'packet too large', announced: length };
        remaining = length;
        state = remaining > 0 ? 'body' : 'header';
      }
    }
    return null;
  };
}
