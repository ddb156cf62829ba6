import { once } from 'node:events';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedLedger } from '../../../src/ledger/embeddedLedger.js';
import { PartialAccepted } from '../../../src/ledger/http/schemas.js';
import {
  buildLedgerApi,
  type LedgerApiServer,
  startLedgerApi,
} from '../../../src/ledger/http/server.js';
import { createCertificateAuthority, issueCertificate } from '../../../src/net/pki.js';
import {
  captureLogs,
  type LogLine,
  openTestLedger,
  queryBytes,
  roundPartials,
  T0,
  type TestLedger,
  testDeployment,
} from './fixtures.js';
import { httpsCall, type TestPki, testPki } from './tls.js';

/**
 * Finding 4 and 7: every endpoint was open to anyone who reached the port. Now each takes
 * only the roles its table names, read from the caller's client certificate before the
 * body is read; gateways and OEMs are bound to their own messages.
 */
describe('the ledger API is secure by default', () => {
  it('refuses to be built without TLS unless insecure is explicit, and refuses both', async () => {
    const { ledger, dispose } = openTestLedger(testDeployment());
    try {
      expect(() => buildLedgerApi(ledger, { logger: false })).toThrowError(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
      expect(() =>
        buildLedgerApi(ledger, {
          logger: false,
          insecure: true,
          tls: { ca: 'x', cert: 'y', key: 'z' },
        }),
      ).toThrowError(/choose one/);
    } finally {
      await dispose();
    }
  });
});

describe('HTTPS with client certificates: roles and identities', () => {
  const dep = testDeployment();
  const name = dep.params.deployment;
  let pki: TestPki;
  let opened: TestLedger;
  let ledger: EmbeddedLedger;
  let server: LedgerApiServer;
  let lines: LogLine[];
  let epochs: number[];
  beforeAll(async () => {
    pki = testPki(name);
    opened = openTestLedger(dep, { clock: () => T0, batchSize: 1 });
    ledger = opened.ledger;
    const logs = captureLogs();
    lines = logs.lines;
    epochs = [];
    server = await startLedgerApi(ledger, {
      logger: logs.logger,
      tls: pki.ledgerTls,
      rounds: { current: () => 10 },
      control: {
        async startEpoch(epochMs) {
          epochs.push(epochMs);
        },
      },
    });
  }, 30_000);
  afterAll(async () => {
    await server.close();
    await opened.dispose();
  });

  const as = (cn: string, role: string) => pki.client(`${name}.${cn}`, role);
  const call = (
    path: string,
    client: ReturnType<typeof as> | undefined,
    o: { body?: Buffer | string; contentType?: string; announce?: number } = {},
  ) =>
    httpsCall(`${server.url}${path}`, { ca: pki.ca.certPem, ...(client ? { client } : {}), ...o });
  const json = (v: unknown) => ({ body: JSON.stringify(v), contentType: 'application/json' });
  const state = () => ({
    height: ledger.height(),
    pending: ledger.health().pendingTransactions,
    accepted: ledger.counters().partialsAccepted,
    answered: ledger.counters().queriesAnswered,
  });

  it('a caller without a certificate, or with one from another CA, is refused by TLS', async () => {
    const before = state();
    await expect(call('/v1/health', undefined)).rejects.toThrow();
    const otherCa = createCertificateAuthority({ commonName: 'intruder.ca' });
    const intruder = issueCertificate(otherCa, {
      commonName: `${name}.operator`,
      role: 'operator',
    });
    await expect(call('/v1/restore', intruder, json({ ian: 0, round: 0 }))).rejects.toThrow();
    expect(state()).toEqual(before);
  });

  it('each route takes only its roles: 403 ACCESS_DENIED, logged once, nothing changed', async () => {
    const gw = as('gw-0-1', 'gateway');
    const oem = as('oem-0', 'oem');
    const operator = as('operator', 'operator');
    const auditor = as('auditor', 'auditor');
    const devices = as('devices-0', 'devices');
    const partial = roundPartials(dep, 0, 0)[0]!;
    const cases: [string, string, ReturnType<typeof as>, Parameters<typeof call>[2]][] = [
      ['/v1/partials', 'oem', oem, { body: partial }],
      ['/v1/partials', 'operator', operator, { body: partial }],
      ['/v1/queries', 'gateway', gw, { body: queryBytes(dep, 0) }],
      ['/v1/restore', 'gateway', gw, json({ ian: 0, round: 0 })],
      ['/v1/restore', 'auditor', auditor, json({ ian: 0, round: 0 })],
      ['/v1/restore', 'oem', oem, json({ ian: 0, round: 0 })],
      ['/v1/epoch', 'auditor', auditor, json({ epochMs: T0 })],
      ['/v1/blocks', 'gateway', gw, {}],
      ['/v1/blocks/0', 'oem', oem, {}],
      ['/v1/verify', 'gateway', gw, {}],
      ['/v1/head', 'devices', devices, {}],
      ['/metrics', 'gateway', gw, {}],
      ['/metrics', 'oem', oem, {}],
    ];
    for (const [path, role, client, o] of cases) {
      const before = state();
      const logged = lines.length;
      const res = await call(path, client, o);
      expect(res.status, `${path} as ${role}`).toBe(403);
      expect(res.json()).toMatchObject({ ok: false, code: 'ACCESS_DENIED' });
      const newLines = lines.slice(logged);
      expect(newLines).toHaveLength(1);
      expect(newLines[0]).toMatchObject({ code: 'ACCESS_DENIED', status: 403 });
      expect(state()).toEqual(before);
    }
    expect(epochs).toEqual([]);

    // And the roles that may: no refusal.
    for (const [path, client] of [
      ['/v1/blocks', auditor],
      ['/v1/blocks', operator],
      ['/v1/verify', auditor],
      ['/v1/head', gw],
      ['/v1/head', oem],
      ['/metrics', operator],
      ['/metrics', auditor],
      ['/v1/health', devices],
      ['/v1/health', oem],
    ] as const) {
      expect((await call(path, client)).status, `${path}`).toBe(200);
    }
    const epoch = await call('/v1/epoch', operator, json({ epochMs: T0 + 5000 }));
    expect(epoch.status).toBe(200);
    expect(epochs).toEqual([T0 + 5000]);
  });

  it('a certificate naming no identity of this deployment is refused', async () => {
    for (const [cn, role] of [
      ['other-deployment.operator', 'operator'], // another deployment's name
      [`${name}.gw-0-1`, 'oem'], // a name whose role is not its OU
      [`${name}.operator`, 'auditor'],
      [`${name}.gw-0-0`, 'gateway'], // gateway indices start at 1
      [`${name}.root`, 'operator'],
    ] as const) {
      const res = await call('/v1/health', pki.client(cn, role));
      expect(res.status, cn).toBe(403);
      expect(res.json()).toMatchObject({ code: 'ACCESS_DENIED' });
    }
  });

  it('a gateway posts only its own partials, an OEM only its own queries', async () => {
    const partials = roundPartials(dep, 1, 0);
    const before = state();
    // Gateway 1 of IAN 1 posting gateway 2's partial; gateway 1 of IAN 0 posting IAN 1's.
    for (const client of [as('gw-1-1', 'gateway'), as('gw-0-2', 'gateway')]) {
      const res = await call('/v1/partials', client, { body: partials[1]! });
      expect(res.status).toBe(403);
      expect(res.json()).toMatchObject({ code: 'ACCESS_DENIED' });
    }
    expect(state()).toEqual(before);
    const own = await call('/v1/partials', as('gw-1-2', 'gateway'), { body: partials[1]! });
    expect(own.status).toBe(202);
    expect(PartialAccepted.parse(own.json())).toMatchObject({ ian: 1, gateway: 2 });

    const q = await call('/v1/queries', as('oem-1', 'oem'), { body: queryBytes(dep, 0) });
    expect(q.status).toBe(403);
    expect(q.json()).toMatchObject({ code: 'ACCESS_DENIED' });
    // A partial for a round far past the clock's: refused before any cryptography.
    const gws = [1, 2, 3, 4, 5].map((l) => dep.gateway(0, l));
    for (const g of gws) g.beginRound(5000);
    const future = gws[0]!.closeRound(T0).partial;
    const res = await call('/v1/partials', as('gw-0-1', 'gateway'), { body: future });
    expect(res.status).toBe(422);
    expect(res.json()).toMatchObject({ code: 'WRONG_ROUND' });
  });

  it('refusals come before the body: a role refusal and an oversized body are answered from the headers', async () => {
    const before = state();
    const start = Buffer.alloc(1024);
    // 0.5 MB announced, 1 KiB sent, never finished: the answer cannot have waited for it.
    const denied = await call('/v1/partials', as('oem-0', 'oem'), {
      body: start,
      announce: 512 * 1024,
    });
    expect(denied.status).toBe(403);
    const oversized = await call('/v1/partials', as('gw-0-1', 'gateway'), {
      body: start,
      announce: 512 * 1024,
    });
    expect(oversized.status).toBe(413);
    expect(oversized.json()).toMatchObject({ code: 'OVERSIZED_MESSAGE' });
    expect(state()).toEqual(before);
  });

  it('identifies the caller once per connection, and refuses TLS renegotiation on it', async () => {
    // Two requests on one kept-alive connection as the OEM: both identified (the second
    // from the per-socket cache) and answered alike.
    const oem = as('oem-0', 'oem');
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: Number(new URL(server.url).port),
      ca: pki.ca.certPem,
      cert: oem.certPem,
      key: oem.keyPem,
      servername: 'localhost',
      maxVersion: 'TLSv1.2',
    });
    await once(socket, 'secureConnect');
    const exchange = async () => {
      socket.write('GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n');
      const [chunk] = (await once(socket, 'data')) as [Buffer];
      return chunk.toString('latin1').split('\r\n')[0];
    };
    expect(await exchange()).toBe('HTTP/1.1 200 OK');
    expect(await exchange()).toBe('HTTP/1.1 200 OK');
    // A renegotiation (which could present another certificate) ends the connection.
    const outcome = await new Promise<string>((resolve) => {
      socket.once('close', () => resolve('closed'));
      socket.once('error', () => resolve('closed'));
      const started = socket.renegotiate({ rejectUnauthorized: true }, (err) =>
        resolve(err ? 'closed' : 'renegotiated'),
      );
      if (!started) resolve('closed');
    });
    socket.destroy();
    expect(outcome).toBe('closed');
  });
});
