import { createConnection } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { connectMqtt, type MqttClientLink } from '../../src/net/mqttClient.js';
import { inOrderPerPublisher, memoryLogger, sequenced, uniqueSuffix, waitFor } from './helpers.js';

/**
 * The same link against Mosquitto, the broker for deployments at scale. CI starts it
 * (.ci/services.sh); when nothing listens on 127.0.0.1:1883 these tests FAIL, saying
 * so — they never skip, so a missing broker cannot pass unnoticed.
 */
const HOST = '127.0.0.1';
const PORT = 1883;
const URL = `mqtt://${HOST}:${PORT}`;

function acceptsTcp(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (problem: string | null) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    socket.once('connect', () => done(null));
    socket.once('error', (e) => done(e.message));
  });
}

const links: MqttClientLink[] = [];
const run = uniqueSuffix();

// Checked once; every test awaits it, so each one fails (not skips) when Mosquitto is absent.
let reachable: Promise<string | null> | undefined;
async function requireMosquitto(): Promise<void> {
  reachable ??= acceptsTcp(HOST, PORT, 2_000);
  const problem = await reachable;
  if (problem !== null) {
    throw new Error(
      `Mosquitto is missing: nothing accepts TCP on ${HOST}:${PORT} (${problem}). ` +
        'Install and start it: `apt-get install -y mosquitto && mosquitto -d -c /etc/mosquitto/mosquitto.conf` ' +
        '(or `mosquitto -d -p 1883`), or run `.ci/services.sh`, which CI runs before the tests.',
    );
  }
}

afterAll(async () => {
  for (const l of links.splice(0)) await l.close();
});

async function link(clientId: string): Promise<MqttClientLink> {
  await requireMosquitto();
  const l = await connectMqtt(URL, {
    clientId: `privagg-test-${clientId}-${run}`,
    logger: memoryLogger().logger,
    connectTimeoutMs: 5_000,
  });
  links.push(l);
  return l;
}

describe('Mosquitto on 127.0.0.1:1883 (MQTT 3.1.1)', () => {
  it('round trip with QoS 1', async () => {
    const sub = await link('sub');
    const pub = await link('pub');
    const topic = `privagg-test/${run}/round-trip`;
    const got: Buffer[] = [];
    await sub.subscribe(topic, (_t, p) => got.push(p));
    const bytes = Buffer.from([0, 1, 2, 254, 255]);
    await pub.publish(topic, bytes);
    await waitFor(() => got.length === 1, 'the message through Mosquitto');
    expect(got[0]).toEqual(bytes);
  });

  it('delivers 2,000 small binary messages in order (QoS 1)', async () => {
    const sub = await link('load-sub');
    const pub = await link('load-pub');
    const topic = `privagg-test/${run}/load`;
    const got: Buffer[] = [];
    await sub.subscribe(`privagg-test/${run}/+`, (_t, p) => got.push(p));
    // Mosquitto queues at most max_queued_messages (default 1000) for a subscriber that
    // lags, and drops the rest even at QoS 1: send in batches the subscriber keeps up with.
    const batch = 500;
    for (let at = 0; at < 2_000; at += batch) {
      await Promise.all(
        Array.from({ length: batch }, (_, i) => pub.publish(topic, sequenced(7, at + i))),
      );
      await waitFor(() => got.length >= at + batch, `messages ${at}–${at + batch - 1}`, 15_000);
    }
    expect(got).toHaveLength(2_000);
    expect(inOrderPerPublisher(got)).toEqual(new Map([[7, 2_000]]));
  });
});
