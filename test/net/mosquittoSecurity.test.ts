import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/net/freePort.js';
import { mosquittoAcl, writeMosquittoFiles } from '../../src/net/mosquittoConfig.js';
import { connectMqtt, type MqttClientLink } from '../../src/net/mqttClient.js';
import { topics } from '../../src/net/topics.js';
import { memoryLogger, waitFor } from './helpers.js';
import { DEP, type SamplePki, samplePki, samplePolicy, type TlsFiles } from './securityFixture.js';

/**
 * A real Mosquitto, started by this test with the configuration privagg generates (TLS,
 * client certificates, identity = username = client id, the ACL of the broker policy)
 * on a free port, and the same attacks as against the embedded broker.
 *
 * Mosquitto 2.0 acknowledges and silently drops an unauthorized QoS 1 PUBLISH, and grants
 * every SUBSCRIBE but delivers only what the subscriber may read. So "not delivered" is
 * shown with a sentinel: the forbidden message goes first, then a permitted one (on the
 * same connection where the publisher may publish anything; otherwise from another
 * client once the forbidden one is acknowledged — Mosquitto queues a message to every
 * subscriber before its PUBACK, and each subscriber's queue is in order). The subscriber
 * must get the sentinel and not the forbidden message.
 */
const MOSQUITTO = '/usr/sbin/mosquitto';
const present = existsSync(MOSQUITTO);
if (!present) {
  console.warn(
    `SKIPPED test/net/mosquittoSecurity.test.ts: ${MOSQUITTO} is not installed (Debian/Ubuntu: apt-get install mosquitto)`,
  );
}

let pki: SamplePki;
let dir: string;
let url: string;
let broker: ChildProcess | undefined;
let brokerStderr = '';
const open: { close(): Promise<void> }[] = [];

/** When this test runs as root, Mosquitto drops to its own user before reading its files. */
function ownerForMosquitto(): { owner?: { uid: number; gid: number }; user?: string } {
  if (process.getuid?.() !== 0) return {};
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'mosquitto']).toString().trim());
    return { owner: { uid: id('-u'), gid: id('-g') }, user: 'mosquitto' };
  } catch {
    return { user: 'root' }; // no mosquitto user: let it keep root rather than fail to read
  }
}

/** Resolves once something accepts TCP on the port; rejects if the broker exits first. */
async function waitUntilAccepting(port: number, child: ChildProcess, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`mosquitto exited with ${child.exitCode} before listening: ${brokerStderr}`);
    }
    const accepted = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (accepted) return;
    if (Date.now() > until)
      throw new Error(
        `mosquitto did not listen on ${port} within ${timeoutMs} ms: ${brokerStderr}`,
      );
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  if (!present) return;
  pki = samplePki();
  dir = mkdtempSync(join(tmpdir(), 'privagg-mosquitto-'));
  const port = await freePort();
  const files = writeMosquittoFiles(dir, {
    policy: samplePolicy(),
    tls: pki.broker,
    port,
    ...ownerForMosquitto(),
  });
  broker = spawn(MOSQUITTO, ['-c', files.confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  broker.stderr!.on('data', (b: Buffer) => {
    brokerStderr = (brokerStderr + b.toString()).slice(-4_000);
  });
  await waitUntilAccepting(port, broker, 10_000);
  url = `mqtts://127.0.0.1:${port}`;
});

afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

afterAll(async () => {
  if (broker && broker.exitCode === null && broker.pid !== undefined) {
    const exited = new Promise((r) => broker!.once('exit', r));
    process.kill(broker.pid, 'SIGTERM');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function as(name: string, clientId = name): Promise<MqttClientLink> {
  return attempt(pki.identity(name), clientId);
}

async function attempt(tls: Partial<TlsFiles> & { ca: string }, clientId: string) {
  const l = await connectMqtt(url, {
    clientId,
    tls,
    logger: memoryLogger().logger,
    connectTimeoutMs: 5_000,
  });
  open.push(l);
  return l;
}

async function collect(link: MqttClientLink, filter: string) {
  const got: { topic: string; payload: string }[] = [];
  await link.subscribe(filter, (topic, p) => got.push({ topic, payload: p.toString() }));
  return got;
}

describe.skipIf(!present)('Mosquitto 2.0 with the generated TLS and ACL configuration', () => {
  it('the generated ACL is what Mosquitto runs with (sanity)', () => {
    expect(readFileSync(join(dir, 'acl'), 'utf8')).toBe(mosquittoAcl(samplePolicy()));
    expect(readFileSync(join(dir, 'mosquitto.conf'), 'utf8')).toMatch(/require_certificate true/);
  });

  it('refuses a client without a certificate, one from another CA, and plaintext', async () => {
    await expect(attempt({ ca: pki.ca.certPem }, 'dep.gw-0-1')).rejects.toThrow(
      /refused this client: TLS handshake failed: the broker refused this client's certificate/,
    );
    await expect(attempt(pki.foreign('dep.gw-0-1', 'gateway'), 'dep.gw-0-1')).rejects.toThrow(
      /refused this client: TLS handshake failed: the broker refused this client's certificate/,
    );
    await expect(
      connectMqtt(url.replace('mqtts:', 'mqtt:'), {
        clientId: 'dep.gw-0-1',
        logger: memoryLogger().logger,
        connectTimeoutMs: 5_000,
      }),
    ).rejects.toThrow(/unreachable/);
  });

  it('binds client ids to certificates: a chosen client id cannot kick a gateway off', async () => {
    const gateway = await as('dep.gw-0-1');
    const reports = await collect(gateway, topics.gatewayReports(DEP, 0, 1));
    // The fleet's certificate with the gateway's client id: Mosquitto uses the CN instead.
    const impostor = await as('dep.devices-0', 'dep.gw-0-1');
    await impostor.publish(topics.deviceReport(DEP, 0, 1, 1), Buffer.from('as devices-0'));
    await waitFor(() => reports.length === 1, 'the report');
    expect(gateway.connected).toBe(true);
    expect(gateway.reconnects).toBe(0);
    expect(reports[0]!.payload).toBe('as devices-0');
  });

  it("a device fleet cannot publish another device's report; the gateway gets its own devices'", async () => {
    const gateway = await as('dep.gw-0-1');
    const reports = await collect(gateway, topics.gatewayReports(DEP, 0, 1));
    const fleet = await as('dep.devices-0'); // IAN 0 devices 0, 1, 2
    await fleet.publish(topics.deviceReport(DEP, 0, 1, 5), Buffer.from('forged device 5'));
    await fleet.publish(topics.deviceReport(DEP, 0, 4, 0), Buffer.from('gateway 4 of 3'));
    await fleet.publish(topics.epoch(DEP), Buffer.from('forged epoch'), { retain: true });
    await fleet.publish(topics.deviceReport(DEP, 0, 1, 2), Buffer.from('sentinel'));
    await waitFor(() => reports.length > 0, 'the sentinel');
    expect(reports).toEqual([{ topic: topics.deviceReport(DEP, 0, 1, 2), payload: 'sentinel' }]);
  });

  it('subscribing # or another gateway’s reports yields nothing one may not read', async () => {
    const nosyFleet = await as('dep.devices-1');
    const nosyGateway = await as('dep.gw-0-2');
    const fleetSaw = await collect(nosyFleet, '#');
    const gatewaySaw = await collect(nosyGateway, topics.gatewayReports(DEP, 0, 1));
    const gatewayOutcomes = await collect(nosyGateway, topics.outcome(DEP, 0));
    const fleet = await as('dep.devices-0');
    const ledger = await as('dep.ledger');
    await fleet.publish(topics.deviceReport(DEP, 0, 1, 0), Buffer.from('for gateway 1 only'));
    // Sentinels each reader may read, published after the report was acknowledged.
    await ledger.publish(topics.outcome(DEP, 1), Buffer.from('outcome 1'));
    await ledger.publish(topics.outcome(DEP, 0), Buffer.from('outcome 0'));
    await waitFor(
      () => fleetSaw.length > 0 && gatewayOutcomes.length > 0,
      'the sentinels at both readers',
    );
    expect(fleetSaw).toEqual([{ topic: topics.outcome(DEP, 1), payload: 'outcome 1' }]);
    expect(gatewaySaw).toEqual([]);
    expect(gatewayOutcomes.map((m) => m.payload)).toEqual(['outcome 0']);
  });

  it('a gateway cannot publish control messages; the ledger can, and its retained epoch stays', async () => {
    const listener = await as('dep.gw-0-2');
    const reconciles = await collect(listener, topics.reconcile(DEP, 0));
    const gateway = await as('dep.gw-0-1');
    const ledger = await as('dep.ledger');
    await ledger.publish(topics.epoch(DEP), Buffer.from('real epoch'), { retain: true });
    await gateway.publish(topics.reconcile(DEP, 0), Buffer.from('forged reconcile'));
    await gateway.publish(topics.epoch(DEP), Buffer.from('forged epoch'), { retain: true });
    await ledger.publish(topics.reconcile(DEP, 0), Buffer.from('real reconcile'));
    await waitFor(() => reconciles.length > 0, 'the real reconcile');
    expect(reconciles.map((m) => m.payload)).toEqual(['real reconcile']);
    const late = await as('dep.oem-1');
    const epochs = await collect(late, topics.epoch(DEP));
    await waitFor(() => epochs.length > 0, 'the retained epoch');
    expect(epochs.map((m) => m.payload)).toEqual(['real epoch']);
  });

  it('an identity the policy does not know connects but can neither read nor write', async () => {
    const stranger = await attempt(pki.issue('dep.stranger', 'oem'), 'dep.stranger');
    const strangerSaw = await collect(stranger, '#');
    const oem = await as('dep.oem-1');
    const oemSaw = await collect(oem, topics.outcome(DEP, 0));
    await stranger.publish(topics.outcome(DEP, 0), Buffer.from('forged outcome'));
    const ledger = await as('dep.ledger');
    await ledger.publish(topics.outcome(DEP, 0), Buffer.from('real outcome'));
    await waitFor(() => oemSaw.length > 0, 'the real outcome at the OEM');
    expect(oemSaw.map((m) => m.payload)).toEqual(['real outcome']);
    expect(strangerSaw).toEqual([]);
  });
});
