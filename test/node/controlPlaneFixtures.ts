import { topicMatches } from '../../src/net/mqttClient.js';
import type { MqttLink } from '../../src/net/mqttLink.js';

/**
 * An in-memory MQTT link for the control-plane tests: subscriptions with wildcards,
 * retained messages handed to later subscribers, and `deliver` for what an attacker (or
 * the broker) puts on a topic. Handlers are called synchronously, as MQTT.js calls them
 * from its event loop turn: whatever a handler throws reaches the caller of `deliver`.
 */
export function fakeLink() {
  const subs: { filter: string; handler: (topic: string, payload: Buffer) => void }[] = [];
  const retained = new Map<string, Buffer>();
  const published: { topic: string; payload: Buffer; retain: boolean }[] = [];
  const deliver = (topic: string, payload: Uint8Array) => {
    for (const s of subs) if (topicMatches(s.filter, topic)) s.handler(topic, Buffer.from(payload));
  };
  const link: MqttLink = {
    connected: true,
    reconnects: 0,
    async publish(topic, payload, opts) {
      published.push({ topic, payload: Buffer.from(payload), retain: !!opts?.retain });
      if (opts?.retain) retained.set(topic, Buffer.from(payload));
      deliver(topic, payload);
    },
    async subscribe(filter, handler) {
      subs.push({ filter, handler });
      for (const [t, p] of retained) if (topicMatches(filter, t)) handler(t, p);
    },
    async close() {},
  };
  return { link, deliver, published, retained, subs };
}

/** Lets every already-queued callback and promise reaction run (no timing involved). */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
