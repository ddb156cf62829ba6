import { createServer as createTlsServer } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { isPrivaggError } from '../../src/errors.js';
import { BrokerPolicy } from '../../src/net/brokerPolicy.js';
import { type EmbeddedBroker, startEmbeddedBroker } from '../../src/net/embeddedBroker.js';
import {
  checkBrokerUrl,
  connectMqtt,
  describeConnectError,
  type MqttClientLink,
} from '../../src/net/mqttClient.js';
import { topics } from '../../src/net/topics.js';
import { memoryLogger, waitFor } from './helpers.js';
import { DEP, sampleGrants, samplePki, samplePolicy } from './securityFixture.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

async function refusal(p: Promise<unknown>): Promise<Error> {
  try {
    const l = (await p) as MqttClientLink;
    await l.close();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a refusal');
}

describe('connectMqtt: credentials never in URLs', () => {
  it('refuses a URL with user information, without repeating the secret', async () => {
    const e = await refusal(
      connectMqtt('mqtts://gateway:s3cr3t-pw@127.0.0.1:8883', { clientId: 'x' }),
    );
    expect(isPrivaggError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect(e.message).toMatch(/carries credentials .* never go in URLs .*credential bundle/);
    expect(e.message).not.toContain('s3cr3t');
    expect(e.message).not.toContain('gateway:');
    // A user name alone is refused too, and so is a URL that does not parse.
    expect(() => checkBrokerUrl('mqtt://admin@127.0.0.1:1883')).toThrow(/carries credentials/);
    const bad = await refusal(connectMqtt('mqtt://u:p@[::1', { clientId: 'x' }));
    expect(bad.message).toMatch(/not a valid URL/);
    expect(bad.message).not.toContain('u:p');
  });

  it('refuses other schemes, paths, queries (a client id from the URL), and TLS material on mqtt://', () => {
    expect(checkBrokerUrl('mqtt://127.0.0.1:1883')).toBe(false);
    expect(checkBrokerUrl('mqtts://localhost:8883/')).toBe(true);
    for (const [url, why] of [
      ['ws://127.0.0.1:1883', /scheme ws: is not/],
      ['tcp://127.0.0.1:1883', /scheme tcp: is not/],
      ['mqtt://127.0.0.1:1883?clientId=dep.gw-0-1', /no path, query or fragment/],
      ['mqtt://127.0.0.1:1883/x', /no path, query or fragment/],
      ['mqtt://127.0.0.1:1883#f', /no path, query or fragment/],
    ] as const) {
      expect(() => checkBrokerUrl(url), url).toThrow(why);
    }
    const tls = samplePki().identity('dep.gw-0-1');
    expect(() => checkBrokerUrl('mqtt://127.0.0.1:1883', { tls })).toThrow(/use mqtts:/);
    expect(() => checkBrokerUrl('mqtt://127.0.0.1:1883', { password: 'pw' })).toThrow(
      /in clear .* use mqtts:/,
    );
  });

  it('sends username and password in CONNECT over TLS, from the options', async () => {
    const pki = samplePki();
    let first: (b: Buffer) => void = () => {};
    const connectPacket = new Promise<Buffer>((resolve) => {
      first = resolve;
    });
    // A TLS server that records the CONNECT and never answers.
    const server = createTlsServer({ cert: pki.broker.cert, key: pki.broker.key }, (s) =>
      s.once('data', first),
    );
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
    );
    open.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
    const attempt = connectMqtt(`mqtts://127.0.0.1:${port}`, {
      clientId: 'with-password',
      tls: { ca: pki.ca.certPem },
      username: 'dep.operator',
      password: 'pw-in-options',
      connectTimeoutMs: 500,
      logger: memoryLogger().logger,
    });
    const connect = await connectPacket;
    await expect(attempt).rejects.toThrow(/no CONNACK|connack timeout/);
    expect(connect[0]).toBe(0x10);
    expect(connect[9]! & 0xc0).toBe(0xc0); // user name and password flags
    expect(connect.includes(Buffer.from('dep.operator'))).toBe(true);
    expect(connect.includes(Buffer.from('pw-in-options'))).toBe(true);
  });
});

describe('connectMqtt: the first connection fails fast and says why', () => {
  it('names an unknown host', async () => {
    const started = Date.now();
    await expect(
      connectMqtt('mqtt://no-such-host.invalid:1883', {
        clientId: 'x',
        connectTimeoutMs: 8_000,
        logger: memoryLogger().logger,
      }),
    ).rejects.toThrow(/unreachable: host not found/);
    expect(Date.now() - started).toBeLessThan(7_000);
  });

  it('describes connection errors in words and tells transient from permanent', () => {
    const err = (code: string | number, message = 'm') =>
      Object.assign(new Error(message), { code });
    const d = (e: Error, tls = true) => describeConnectError(e, tls);
    expect(d(err('ECONNREFUSED'))).toMatchObject({
      permanent: false,
      reason: /connection refused/,
    });
    expect(d(err('ENOTFOUND')).reason).toMatch(/host not found/);
    expect(d(err('UNABLE_TO_VERIFY_LEAF_SIGNATURE'))).toMatchObject({
      permanent: true,
      reason:
        "TLS handshake failed: the broker's certificate is not signed by the deployment CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE)",
    });
    expect(d(err('ERR_TLS_CERT_ALTNAME_INVALID')).reason).toMatch(/not for this host/);
    expect(d(err('CERT_HAS_EXPIRED')).reason).toMatch(/expired/);
    expect(d(err('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'))).toMatchObject({
      permanent: true,
      reason: /broker refused this client's certificate/,
    });
    expect(d(err('ERR_SSL_WRONG_VERSION_NUMBER')).reason).toMatch(/does not speak TLS/);
    expect(d(err(5))).toMatchObject({
      permanent: true,
      reason: /not authorized \(.*\) \(CONNACK 5\)/,
    });
    expect(d(err(2)).reason).toMatch(/client id rejected/);
    expect(d(err(3)).permanent).toBe(false); // server unavailable: try again
    expect(d(err('ECONNRESET')).reason).toMatch(/TLS set-up/);
    expect(d(err('ECONNRESET'), false)).toEqual({ reason: 'm', permanent: false });
  });

  it('once connected, a client refused on reconnect keeps trying until it is let in', async () => {
    const pki = samplePki();
    const start = (policy: BrokerPolicy, port = 0) =>
      startEmbeddedBroker({ tls: pki.broker, policy, port });
    let b: EmbeddedBroker = await start(samplePolicy());
    const { port } = b;
    const { logger, lines } = memoryLogger();
    const gateway = await connectMqtt(b.url, {
      clientId: 'dep.gw-0-1',
      tls: pki.identity('dep.gw-0-1'),
      reconnectPeriodMs: 20,
      maxReconnectPeriodMs: 100,
      logger,
    });
    open.push(gateway);
    await gateway.subscribe(topics.gatewayReports(DEP, 0, 1), () => {});
    await b.close();
    // The broker comes back with a policy that no longer knows this gateway.
    const withoutGateway = new Map(sampleGrants());
    withoutGateway.delete('dep.gw-0-1');
    b = await start(new BrokerPolicy(DEP, 3, withoutGateway), port);
    await waitFor(() => b.stats().rejectedConnect >= 2, 'two refused reconnects');
    expect(gateway.connected).toBe(false);
    await b.close();
    b = await start(samplePolicy(), port);
    open.push(b);
    await gateway.waitConnected(5_000);
    expect(gateway.reconnects).toBe(1);
    const reasons = lines.map((l) => (l.obj as { reason?: string }).reason);
    expect(reasons).toContain(
      'the broker refused the connection: not authorized (unknown identity, or a certificate whose name or role the broker does not accept) (CONNACK 5)',
    );
  });
});
