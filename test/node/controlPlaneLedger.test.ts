import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportRawPublic } from '../../src/crypto/rawKeys.js';
import { ChainCipher } from '../../src/ledger/chainCipher.js';
import { systemRandom } from '../../src/math/random.js';
import { type EmbeddedBroker, startEmbeddedBroker } from '../../src/net/embeddedBroker.js';
import { connectMqtt, type MqttClientLink } from '../../src/net/mqttClient.js';
import { topics } from '../../src/net/topics.js';
import { signControl, verifyControl, watchEpoch } from '../../src/node/controlPlane.js';
import { GatewayService } from '../../src/node/gatewayService.js';
import { startLedgerServer } from '../../src/node/ledgerServer.js';
import type { RoundClock } from '../../src/node/roundClock.js';
import { createMaasDeployment } from '../../src/schemes/maas/deployment.js';
import type { RestoreOutcome } from '../../src/schemes/maas/ledgerContract.js';
import { defaultMaasParams } from '../../src/schemes/maas/params.js';
import type { ControlMessage } from '../../src/wire/control.js';
import { waitFor } from '../net/helpers.js';

/**
 * The signed control plane end to end, in one process over a real (embedded, plaintext)
 * broker and the ledger's HTTP API: the ledger starts the epoch (signed, retained), three
 * gateways adopt it through `watchEpoch` despite a forged and a stale retained epoch an
 * anonymous client left, the ledger's reconcile requests and outcomes are signed binary
 * messages, garbage on the control topics changes nothing, and with m = k = 3 and one
 * gateway missing a device every round restores with exact totals over a set the
 * gateways accept (two more devices withheld, and the status says so). A restarted ledger
 * takes its epoch from the broker.
 */
const DEP = 'cp-ledger';
const ROUND_MS = 1500;
const READINGS = [3, 1, 4, 1, 5, 9];
const ledgerKeys = generateKeyPairSync('ed25519');
const earlierRun = generateKeyPairSync('ed25519');
const PUB = exportRawPublic(ledgerKeys.publicKey);
const silent = pino({ level: 'silent' });
const params = defaultMaasParams({
  deployment: DEP,
  ians: 1,
  devicesPerIan: READINGS.length,
  gateways: 3,
  threshold: 3,
  dimensions: ['a'],
  maxReading: [9],
  ldp: null,
});
const dep = createMaasDeployment(params, { oems: [], registeredAtMs: Date.now() });

let broker: EmbeddedBroker;
let dir: string;
const links: MqttClientLink[] = [];
const connect = async (clientId: string) => {
  const l = await connectMqtt(broker.url, { clientId, logger: silent });
  links.push(l);
  return l;
};
beforeAll(async () => {
  broker = await startEmbeddedBroker({ insecure: true });
  dir = mkdtempSync(join(tmpdir(), 'privagg-cp-'));
});
afterAll(async () => {
  for (const l of links) await l.close().catch(() => undefined);
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('signed control plane over MQTT', () => {
  it('epoch, reconcile and outcome are signed; forgeries change nothing; rounds restore exactly', async () => {
    // An anonymous client leaves a forged (unsigned JSON) and a stale (earlier run's key)
    // epoch, retained — the second one replaces the first on the broker.
    const rogue = await connect('rogue');
    await rogue.publish(topics.epoch(DEP), Buffer.from(JSON.stringify({ epochMs: 1 })), {
      retain: true,
    });
    await rogue.publish(
      topics.epoch(DEP),
      signControl(
        'epoch',
        { deployment: DEP, epochMs: 1, roundMs: ROUND_MS, issuedAtMs: 1 },
        earlierRun.privateKey,
      ),
      { retain: true },
    );

    // Observer: every control message that crosses the broker, verified.
    const observer = await connect('observer');
    const seen: ControlMessage[] = [];
    const unverified: string[] = [];
    for (const t of [topics.reconcile(DEP, 0), topics.outcome(DEP, 0)]) {
      await observer.subscribe(t, (_t, payload) => {
        const v = verifyControl(payload, { deployment: DEP, ledgerPublicKey: PUB });
        if (v.ok) seen.push(v.message);
        else unverified.push(v.code);
      });
    }

    const cipher = new ChainCipher(dep.registry.ledgerKey().chainContentKey!);
    const ledger = await startLedgerServer({
      file: join(dir, 'ledger.sqlite'),
      config: { params, oems: [] },
      ledgerKey: dep.registry.ledgerKey(),
      link: await connect(`${DEP}.ledger`),
      controlKey: ledgerKeys.privateKey,
      roundMs: ROUND_MS,
      restoreDelayMs: 300,
      rounds: 2,
      logger: silent,
      api: { insecure: true, logger: false },
    });

    // Gateways: each waits for a signed epoch (the stale retained one is refused).
    const refusedEpochs: string[] = [];
    const gateways = await Promise.all(
      [1, 2, 3].map(async (l) => {
        const link = await connect(`${DEP}.gw-0-${l}`);
        const clock = watchEpoch(link, {
          deployment: DEP,
          ledgerPublicKey: PUB,
          roundMs: ROUND_MS,
          onInvalid: (code) => refusedEpochs.push(code),
        });
        return { l, link, clock };
      }),
    );
    const devices = await connect(`${DEP}.devices-0`);
    const deviceClock = watchEpoch(devices, {
      deployment: DEP,
      ledgerPublicKey: PUB,
      roundMs: ROUND_MS,
    });

    await ledger.startEpoch(Date.now() + 800);
    const clocks = await Promise.all(gateways.map((g) => g.clock));
    expect(new Set(clocks.map((c) => c.epochMs))).toEqual(new Set([ledger.roundClock()!.epochMs]));
    expect(refusedEpochs).toEqual(['BAD_SIGNATURE', 'BAD_SIGNATURE', 'BAD_SIGNATURE']);
    const services = gateways.map(
      (g, at) =>
        new GatewayService({
          key: dep.registry.gatewayKey(0, g.l),
          params,
          link: g.link,
          ledgerUrl: ledger.url,
          ledgerPublicKey: PUB,
          clock: clocks[at]!,
          logger: silent,
        }),
    );
    for (const s of services) await s.start();

    try {
      const clock: RoundClock = await deviceClock;
      for (let round = 0; round < 2; round++) {
        await new Promise((r) =>
          setTimeout(r, Math.max(0, clock.startOf(round) + 50 - Date.now())),
        );
        // Garbage and a forgery on the reconcile topic, every round.
        await rogue.publish(topics.reconcile(DEP, 0), Buffer.from('{"round":0,"attempt":256}'));
        await rogue.publish(
          topics.reconcile(DEP, 0),
          signControl(
            'reconcile',
            {
              deployment: DEP,
              epochMs: clock.epochMs,
              ian: 0,
              round: Math.max(0, round - 1),
              attempt: 1,
              rosterSize: READINGS.length,
              gatewayCount: 3,
              contributors: [0, 1, 2, 3, 4],
              gateways: [1, 2, 3],
            },
            earlierRun.privateKey,
          ),
        );
        for (let i = 0; i < READINGS.length; i++) {
          for (const m of dep
            .device(0, i)
            .report(round, [READINGS[i]!], Date.now(), systemRandom)) {
            if (m.gateway === 3 && i === 2) continue; // gateway 3 never gets device 2
            await devices.publish(topics.deviceReport(DEP, 0, m.gateway, i), m.bytes);
          }
        }
      }
      await ledger.finished;
      // Outcomes are published without blocking the driver: wait for both to arrive.
      await waitFor(() => seen.filter((m) => m.kind === 'outcome').length === 2, 'two outcomes');

      // Every IAN-round: one signed reconcile (withholding 2 devices), then a restore over
      // {0, 1, 3}, exact, and a signed outcome that says why.
      // What did not verify is exactly the rogue's: its JSON and its forgery, each round.
      expect(unverified.sort()).toEqual([
        'BAD_SIGNATURE',
        'BAD_SIGNATURE',
        'UNSUPPORTED_VERSION',
        'UNSUPPORTED_VERSION',
      ]);
      for (const round of [0, 1]) {
        const asks = seen.filter((m) => m.kind === 'reconcile' && m.round === round);
        expect(asks).toHaveLength(1);
        expect(asks[0]).toMatchObject({ attempt: 1, contributors: [0, 1, 3], gateways: [1, 2, 3] });
        // The last restore recorded on the chain for this IAN-round.
        const restores = ledger.service
          .blocks(0, ledger.service.height() + 1)
          .flatMap((b) => b.transactions)
          .filter((t) => t.kind === 'restore' && t.ian === 0 && t.round === round)
          .map((t) => JSON.parse(cipher.open(t).body.toString('utf8')) as RestoreOutcome);
        expect(restores.map((r) => r.status)).toEqual(['reconcile', 'restored']);
        const restored = restores[1]!;
        expect(restored).toMatchObject({ status: 'restored', contributors: [0, 1, 3] });
        if (restored.status === 'restored')
          expect(restored.estimates[0]!.estimate).toBe(READINGS[0]! + READINGS[1]! + READINGS[3]!);
        const outcome = seen.find((m) => m.kind === 'outcome' && m.round === round);
        expect(outcome).toMatchObject({ status: 'degraded' });
        expect(outcome?.kind === 'outcome' && outcome.reasons.join(' ')).toMatch(
          /2 of them left out of the re-sum to keep sums private/,
        );
      }
      for (const s of services) {
        expect(s.counters.reaggregations).toBe(2);
        expect(s.counters.rejected.UNSUPPORTED_VERSION).toBe(2);
        expect(s.counters.rejected.BAD_SIGNATURE).toBe(2);
        expect(s.counters.handlerErrors).toBe(0);
      }
    } finally {
      for (const s of services) s.stop();
      await ledger.close();
    }

    // A restarted ledger (same file, same key) takes the retained epoch it signed.
    const again = await startLedgerServer({
      file: join(dir, 'ledger.sqlite'),
      config: { params, oems: [] },
      ledgerKey: dep.registry.ledgerKey(),
      link: await connect(`${DEP}.ledger-2`),
      controlKey: ledgerKeys.privateKey,
      roundMs: ROUND_MS,
      restoreDelayMs: 300,
      rounds: 2,
      logger: silent,
      api: { insecure: true, logger: false },
    });
    try {
      await again.finished;
      const epochMs = (await deviceClock).epochMs;
      expect(again.roundClock()?.epochMs).toBe(epochMs);
      await expect(again.startEpoch(epochMs + 1)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      await expect(again.startEpoch(epochMs)).resolves.toBeUndefined();
    } finally {
      await again.close();
    }
  }, 30_000);
});
