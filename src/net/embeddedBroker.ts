import { createServer, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import { DEFAULT_MAX_PACKET_BYTES, type LinkLogger } from './mqttClient.js';

/**
 * The default broker: aedes in this process, on a loopback TCP port (a free one when
 * `port` is 0). aedes speaks MQTT 3.1.1 only, which is what connectMqtt speaks.
 *
 * A rogue client must not exhaust the broker's memory. aedes has no packet-size limit
 * (its parser buffers whatever remaining length a PUBLISH announces, up to MQTT's
 * 256 MB), so each connection's bytes pass a framing guard (`packetSizeGuard`) that
 * reads the fixed headers as aedes consumes them and drops the connection the moment a
 * packet announces more than `maxPacketBytes`, before its body is buffered.
 * Connections are capped too (`maxConnections`).
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
}

export interface EmbeddedBrokerStats {
  /** Clients connected now (past CONNECT). */
  clients: number;
  /** PUBLISH packets received from clients since start. */
  published: number;
  /** Connections dropped for announcing a packet over the size limit. */
  rejectedOversized: number;
}

export interface EmbeddedBroker {
  url: string;
  host: string;
  port: number;
  stats(): EmbeddedBrokerStats;
  /** Stops accepting, drops every client connection, closes aedes. Idempotent. */
  close(): Promise<void>;
}

const silent: LinkLogger = { info() {}, warn() {}, error() {} };

export async function startEmbeddedBroker(
  opts: EmbeddedBrokerOptions = {},
): Promise<EmbeddedBroker> {
  const host = opts.host ?? '127.0.0.1';
  const maxPacketBytes = opts.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
  const log = opts.logger ?? silent;
  const broker = await Aedes.createBroker({
    // MQTT 3.1.1 requires 23; privagg's client ids name deployment, IAN and role.
    maxClientsIdLength: 256,
    connectTimeout: 10_000,
  });
  let published = 0;
  let rejectedOversized = 0;
  broker.on('publish', (_packet, client) => {
    if (client) published++;
  });

  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    broker.handle(socket);
    const guard = packetSizeGuard(maxPacketBytes);
    // aedes consumes with 'readable' + read(); a 'data' listener then sees every chunk
    // read() returns, just before aedes parses it, without changing the flow.
    socket.on('data', (chunk: Buffer) => {
      const violation = guard(chunk);
      if (violation === null) return;
      rejectedOversized++;
      log.warn(
        { remote: `${socket.remoteAddress}:${socket.remotePort}`, ...violation, maxPacketBytes },
        'MQTT connection dropped: oversized or malformed packet',
      );
      socket.destroy();
    });
  });
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
    url: `mqtt://${urlHost}:${port}`,
    host,
    port,
    stats: () => ({ clients: broker.connectedClients, published, rejectedOversized }),
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
