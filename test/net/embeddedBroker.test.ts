import { createConnection, createServer } from 'node:net';
import { connect as rawMqttConnect } from 'mqtt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type EmbeddedBroker,
  packetSizeGuard,
  startEmbeddedBroker,
} from '../../src/net/embeddedBroker.js';
import { freePort } from '../../src/net/freePort.js';
import {
  backoffDelayMs,
  connectMqtt,
  type LinkLogger,
  type MqttClientLink,
  topicMatches,
} from '../../src/net/mqttClient.js';
import { topics } from '../../src/net/topics.js';
import { inOrderPerPublisher, memoryLogger, sequenced, waitFor } from './helpers.js';

/** Everything a test opens, closed after it whatever happens. */
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

/** A plaintext broker (the TLS and access-control cases are in brokerSecurity.test.ts). */
async function broker(
  opts: Parameters<typeof startEmbeddedBroker>[0] = {},
): Promise<EmbeddedBroker> {
  const b = await startEmbeddedBroker({ insecure: true, ...opts });
  open.push(b);
  return b;
}

async function link(url: string, clientId: string, extra: object = {}): Promise<MqttClientLink> {
  const l = await connectMqtt(url, { clientId, logger: memoryLogger().logger, ...extra });
  open.push(l);
  return l;
}

// A pino Logger is a LinkLogger (checked by the type checker).
const _pinoFits: LinkLogger = pino({ level: 'silent' });

describe('embedded broker (aedes) with the MQTT.js link', () => {
  it('round trip with QoS 1 between two clients on a free loopback port', async () => {
    const b = await broker();
    expect(b.url).toBe(`mqtt://127.0.0.1:${b.port}`);
    expect(b.port).toBeGreaterThan(0);
    const gateway = await link(b.url, 'privagg-test/ian-0/gw-1');
    const device = await link(b.url, 'privagg-test/ian-0/ds-0');
    const topic = topics.deviceReport('test', 0, 1, 0);
    const got: { topic: string; payload: Buffer }[] = [];
    await gateway.subscribe(topics.all('test'), (t, payload) => got.push({ topic: t, payload }));
    const bytes = new Uint8Array([1, 1, 0, 5, 0, 1, 0, 0, 255, 0]);
    await device.publish(topic, bytes);
    await waitFor(() => got.length === 1, 'the report');
    expect(got[0]!.topic).toBe(topic);
    expect(new Uint8Array(got[0]!.payload)).toEqual(bytes);
    expect(b.stats()).toMatchObject({ clients: 2, published: 1, rejectedOversized: 0 });
    expect(device.connected && gateway.connected).toBe(true);
    expect(device.reconnects).toBe(0);
  });

  it('speaks MQTT 3.1.1: CONNECT carries protocol level 4, clean session, the client id', async () => {
    let first: (b: Buffer) => void = () => {};
    const connectPacket = new Promise<Buffer>((resolve) => {
      first = resolve;
    });
    // A fake broker that records the CONNECT and never answers.
    const server = createServer((socket) => socket.once('data', first));
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
    );
    open.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
    await expect(
      connectMqtt(`mqtt://127.0.0.1:${port}`, { clientId: 'v311', connectTimeoutMs: 300 }),
    ).rejects.toThrow(/unreachable: (no CONNACK|connack timeout)/);
    const connect = await connectPacket;
    expect(connect[0]).toBe(0x10); // CONNECT
    const at = 2; // after a one-byte remaining length (a short CONNECT)
    expect(connect.subarray(at, at + 6).toString('latin1')).toBe('\x00\x04MQTT');
    expect(connect[at + 6]).toBe(4); // protocol level 4 = MQTT 3.1.1
    expect(connect[at + 7]! & 0x02).toBe(0x02); // clean session
    expect(connect.includes(Buffer.from('v311'))).toBe(true);
  });

  it('delivers 10,000 small binary messages from two publishers, each in order (QoS 1)', async () => {
    const b = await broker();
    const sink = await link(b.url, 'sink');
    const publishers = [await link(b.url, 'pub-0'), await link(b.url, 'pub-1')];
    const received: Buffer[] = [];
    await sink.subscribe('load/+', (_t, p) => received.push(p));
    const perPublisher = 5_000;
    const started = performance.now();
    await Promise.all(
      publishers.map((p, id) =>
        Promise.all(
          Array.from({ length: perPublisher }, (_, seq) =>
            p.publish(`load/${id}`, sequenced(id, seq)),
          ),
        ),
      ),
    );
    await waitFor(() => received.length >= 2 * perPublisher, 'all 10,000 messages', 20_000);
    const elapsed = performance.now() - started;
    expect(received).toHaveLength(2 * perPublisher);
    expect(inOrderPerPublisher(received)).toEqual(
      new Map([
        [0, perPublisher],
        [1, perPublisher],
      ]),
    );
    expect(elapsed).toBeLessThan(15_000);
  });

  it('reconnects with backoff after the broker restarts on the same port, resubscribed', async () => {
    const first = await startEmbeddedBroker({ insecure: true });
    const { port, url } = first;
    const { logger, lines } = memoryLogger();
    const sub = await link(url, 'restart-sub', {
      reconnectPeriodMs: 20,
      maxReconnectPeriodMs: 200,
      logger,
    });
    const pub = await link(url, 'restart-pub', {
      reconnectPeriodMs: 20,
      maxReconnectPeriodMs: 200,
    });
    const got: string[] = [];
    await sub.subscribe('restart/#', (_t, p) => got.push(p.toString()));
    await pub.publish('restart/a', Buffer.from('before'));
    await waitFor(() => got.includes('before'), 'the message before the restart');

    await first.close();
    await waitFor(() => !sub.connected && !pub.connected, 'both clients to notice');
    // A publish issued while the broker is down waits and is acknowledged after the restart.
    const duringOutage = pub.publish('restart/a', Buffer.from('during'));
    await new Promise((r) => setTimeout(r, 300)); // several failed attempts: the backoff grows
    const second = await broker({ port });
    expect(second.port).toBe(port);
    await Promise.all([sub.waitConnected(5_000), pub.waitConnected(5_000)]);
    await duringOutage;
    // The subscriber's resubscription races the publisher's reconnect: probe until one arrives.
    let probe = 0;
    await waitFor(
      () => {
        pub.publish('restart/b', Buffer.from(`probe-${probe++}`)).catch(() => {});
        return got.some((m) => m.startsWith('probe-'));
      },
      'messages to flow through the restarted broker',
      5_000,
      50,
    );
    expect(sub.reconnects).toBeGreaterThanOrEqual(1);
    expect(pub.reconnects).toBeGreaterThanOrEqual(1);
    expect(second.stats().clients).toBe(2);
    // Backoff: 20, 40, 80, 160, 200, … ms (jittered down to half) over an outage of
    // ≥ 300 ms is a handful of attempts; a fixed 20 ms period would be 15 or more.
    const reconnected = lines.find((x) => x.msg === 'MQTT reconnected')!.obj as {
      attempts: number;
    };
    expect(reconnected.attempts).toBeGreaterThanOrEqual(2);
    expect(reconnected.attempts).toBeLessThanOrEqual(12);
    expect(lines.some((x) => x.msg === 'MQTT connection lost; reconnecting with backoff')).toBe(
      true,
    );
  });

  it('rejects clearly when no broker listens, and waits for one with waitForBroker', async () => {
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    const started = Date.now();
    await expect(
      connectMqtt(url, { clientId: 'nobody-home', connectTimeoutMs: 300, reconnectPeriodMs: 50 }),
    ).rejects.toThrow(
      new RegExp(`MQTT broker at mqtt://127\\.0\\.0\\.1:${port} unreachable: .*ECONNREFUSED`),
    );
    expect(Date.now() - started).toBeLessThan(3_000);

    const { logger, lines } = memoryLogger();
    const waiting = connectMqtt(url, {
      clientId: 'patient',
      waitForBroker: true,
      connectTimeoutMs: 300,
      reconnectPeriodMs: 20,
      maxReconnectPeriodMs: 100,
      logger,
    });
    await new Promise((r) => setTimeout(r, 400));
    await broker({ port });
    const l = await waiting;
    open.push(l);
    expect(l.connected).toBe(true);
    expect(lines.some((x) => x.level === 'warn' && x.msg === 'MQTT connection error')).toBe(true);

    // A wait for a broker that never comes can be abandoned (e.g. at shutdown).
    const nowhere = `mqtt://127.0.0.1:${await freePort()}`;
    const abort = new AbortController();
    const abandoned = connectMqtt(nowhere, {
      clientId: 'abandoned',
      waitForBroker: true,
      reconnectPeriodMs: 20,
      signal: abort.signal,
      logger: memoryLogger().logger,
    });
    setTimeout(() => abort.abort(), 100);
    await expect(abandoned).rejects.toThrow(/aborted before the broker answered .*ECONNREFUSED/);
  });

  it('handles oversized publishes: refused by the link, and a rogue client is dropped', async () => {
    const { logger, lines } = memoryLogger();
    const b = await broker({ maxPacketBytes: 64 * 1024, logger });
    const good = await link(b.url, 'good', { maxPacketBytes: 64 * 1024 });
    const received: number[] = [];
    await good.subscribe('big/#', (_t, p) => received.push(p.length));

    // The link refuses before sending and stays usable.
    await expect(good.publish('big/a', new Uint8Array(70 * 1024))).rejects.toThrow(
      /exceeds the limit of 65536 bytes/,
    );
    await good.publish('big/a', new Uint8Array(60 * 1024));
    await waitFor(() => received.length === 1, 'the message under the limit');

    // A client without that check: the broker drops it when the header announces the size.
    const rogue = rawMqttConnect(b.url, {
      clientId: 'rogue',
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    rogue.on('error', () => {});
    await new Promise<void>((resolve) => rogue.once('connect', () => resolve()));
    rogue.publish('big/b', Buffer.alloc(1024 * 1024), { qos: 1 });
    await waitFor(() => b.stats().rejectedOversized === 1, 'the rogue to be dropped');
    await waitFor(() => !rogue.connected, 'the rogue connection to close');
    rogue.end(true);

    // A raw socket announcing 200 MB is cut off after 5 bytes, before any body is buffered.
    const socket = createConnection(b.port, '127.0.0.1');
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => {});
    socket.write(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x64]));
    await closed;
    expect(b.stats().rejectedOversized).toBe(2);
    expect(lines.filter((x) => x.msg?.startsWith('MQTT connection dropped'))).toHaveLength(2);

    await good.publish('big/c', new Uint8Array(10));
    await waitFor(() => received.length === 2, 'the good client to keep working');
    expect(received).toEqual([60 * 1024, 10]);
  });

  it('a packet just over the limit that arrives in one read is not delivered either', async () => {
    const b = await broker({ maxPacketBytes: 1024, logger: memoryLogger().logger });
    const good = await link(b.url, 'good', { maxPacketBytes: 1024 });
    const received: number[] = [];
    await good.subscribe('edge/#', (_t, p) => received.push(p.length));
    const rogue = rawMqttConnect(b.url, {
      clientId: 'rogue',
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    rogue.on('error', () => {});
    await new Promise<void>((resolve) => rogue.once('connect', () => resolve()));
    // A remaining length of 1025 (topic, packet id, payload): one write, one read on the broker's side.
    rogue.publish('edge/x', Buffer.alloc(1025 - 2 - 'edge/x'.length - 2), { qos: 1 });
    await waitFor(() => b.stats().rejectedOversized === 1, 'the rogue to be dropped');
    rogue.end(true);
    // A marker sent afterwards arrives; the oversized packet before it never did.
    await good.publish('edge/marker', new Uint8Array(7));
    await waitFor(() => received.includes(7), 'the marker');
    expect(received).toEqual([7]);
    expect(b.stats().published).toBe(1);
  });

  it("a handler's exception or rejection is caught and logged; the client keeps running", async () => {
    const b = await broker();
    const { logger, lines } = memoryLogger();
    const l = await connectMqtt(b.url, { clientId: 'fragile', logger });
    open.push(l);
    const pub = await link(b.url, 'pub');
    const ok: string[] = [];
    await l.subscribe('h/+', (_t, p) => {
      if (p.toString() === 'bad') throw new Error('handler bug');
    });
    await l.subscribe('h/+', (async (_t: string, p: Buffer) => {
      if (p.toString() === 'bad') throw new Error('async handler bug');
    }) as unknown as (t: string, p: Buffer) => void);
    await l.subscribe('h/#', (_t, p) => ok.push(p.toString()));
    for (const m of ['one', 'bad', 'two']) await pub.publish('h/x', Buffer.from(m));
    await waitFor(() => ok.length === 3 && l.handlerErrors === 2, 'all three messages');
    expect(ok).toEqual(['one', 'bad', 'two']);
    expect(l.connected).toBe(true);
    expect(
      lines.filter((x) => x.level === 'error').map((x) => (x.obj as { err: Error }).err.message),
    ).toEqual(['handler bug', 'async handler bug']);
  });

  it('a publish without PUBACK rejects on timeout, and close() rejects what is pending', async () => {
    const b = await broker();
    const l = await link(b.url, 'timeouts', {
      publishTimeoutMs: 200,
      reconnectPeriodMs: 1_000,
    });
    await b.close();
    await waitFor(() => !l.connected, 'the client to notice');
    await expect(l.publish('t/a', Buffer.from('x'))).rejects.toThrow(
      /no acknowledgement within 200 ms \(broker unreachable\); it may still be delivered later/,
    );
    const pending = l.publish('t/a', Buffer.from('y'));
    await l.close();
    await expect(pending).rejects.toThrow(/closed before the broker acknowledged/);
    await expect(l.publish('t/a', Buffer.from('z'))).rejects.toThrow(/is closed/);
  });

  it('closes cleanly: client sockets dropped, port released, close idempotent', async () => {
    const b = await startEmbeddedBroker({ insecure: true });
    const l = await link(b.url, 'closer', { reconnectPeriodMs: 5_000 });
    await b.close();
    await b.close();
    await waitFor(() => !l.connected, 'the client to be disconnected');
    const again = await broker({ port: b.port });
    expect(again.port).toBe(b.port);
  });
});

describe('backoffDelayMs and topicMatches', () => {
  it('doubles from the base up to the ceiling, jittered within [nominal/2, nominal]', () => {
    const most = () => 0;
    const least = (below: number) => below - 1;
    expect([0, 1, 2, 3, 4, 5, 6, 40].map((a) => backoffDelayMs(a, 250, 10_000, most))).toEqual([
      250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000,
    ]);
    expect([0, 1, 5, 6].map((a) => backoffDelayMs(a, 250, 10_000, least))).toEqual([
      125, 250, 4000, 5000,
    ]);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelayMs(3, 100, 10_000);
      expect(d).toBeGreaterThanOrEqual(400);
      expect(d).toBeLessThanOrEqual(800);
    }
  });

  it('matches MQTT topic filters', () => {
    const cases: [string, string, boolean][] = [
      ['a/b', 'a/b', true],
      ['a/+', 'a/b', true],
      ['a/+', 'a/b/c', false],
      ['a/#', 'a', true],
      ['a/#', 'a/b/c', true],
      ['+/+/c', 'a/b/c', true],
      ['#', '$SYS/x', false],
      ['+/x', '$SYS/x', false],
      ['a/b', 'a/b/c', false],
      [topics.all('d'), topics.deviceReport('d', 3, 2, 7), true],
      [topics.gatewayReports('d', 3, 2), topics.deviceReport('d', 3, 2, 7), true],
      [topics.gatewayReports('d', 3, 2), topics.deviceReport('d', 3, 1, 7), false],
    ];
    for (const [filter, topic, expected] of cases) {
      expect(topicMatches(filter, topic), `${filter} ~ ${topic}`).toBe(expected);
    }
  });
});

describe('packetSizeGuard', () => {
  const publish = (remaining: number) => {
    const len: number[] = [];
    let x = remaining;
    do {
      let byte = x % 128;
      x = Math.floor(x / 128);
      if (x > 0) byte |= 0x80;
      len.push(byte);
    } while (x > 0);
    return Buffer.concat([Buffer.from([0x32, ...len]), Buffer.alloc(remaining)]);
  };

  it('follows packets split anywhere across chunks', () => {
    const stream = Buffer.concat([
      publish(0),
      publish(127),
      publish(128),
      publish(1000),
      publish(16_384),
    ]);
    for (const cut of [1, 2, 3, 7, 129, 1500]) {
      const guard = packetSizeGuard(16_384);
      for (let at = 0; at < stream.length; at += cut) {
        expect(guard(stream.subarray(at, at + cut))).toBeNull();
      }
    }
  });

  it('flags a packet over the limit from its header alone, and a 5-byte length', () => {
    const over = packetSizeGuard(1000)(publish(1001).subarray(0, 3));
    expect(over).toEqual({ reason: 'packet too large', announced: 1001 });
    expect(packetSizeGuard(1 << 30)(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff]))).toEqual({
      reason: 'remaining length longer than 4 bytes',
    });
  });
});
