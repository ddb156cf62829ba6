import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { BrokerPolicy } from '../../src/net/brokerPolicy.js';
import { startEmbeddedBroker } from '../../src/net/embeddedBroker.js';
import { loadBundle } from '../../src/node/credentials/bundle.js';
import { identityOf } from '../../src/node/credentials/identities.js';
import { issueCredentials } from '../../src/node/credentials/issue.js';
import {
  type ParsedDeploymentSpec,
  parseDeployment,
  workloadFor,
} from '../../src/node/deploymentFile.js';
import { MASTER_KEY_FILE } from '../../src/node/masterSecret.js';
import {
  allDevices,
  runDevices,
  runGateway,
  runGateways,
  runLedger,
  runQuery,
} from '../../src/node/runtime.js';

/**
 * The TA issues this run's bundles (TLS certificates included), starts the embedded broker
 * with TLS and the deployment's ACL — then the master secret is deleted: the role mains
 * below run on their bundles alone (issue 9, finding 5).
 */
async function secureBroker(s: ParsedDeploymentSpec) {
  const issued = issueCredentials(s, { tls: true });
  const b = loadBundle(issued.bundles.get(identityOf.broker(s.name))!, 'broker');
  const broker = await startEmbeddedBroker({
    tls: b.tls!,
    policy: new BrokerPolicy(s.name, s.scheme.gateways, issued.grants),
  });
  rmSync(join(s.stateDir, MASTER_KEY_FILE));
  return broker;
}

/**
 * The networked runtime in one process: a ledger server, z·m gateway services and a
 * device fleet, talking MQTT through Mosquitto and HTTP to the ledger, on the wall
 * clock. With LDP off, every IAN-round's restored totals equal the ground truth.
 */
function spec(rounds: number, durationMs: number) {
  const dir = mkdtempSync(join(tmpdir(), 'privagg-runtime-'));
  const text = JSON.stringify({
    name: 'rt-test',
    stateDir: dir,
    scheme: { ians: 2, devicesPerIan: 6, gateways: 5, threshold: 3, ldp: 'off' },
    rounds: { count: rounds, durationMs, restoreDelayMs: 400, freshnessWindowMs: 30_000 },
    broker: 'embedded',
  });
  return parseDeployment(text, 'test.json', dir);
}

describe('networked runtime (one process, MQTT over TLS with ACLs, HTTPS, no master secret)', () => {
  it('rounds complete with exact totals; the ledger records each round status', async () => {
    const s = spec(3, 800);
    const broker = await secureBroker(s);
    const rt = {
      spec: s,
      brokerUrl: broker.url,
      // Room for the ledger, ten gateways and the fleet's warm-up on a busy machine: a fleet
      // ready after round 0's first quarter would skip it (deviceFleet.ts) and the test
      // would see a round with no devices.
      epochMs: Date.now() + 5000,
      logger: pino({ level: 'silent' }),
    };
    const ledger = await runLedger(rt);
    const gateways = [];
    for (let v = 0; v < 2; v++)
      for (let l = 1; l <= 5; l++) gateways.push(await runGateway(rt, v, l, ledger.url));
    const fleet = await runDevices(rt, allDevices(s));
    try {
      await ledger.finished;
      expect(ledger.statuses).toHaveLength(2 * 3);
      for (const st of ledger.statuses)
        expect(st, JSON.stringify(st)).toMatchObject({ status: 'complete', reasons: [] });
      const res = await runQuery(rt, ledger.url, { number: 2, startRound: 0, endRound: 2 });
      expect(res.ok, JSON.stringify(res.body)).toBe(true);
      expect(ledger.url.startsWith('https://')).toBe(true);
      const answer = (
        res.body as {
          answer: { dimensions: { name: string; total: number; series: { value: number }[] }[] };
        }
      ).answer;
      const w = workloadFor(s);
      for (const [j, d] of answer.dimensions.entries()) {
        const truth = [0, 1, 2].reduce(
          (acc, rd) => acc + w.groundTruth(0, rd)[j]! + w.groundTruth(1, rd)[j]!,
          0,
        );
        expect(d.total).toBe(truth);
      }
      expect(await ledger.service.verify()).toMatchObject({ ok: true });
    } finally {
      await fleet.close();
      for (const g of gateways) await g.close();
      await ledger.close();
      await broker.close();
    }
  }, 30_000);

  it('gateways hosted per index (gateway l of every IAN in one process): each on its own connection, rounds complete, metrics labelled', async () => {
    const s = spec(2, 800);
    const broker = await secureBroker(s);
    const rt = {
      spec: s,
      brokerUrl: broker.url,
      epochMs: Date.now() + 1500,
      logger: pino({ level: 'silent' }),
    };
    const ledger = await runLedger(rt);
    const groups = [];
    for (let l = 1; l <= 5; l++)
      groups.push(
        await runGateways(
          rt,
          [0, 1].map((ian) => ({ ian, gateway: l })),
          ledger.url,
        ),
      );
    const fleet = await runDevices(rt, allDevices(s));
    try {
      await ledger.finished;
      expect(ledger.statuses).toHaveLength(2 * 2);
      for (const st of ledger.statuses)
        expect(st, JSON.stringify(st)).toMatchObject({ status: 'complete', reasons: [] });
      const text = await (await fetch(`${groups[0]!.health.url}/metrics`)).text();
      expect(text).toContain('privagg_gateway_reports_accepted_total{ian="0",gateway="1"} 12');
      expect(text).toContain('privagg_gateway_reports_accepted_total{ian="1",gateway="1"} 12');
      const health = (await (await fetch(`${groups[0]!.health.url}/health`)).json()) as {
        gateways: { ian: number; gateway: number; lastRoundClosed: number }[];
      };
      expect(health.gateways.map((g) => [g.ian, g.gateway, g.lastRoundClosed])).toEqual([
        [0, 1, 1],
        [1, 1, 1],
      ]);
    } finally {
      await fleet.close();
      for (const g of groups) await g.close();
      await ledger.close();
      await broker.close();
    }
  }, 30_000);
});
