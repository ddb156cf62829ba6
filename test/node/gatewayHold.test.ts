import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ed25519KeyPair } from '../../src/crypto/ed25519.js';
import { systemRandom } from '../../src/math/random.js';
import type { MqttLink } from '../../src/net/mqttLink.js';
import { topics } from '../../src/net/topics.js';
import { GatewayService } from '../../src/node/gatewayService.js';
import { RoundClock } from '../../src/node/roundClock.js';
import { createMaasDeployment } from '../../src/schemes/maas/deployment.js';
import { defaultMaasParams, PAPER_MODES } from '../../src/schemes/maas/params.js';

/**
 * GatewayService holding reports of the next round: where tags are verified on ingest
 * they are authenticated before they are held (a forgery is BAD_MAC at once and takes no
 * place in the buffer), genuine ones are held — at most two copies per device — and
 * accepted when the round opens. Driven in-process: a fake MQTT link whose report handler
 * the test calls, the real round clock on short rounds, and a ledger URL nobody answers.
 */
const DURATION = 600;

function harness(modes?: typeof PAPER_MODES) {
  const params = defaultMaasParams({
    deployment: 'hold',
    ians: 1,
    devicesPerIan: 3,
    dimensions: ['a'],
    maxReading: [9],
    ldp: null,
    ...(modes ? { modes } : {}),
  });
  const dep = createMaasDeployment(params, { oems: [], registeredAtMs: Date.now() });
  const handlers = new Map<string, (topic: string, payload: Buffer) => void>();
  const link: MqttLink = {
    connected: true,
    reconnects: 0,
    publish: async () => undefined,
    subscribe: async (topic, handler) => {
      handlers.set(topic.endsWith('/reports/+') ? 'reports' : topic, handler);
    },
    close: async () => undefined,
  };
  const clock = new RoundClock(Date.now() + 100, DURATION);
  const svc = new GatewayService({
    key: dep.registry.gatewayKey(0, 1),
    params,
    link,
    ledgerUrl: 'http://127.0.0.1:1',
    ledgerPublicKey: ed25519KeyPair().publicKey,
    clock,
    logger: pino({ level: 'silent' }),
    postDeadlineMs: 1,
  });
  // On the device's own topic (…/gw/1/reports/<i>), as the broker delivers it.
  const deliver = (bytes: Uint8Array) =>
    handlers.get('reports')!(
      topics.deviceReport('hold', 0, 1, Buffer.from(bytes).readUInt32BE(8)),
      Buffer.from(bytes),
    );
  /** This gateway's message of device i for round r, timestamped now. */
  const report = (i: number, r: number) =>
    dep
      .device(0, i)
      .report(r, [i + 1], Date.now(), systemRandom)
      .filter((m) => m.gateway === 1);
  const at = (r: number, ms: number) =>
    new Promise((res) => setTimeout(res, Math.max(0, clock.startOf(r) + ms - Date.now())));
  return { svc, deliver, report, at };
}

const rejected = (svc: GatewayService, code: string) => svc.counters.rejected[code] ?? 0;

describe('GatewayService: next-round reports are authenticated before they are held', () => {
  it('forged → BAD_MAC at once, not held; genuine → held and accepted when the round opens; a flood of genuine copies is capped', async () => {
    const { svc, deliver, report, at } = harness();
    await svc.start();
    try {
      await at(0, 50); // round 0 is open
      const next = report(0, 1)[0]!.bytes;
      const forged = Buffer.from(next);
      forged[forged.length - 1]! ^= 1;
      for (let k = 0; k < 5; k++) deliver(forged);
      expect(rejected(svc, 'BAD_MAC')).toBe(5);
      expect(svc.counters.earlyHeld).toBe(0);
      // A genuine next-round report, then ten more copies of it: two held, eight refused.
      for (let k = 0; k < 11; k++) deliver(next);
      expect(svc.counters.earlyHeld).toBe(2);
      expect(svc.counters.earlyDropped).toBe(9);
      expect(rejected(svc, 'REPLAY')).toBe(9);
      // Round 0 completes (early close); round 1 opens on its timer and takes the held report.
      for (let i = 0; i < 3; i++) deliver(report(i, 0)[0]!.bytes);
      expect(svc.lastRoundClosed).toBe(0);
      expect(svc.counters.reportsAccepted).toBe(3);
      await at(1, 50);
      expect(svc.counters.reportsAccepted).toBe(4);
      expect(rejected(svc, 'REPLAY')).toBe(10); // the second held copy, judged on opening
      for (let i = 1; i < 3; i++) deliver(report(i, 1)[0]!.bytes);
      expect(svc.lastRoundClosed).toBe(1); // every device of round 1 in: closed early
      expect(rejected(svc, 'BAD_MAC')).toBe(5);
      expect(Object.keys(svc.counters.rejected).sort()).toEqual(['BAD_MAC', 'REPLAY']);
    } finally {
      svc.stop();
    }
  });

  it("in the paper's batch mode next-round reports are held unauthenticated (capped per device), as before", async () => {
    const { svc, deliver, report, at } = harness(PAPER_MODES);
    await svc.start();
    try {
      await at(0, 50);
      const own = report(0, 1)[0]!.bytes;
      const forged = Buffer.from(own);
      forged[forged.length - 1]! ^= 1;
      deliver(forged);
      expect(rejected(svc, 'BAD_MAC')).toBe(0);
      expect(svc.counters.earlyHeld).toBe(1);
    } finally {
      svc.stop();
    }
  });
});
