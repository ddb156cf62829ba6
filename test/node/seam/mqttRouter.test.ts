import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/math/random.js';
import { connectMqtt } from '../../../src/net/mqttClient.js';
import { startSeamBroker } from '../../../src/node/seam/seamBroker.js';
import { envelopeTopic } from '../../../src/node/seam/seamTopics.js';
import { configureScheme } from '../../../src/schemes/registry.js';
import { aggregatorAt, CENTER, deviceAt } from '../../../src/schemes/scheme.js';
import { populationOf, runScheme } from '../../../src/sim/schemeRunner.js';
import { SyntheticWorkload } from '../../../src/sim/syntheticWorkload.js';

/**
 * The same rounds over a real broker: the embedded broker over TLS with a client
 * certificate per identity and the seam's access control. Every scheme gives the same
 * results as in memory with the same seed (a multi-phase round included), and the broker
 * refuses a client that sends as someone else.
 */
const FAST: Record<string, unknown> = { 'joye-libert': { modulusBits: 512 }, maas: { ldp: 'off' } };

function workload() {
  return new SyntheticWorkload({
    ians: 2,
    devicesPerIan: 5,
    rounds: 2,
    dimensions: 2,
    maxReading: 9,
    startRate: 0.3,
    rng: seededRandom('mqtt-router'),
  });
}

describe('the seam over MQTT (embedded broker, TLS, per-identity certificates)', () => {
  for (const id of ['plain-sum', 'tree-test', 'joye-libert', 'maas']) {
    it(`${id}: the rounds over the broker equal the rounds in memory, a silent device included`, async () => {
      const w = workload();
      const config = configureScheme(id, FAST[id] ?? {}, populationOf(w));
      const faults = {
        deviceSilent: (g: number, i: number, r: number) => g === 1 && i === 2 && r === 1,
      };
      const inMemory = await runScheme({ config, workload: w, seed: 's', faults });
      const broker = await startSeamBroker({ run: `t-${id}`, config });
      try {
        const overMqtt = await runScheme({
          config,
          workload: w,
          seed: 's',
          faults,
          router: broker.router,
        });
        expect(overMqtt.rounds).toEqual(inMemory.rounds);
        expect(overMqtt.totals.map((t) => t.estimate)).toEqual(overMqtt.totals.map((t) => t.truth));
        expect(broker.stats().published).toBeGreaterThan(2 * 10);
        expect(broker.stats().rejectedPublish).toBe(0);
      } finally {
        await broker.close();
      }
    }, 60_000);
  }

  it('the broker refuses a client without a certificate, a sender it may not claim, a retained message and a foreign inbox', async () => {
    const w = workload();
    const config = configureScheme('plain-sum', {}, populationOf(w));
    const broker = await startSeamBroker({ run: 'refuse', config });
    try {
      await expect(
        connectMqtt(broker.url, {
          clientId: 'refuse.dev.0',
          tls: { ca: broker.ca },
          connectTimeoutMs: 3000,
        }),
      ).rejects.toThrow();
      const fleet0 = broker.credentialsOf('refuse.dev.0')!;
      const link = await connectMqtt(broker.url, {
        clientId: 'refuse.dev.0',
        tls: { ca: broker.ca, ...fleet0 },
      });
      try {
        const bytes = new Uint8Array(8);
        // Group 0's fleet as device 0 of group 1, and as the center: acknowledged, dropped.
        await link.publish(
          envelopeTopic('refuse', aggregatorAt(1, 0), 'report', deviceAt(1, 0)),
          bytes,
        );
        await link.publish(envelopeTopic('refuse', deviceAt(0, 1), 'announce', CENTER), bytes);
        // Its own device, but retained: refused too (only fresh messages travel).
        await link.publish(
          envelopeTopic('refuse', aggregatorAt(0, 0), 'report', deviceAt(0, 0)),
          bytes,
          {
            retain: true,
          },
        );
        expect(broker.stats().rejectedPublish).toBe(3);
        // Its own device, as itself: allowed.
        await link.publish(
          envelopeTopic('refuse', aggregatorAt(0, 0), 'report', deviceAt(0, 0)),
          bytes,
        );
        expect(broker.stats().rejectedPublish).toBe(3);
        // Reading group 1's devices' inbox or the aggregator's: refused.
        await link.subscribe('privagg/s1/refuse/d.1.0/+/+', () => undefined).catch(() => undefined);
        await link.subscribe('privagg/s1/refuse/a.0.0/+/+', () => undefined).catch(() => undefined);
        expect(broker.stats().rejectedSubscribe).toBe(2);
      } finally {
        await link.close();
      }
    } finally {
      await broker.close();
    }
  }, 60_000);
});
