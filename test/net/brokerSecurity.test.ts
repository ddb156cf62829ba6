import { connect as rawMqttConnect } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isPrivaggError } from '../../src/errors.js';
import { type EmbeddedBroker, startEmbeddedBroker } from '../../src/net/embeddedBroker.js';
import { connectMqtt, type MqttClientLink } from '../../src/net/mqttClient.js';
import { issueCertificate } from '../../src/net/pki.js';
import { topics } from '../../src/net/topics.js';
import { memoryLogger, waitFor } from './helpers.js';
import { DEP, type SamplePki, samplePki, samplePolicy, type TlsFiles } from './securityFixture.js';

/**
 * The embedded broker with TLS, client certificates and the broker policy: every test
 * tries an attack and shows the broker refuses it and counts it, and that honest
 * traffic still flows.
 */
let pki: SamplePki;
let b: EmbeddedBroker;
const brokerLog = memoryLogger();
const open: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  pki = samplePki();
  b = await startEmbeddedBroker({
    tls: pki.broker,
    policy: samplePolicy(),
    logger: brokerLog.logger,
  });
});
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});
afterAll(async () => {
  await b?.close();
});

async function as(name: string, extra: Partial<Parameters<typeof connectMqtt>[1]> = {}) {
  const l = await connectMqtt(b.url, {
    clientId: name,
    tls: pki.identity(name),
    logger: memoryLogger().logger,
    connectTimeoutMs: 5_000,
    ...extra,
  });
  open.push(l);
  return l;
}

function attempt(tls: Partial<TlsFiles> & { ca: string }, clientId: string, url = b.url) {
  return connectMqtt(url, {
    clientId,
    tls,
    logger: memoryLogger().logger,
    connectTimeoutMs: 5_000,
    reconnectPeriodMs: 50,
  }).then((l) => {
    open.push(l);
    return l;
  });
}

/** An MQTT.js client without privagg's link around it, connected as `name`. */
async function rawClient(name: string) {
  const tls = pki.identity(name);
  const client = rawMqttConnect(b.url, {
    clientId: name,
    protocolVersion: 4,
    reconnectPeriod: 0,
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
  });
  client.on('error', () => {});
  const messages: string[] = [];
  client.on('message', (topic) => messages.push(topic));
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  open.push({ close: () => new Promise<void>((r) => client.end(true, {}, () => r())) });
  return { client, messages };
}

/** Messages a link receives on a filter, in order. */
async function collect(link: MqttClientLink, filter: string) {
  const got: { topic: string; payload: string }[] = [];
  await link.subscribe(filter, (topic, p) => got.push({ topic, payload: p.toString() }));
  return got;
}

describe('embedded broker with TLS, client certificates and the broker policy', () => {
  it('listens on mqtts:// and refuses to start insecurely unless asked', async () => {
    expect(b.url).toBe(`mqtts://127.0.0.1:${b.port}`);
    const refused = async (o: Parameters<typeof startEmbeddedBroker>[0]) => {
      try {
        const x = await startEmbeddedBroker(o);
        await x.close();
        return false;
      } catch (e) {
        return isPrivaggError(e, 'INVALID_ARGUMENT');
      }
    };
    expect(await refused({})).toBe(true);
    expect(await refused({ tls: pki.broker })).toBe(true); // no policy
    expect(await refused({ policy: samplePolicy() })).toBe(true); // a policy needs TLS identities
    expect(await refused({ insecure: true, tls: pki.broker, policy: samplePolicy() })).toBe(true);
    const log = memoryLogger();
    const plain = await startEmbeddedBroker({ insecure: true, logger: log.logger });
    expect(plain.url).toMatch(/^mqtt:\/\//);
    await plain.close();
    expect(log.lines.some((l) => l.level === 'warn' && l.msg?.startsWith('INSECURE'))).toBe(true);
  });

  it('a client without a certificate cannot connect', async () => {
    const before = b.stats().rejectedHandshake;
    await expect(attempt({ ca: pki.ca.certPem }, 'dep.gw-0-1')).rejects.toThrow(
      /refused this client: TLS handshake failed: the broker refused this client's certificate \(ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED\)/,
    );
    await waitFor(
      () => b.stats().rejectedHandshake > before,
      'the handshake refusal to be counted',
    );
    expect(b.stats().clients).toBe(0);
  });

  it('a client whose certificate comes from another CA cannot connect', async () => {
    const before = b.stats().rejectedHandshake;
    const forged = pki.foreign('dep.gw-0-1', 'gateway');
    // Node's TLS server closes without an alert when it rejects a certificate it received.
    await expect(attempt(forged, 'dep.gw-0-1')).rejects.toThrow(
      /BROKER_REFUSED: .*refused this client: .*most likely it did not accept this client's certificate/,
    );
    await waitFor(
      () => b.stats().rejectedHandshake > before,
      'the handshake refusal to be counted',
    );
    expect(b.stats().clients).toBe(0);
  });

  it("a server-only certificate (the broker's own) is not a client certificate", async () => {
    const before = b.stats().rejectedHandshake;
    await expect(attempt(pki.broker, 'dep.broker')).rejects.toThrow(
      /BROKER_REFUSED: .*refused this client: .*most likely it did not accept this client's certificate/,
    );
    await waitFor(
      () => b.stats().rejectedHandshake > before,
      'the handshake refusal to be counted',
    );
  });

  it('a client id that is not the certificate CN is refused, and cannot kick the real session off', async () => {
    const gateway = await as('dep.gw-0-1');
    const reports = await collect(gateway, topics.gatewayReports(DEP, 0, 1));
    const before = b.stats().rejectedConnect;
    // A device fleet's host tries to take over the gateway's client id.
    await expect(attempt(pki.identity('dep.devices-0'), 'dep.gw-0-1')).rejects.toThrow(
      /refused this client: the broker refused the connection: client id rejected/,
    );
    expect(b.stats().rejectedConnect).toBe(before + 1);
    expect(gateway.connected).toBe(true);
    expect(gateway.reconnects).toBe(0);
    const devices = await as('dep.devices-0');
    await devices.publish(topics.deviceReport(DEP, 0, 1, 2), Buffer.from('r'));
    await waitFor(() => reports.length === 1, 'the report at the untouched gateway');
  });

  it('an identity without a grant, or with a role other than its grant, is refused', async () => {
    const before = b.stats().rejectedConnect;
    await expect(attempt(pki.issue('dep.stranger', 'gateway'), 'dep.stranger')).rejects.toThrow(
      /not authorized/,
    );
    // A certificate with a gateway's name but a device fleet's role.
    await expect(attempt(pki.issue('dep.gw-0-2', 'devices'), 'dep.gw-0-2')).rejects.toThrow(
      /not authorized/,
    );
    // With waitForBroker too: a refused identity is not a broker that is still starting.
    await expect(
      connectMqtt(b.url, {
        clientId: 'dep.stranger',
        tls: pki.issue('dep.stranger', 'oem'),
        waitForBroker: true,
        logger: memoryLogger().logger,
      }),
    ).rejects.toThrow(/refused this client.*not authorized/);
    expect(b.stats().rejectedConnect).toBe(before + 3);
    expect(
      brokerLog.lines.some(
        (l) => l.msg === 'MQTT CONNECT refused: identity unknown to the broker policy',
      ),
    ).toBe(true);
  });

  it("a device fleet publishing another fleet's device is acknowledged, dropped and counted", async () => {
    const gateway = await as('dep.gw-0-1');
    const reports = await collect(gateway, topics.gatewayReports(DEP, 0, 1));
    const rogue = await as('dep.devices-1'); // owns IAN 1 device 0 only
    const honest = await as('dep.devices-0');
    const before = b.stats().rejectedPublish;
    await rogue.publish(topics.deviceReport(DEP, 0, 1, 0), Buffer.from('forged as device 0'));
    await rogue.publish(topics.deviceReport(DEP, 0, 1, 0), Buffer.from('again'), { retain: true });
    expect(b.stats().rejectedPublish).toBe(before + 2);
    expect(rogue.connected).toBe(true); // acknowledged, not disconnected
    // A permitted sentinel sent after the refused ones arrives; the refused ones never do.
    await honest.publish(topics.deviceReport(DEP, 0, 1, 0), Buffer.from('sentinel'));
    await waitFor(() => reports.length > 0, 'the sentinel');
    expect(reports).toEqual([{ topic: topics.deviceReport(DEP, 0, 1, 0), payload: 'sentinel' }]);
    // Nothing was retained: a new subscriber on the same filter gets nothing old.
    await gateway.close();
    const late = await as('dep.gw-0-1');
    const lateReports = await collect(late, topics.gatewayReports(DEP, 0, 1));
    await honest.publish(topics.deviceReport(DEP, 0, 1, 1), Buffer.from('sentinel-2'));
    await waitFor(() => lateReports.length > 0, 'the second sentinel');
    expect(lateReports.map((r) => r.payload)).toEqual(['sentinel-2']);
  });

  it('subscribing # , another gateway’s reports or a wildcard is refused (0x80) and counted', async () => {
    const devices = await as('dep.devices-0');
    const gateway = await as('dep.gw-0-2');
    const before = b.stats().rejectedSubscribe;
    for (const [link, filter] of [
      [devices, '#'],
      [devices, topics.all(DEP)],
      [devices, topics.gatewayReports(DEP, 0, 1)],
      [gateway, topics.gatewayReports(DEP, 0, 1)],
      [gateway, 'privagg/v1/dep/ian/0/gw/+/reports/+'],
      [gateway, '$SYS/#'],
    ] as const) {
      await expect(
        link.subscribe(filter, () => {}),
        filter,
      ).rejects.toThrow(/refused by broker/);
    }
    expect(b.stats().rejectedSubscribe).toBe(before + 6);
    // A refused subscription delivers nothing: watched below the link, on the raw client.
    const mine = await collect(gateway, topics.gatewayReports(DEP, 0, 2));
    const nosy = await rawClient('dep.devices-1');
    const granted = await new Promise<number[]>((resolve) =>
      nosy.client.subscribe(['#', topics.gatewayReports(DEP, 0, 1)], { qos: 1 }, (err, g) =>
        // MQTT.js turns failure codes into an error carrying the SUBACK.
        resolve(
          (err as { packet?: { granted: number[] } } | null)?.packet?.granted ??
            (g ?? []).map((x) => x.qos),
        ),
      ),
    );
    expect(granted).toEqual([128, 128]);
    await devices.publish(topics.deviceReport(DEP, 0, 1, 0), Buffer.from('for gw 1'));
    await devices.publish(topics.deviceReport(DEP, 0, 2, 0), Buffer.from('for gw 2'));
    await waitFor(() => mine.length === 1, 'the report for gateway 2');
    expect(mine[0]!.payload).toBe('for gw 2');
    expect(nosy.messages).toEqual([]);
  });

  it('a gateway cannot publish control messages; the ledger can', async () => {
    const listener = await as('dep.gw-0-2');
    const reconciles = await collect(listener, topics.reconcile(DEP, 0));
    const epochs = await collect(listener, topics.epoch(DEP));
    const gateway = await as('dep.gw-0-1');
    const ledger = await as('dep.ledger');
    const before = b.stats().rejectedPublish;
    await gateway.publish(topics.reconcile(DEP, 0), Buffer.from('forged reconcile'));
    await gateway.publish(topics.epoch(DEP), Buffer.from('forged epoch'), { retain: true });
    await gateway.publish(topics.outcome(DEP, 0), Buffer.from('forged outcome'));
    expect(b.stats().rejectedPublish).toBe(before + 3);
    await ledger.publish(topics.reconcile(DEP, 0), Buffer.from('real reconcile'));
    await ledger.publish(topics.epoch(DEP), Buffer.from('real epoch'), { retain: true });
    await waitFor(() => reconciles.length === 1 && epochs.length === 1, 'the ledger’s messages');
    expect(reconciles.map((m) => m.payload)).toEqual(['real reconcile']);
    expect(epochs.map((m) => m.payload)).toEqual(['real epoch']);
    // The retained epoch is the ledger's, and a late subscriber gets it.
    const device = await as('dep.devices-1');
    const retained = await collect(device, topics.epoch(DEP));
    await waitFor(() => retained.length === 1, 'the retained epoch');
    expect(retained[0]!.payload).toBe('real epoch');
  });

  it('each gateway receives exactly its own devices’ reports', async () => {
    const gw1 = await as('dep.gw-0-1');
    const gw2 = await as('dep.gw-0-2');
    const gwOther = await as('dep.gw-1-1');
    const r1 = await collect(gw1, topics.gatewayReports(DEP, 0, 1));
    const r2 = await collect(gw2, topics.gatewayReports(DEP, 0, 2));
    const rOther = await collect(gwOther, topics.gatewayReports(DEP, 1, 1));
    const fleet0 = await as('dep.devices-0');
    const fleet1 = await as('dep.devices-1');
    for (const i of [0, 1, 2]) {
      await fleet0.publish(topics.deviceReport(DEP, 0, 1, i), Buffer.from(`d${i}→1`));
      await fleet0.publish(topics.deviceReport(DEP, 0, 2, i), Buffer.from(`d${i}→2`));
    }
    await fleet1.publish(topics.deviceReport(DEP, 1, 1, 0), Buffer.from('ian1 d0→1'));
    await waitFor(
      () => r1.length === 3 && r2.length === 3 && rOther.length === 1,
      'every report at its gateway',
    );
    expect(r1.map((m) => [topics.deviceOfReportTopic(m.topic), m.payload])).toEqual([
      [0, 'd0→1'],
      [1, 'd1→1'],
      [2, 'd2→1'],
    ]);
    expect(r2.map((m) => m.payload)).toEqual(['d0→2', 'd1→2', 'd2→2']);
    expect(rOther.map((m) => m.payload)).toEqual(['ian1 d0→1']);
  });

  it('the packet-size guard works on the decrypted stream', async () => {
    const before = b.stats().rejectedOversized;
    // A client without connectMqtt's own size check.
    const { client: rogue } = await rawClient('dep.devices-0');
    rogue.publish(topics.deviceReport(DEP, 0, 1, 0), Buffer.alloc(1024 * 1024), { qos: 1 });
    await waitFor(() => b.stats().rejectedOversized === before + 1, 'the rogue to be dropped');
    await waitFor(() => !rogue.connected, 'the rogue connection to close');
  });

  it('a plaintext client on the TLS port fails fast, and is counted', async () => {
    const before = b.stats().rejectedHandshake;
    const started = Date.now();
    await expect(
      connectMqtt(`mqtt://127.0.0.1:${b.port}`, {
        clientId: 'dep.gw-0-1',
        logger: memoryLogger().logger,
        connectTimeoutMs: 5_000,
      }),
    ).rejects.toThrow(/unreachable/);
    expect(Date.now() - started).toBeLessThan(3_000);
    await waitFor(
      () => b.stats().rejectedHandshake > before,
      'the handshake refusal to be counted',
    );
  });

  it('the client refuses a broker whose certificate is from another CA or for another host', async () => {
    const impostor = await startEmbeddedBroker({
      tls: {
        ca: pki.ca.certPem,
        ...(() => {
          const c = issueCertificate(pki.foreignCa, {
            commonName: 'dep.broker',
            role: 'broker',
            server: { dns: ['localhost'], ips: ['127.0.0.1'] },
          });
          return { cert: c.certPem, key: c.keyPem };
        })(),
      },
      policy: samplePolicy(),
    });
    open.push(impostor);
    await expect(attempt(pki.identity('dep.gw-0-1'), 'dep.gw-0-1', impostor.url)).rejects.toThrow(
      /refused this client: TLS handshake failed: the broker's certificate is not signed by the deployment CA/,
    );
    const elsewhere = issueCertificate(pki.ca, {
      commonName: 'dep.broker',
      role: 'broker',
      server: { dns: ['broker.example'], ips: [] },
    });
    const misnamed = await startEmbeddedBroker({
      tls: { ca: pki.ca.certPem, cert: elsewhere.certPem, key: elsewhere.keyPem },
      policy: samplePolicy(),
    });
    open.push(misnamed);
    await expect(attempt(pki.identity('dep.gw-0-1'), 'dep.gw-0-1', misnamed.url)).rejects.toThrow(
      /TLS handshake failed: the broker's certificate is not for this host/,
    );
  });
});
