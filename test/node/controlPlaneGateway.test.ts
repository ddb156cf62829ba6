import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ed25519PrivateKey, ed25519Sign } from '../../src/crypto/ed25519.js';
import { exportRawPrivate, exportRawPublic } from '../../src/crypto/rawKeys.js';
import { seededRandom, systemRandom } from '../../src/math/random.js';
import { topics } from '../../src/net/topics.js';
import { signControl } from '../../src/node/controlPlane.js';
import { type CompromisedGateway, GatewayService } from '../../src/node/gatewayService.js';
import { RoundClock } from '../../src/node/roundClock.js';
import { createMaasDeployment } from '../../src/schemes/maas/deployment.js';
import { defaultMaasParams } from '../../src/schemes/maas/params.js';
import { type ControlBodies, controlSigningInput } from '../../src/wire/control.js';
import { decodeGatewayPartial } from '../../src/wire/maas.js';
import { waitFor } from '../net/helpers.js';
import { fakeLink, settle } from './controlPlaneFixtures.js';

/**
 * Findings 1 and 2 of issue 9 at the service: one anonymous reconcile request (attempt
 * 256 or −1) ended every gateway process, and any subset could be re-summed on request.
 * Here a GatewayService (fake MQTT link, a real HTTP endpoint that records what the
 * gateway posts) is fed every kind of bad request: each is refused with its code, nothing
 * is posted, the process stays up, and the honest signed request is still answered.
 */
const DEP = 'cp-gw';
const N = 6;
const ledgerKeys = generateKeyPairSync('ed25519');
const otherKeys = generateKeyPairSync('ed25519');
const params = defaultMaasParams({
  deployment: DEP,
  ians: 2,
  devicesPerIan: N,
  gateways: 5,
  threshold: 3,
  dimensions: ['a'],
  maxReading: [9],
  ldp: null,
});
const dep = createMaasDeployment(params, { oems: [], registeredAtMs: Date.now() });

let server: Server;
let ledgerUrl = '';
const posted: Buffer[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posted.push(Buffer.concat(chunks));
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  ledgerUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** Gateway 1 of IAN 0, its round 0 already closed with every device (early close). */
async function closedGateway(compromised?: CompromisedGateway) {
  const f = fakeLink();
  // Round 0 began a moment ago: the gateway opens it at start (it has not joined late).
  const clock = new RoundClock(Date.now() - 10, 60_000);
  const svc = new GatewayService({
    key: dep.registry.gatewayKey(0, 1),
    params,
    link: f.link,
    ledgerUrl,
    ledgerPublicKey: exportRawPublic(ledgerKeys.publicKey),
    clock,
    logger: pino({ level: 'silent' }),
    ...(compromised ? { compromised } : {}),
  });
  await svc.start();
  const before = posted.length;
  for (let i = 0; i < N; i++) {
    const m = dep.device(0, i).report(0, [i + 1], Date.now(), systemRandom);
    f.deliver(topics.deviceReport(DEP, 0, 1, i), m.find((x) => x.gateway === 1)!.bytes);
  }
  expect(svc.lastRoundClosed).toBe(0);
  await waitFor(() => posted.length === before + 1, 'the round-0 partial');
  const request = (body: Partial<ControlBodies['reconcile']> = {}, key = ledgerKeys.privateKey) =>
    signControl(
      'reconcile',
      {
        deployment: DEP,
        epochMs: clock.epochMs,
        ian: 0,
        round: 0,
        attempt: 1,
        rosterSize: N,
        gatewayCount: 5,
        contributors: [0, 1, 2, 3],
        gateways: [1, 2, 3],
        ...body,
      },
      key,
    );
  const reconcile = (bytes: Uint8Array) => f.deliver(topics.reconcile(DEP, 0), bytes);
  return { svc, f, clock, request, reconcile };
}

/** Every crash a handler could cause shows up here instead of passing silently. */
function crashWatch() {
  const seen: unknown[] = [];
  const on = (e: unknown) => seen.push(e);
  process.on('uncaughtException', on);
  process.on('unhandledRejection', on);
  return {
    seen,
    stop: () => {
      process.off('uncaughtException', on);
      process.off('unhandledRejection', on);
    },
  };
}

describe('GatewayService: reconcile requests are verified before anything is re-summed', () => {
  it('every bad request is refused with its code, nothing is posted, the process stays up; the honest one is answered once', async () => {
    const crashes = crashWatch();
    try {
      const { svc, clock, request, reconcile } = await closedGateway();
      const base = posted.length;
      const resign = (bytes: Buffer) => {
        const body = bytes.subarray(0, bytes.length - 64);
        const key = ed25519PrivateKey(exportRawPrivate(ledgerKeys.privateKey));
        return Buffer.concat([body, ed25519Sign(key, controlSigningInput(body))]);
      };
      const attemptZero = Buffer.from(request());
      attemptZero[48] = 0;
      const unsigned = Buffer.from(request());
      unsigned.fill(0, unsigned.length - 64);
      const random = Buffer.alloc(200);
      seededRandom('garbage').fill(random);
      const cases: [string, Uint8Array, string][] = [
        [
          'the original attack: JSON, attempt 256',
          Buffer.from('{"round":0,"attempt":256,"contributors":[0,1],"gateways":[1,2,3,4,5]}'),
          'UNSUPPORTED_VERSION',
        ],
        [
          'the original attack: JSON, attempt −1',
          Buffer.from('{"round":0,"attempt":-1,"contributors":[0,1],"gateways":[1,2,3,4,5]}'),
          'UNSUPPORTED_VERSION',
        ],
        ['empty', Buffer.alloc(0), 'MALFORMED_MESSAGE'],
        [
          'garbage of an unknown kind',
          Buffer.concat([Buffer.from([1, 9]), random]),
          'MALFORMED_MESSAGE',
        ],
        ['garbage', random, 'UNSUPPORTED_VERSION'],
        ['huge', Buffer.alloc(2 * 1024 * 1024, 1), 'OVERSIZED_MESSAGE'],
        ['truncated (no signature)', request().subarray(0, 60), 'MALFORMED_MESSAGE'],
        ['unsigned (zero signature)', unsigned, 'BAD_SIGNATURE'],
        ['signed by another key', request({}, otherKeys.privateKey), 'BAD_SIGNATURE'],
        [
          'for another deployment',
          signControl('reconcile', { ...bodyOf(clock), deployment: 'x' }, ledgerKeys.privateKey),
          'WRONG_RECIPIENT',
        ],
        ['for another IAN', request({ ian: 1 }), 'WRONG_RECIPIENT'],
        [
          'for another roster',
          request({ rosterSize: N + 1, contributors: [0, 1, 2, 3] }),
          'WRONG_RECIPIENT',
        ],
        ['of another run (epoch)', request({ epochMs: clock.epochMs - 1 }), 'WRONG_ROUND'],
        ['for a round not held', request({ round: 5 }), 'WRONG_ROUND'],
        ['attempt 255', request({ attempt: 255 }), 'WRONG_ROUND'],
        ['attempt 0 (crafted, signed)', resign(attemptZero), 'MALFORMED_MESSAGE'],
        [
          'an epoch message replayed on the reconcile topic',
          signControl(
            'epoch',
            { deployment: DEP, epochMs: 0, roundMs: 1, issuedAtMs: 0 },
            ledgerKeys.privateKey,
          ),
          'MALFORMED_MESSAGE',
        ],
        [
          'the S∖{i} oracle, signed by the ledger itself',
          request({ contributors: [0, 1, 2, 4, 5] }),
          'ACCESS_DENIED',
        ],
        ['a single device', request({ contributors: [3] }), 'ACCESS_DENIED'],
      ];
      for (const [what, bytes, code] of cases) {
        const before = svc.counters.rejected[code] ?? 0;
        expect(() => reconcile(bytes), what).not.toThrow();
        expect(svc.counters.rejected[code] ?? 0, what).toBe(before + 1);
      }
      expect(svc.counters.reconcileRefused).toBe(cases.length);
      // Valid, but for other gateways: not answered, not counted.
      reconcile(request({ gateways: [2, 3] }));
      expect(svc.counters.reconcileRefused).toBe(cases.length);
      expect(svc.counters.reaggregations).toBe(0);

      // The honest request: answered with a partial over exactly the target, attempt 1.
      reconcile(request());
      await waitFor(() => posted.length === base + 1, 'the re-aggregated partial');
      const p = decodeGatewayPartial(posted[base]!, 8, 64, 560);
      expect([p.attempt, p.gateway, p.ian, p.round, p.contributors]).toEqual([
        1,
        1,
        0,
        0,
        [0, 1, 2, 3],
      ]);
      // Its replay (QoS 1 redelivers too): REPLAY; then a target one device smaller: refused.
      reconcile(request());
      expect(svc.counters.rejected.REPLAY).toBe(1);
      reconcile(request({ attempt: 2, contributors: [0, 1, 2] }));
      expect(svc.counters.rejected.ACCESS_DENIED).toBe(3);
      await settle();
      expect(posted.length).toBe(base + 1);
      expect(svc.counters.reaggregations).toBe(1);
      expect(svc.counters.handlerErrors).toBe(0);
      expect(svc.metrics()).toMatchObject({ reconcile_refused_total: cases.length + 2 });
      svc.stop();
    } finally {
      crashes.stop();
    }
    expect(crashes.seen).toEqual([]);
  });

  it('a handler that throws (a bug in a hook) is caught and counted, never ends the process', async () => {
    const crashes = crashWatch();
    try {
      const { svc, request, reconcile } = await closedGateway((at) => {
        if (at.honest) return at.honest;
        throw new Error('hook bug');
      });
      expect(() => reconcile(request())).not.toThrow();
      expect(svc.counters.handlerErrors).toBe(1);
      svc.stop();
    } finally {
      crashes.stop();
    }
    expect(crashes.seen).toEqual([]);
  });
});

describe('GatewayService: reports arrive on per-device topics', () => {
  it('a report whose header names another device than its topic is UNKNOWN_SENDER; a non-canonical topic WRONG_RECIPIENT', async () => {
    const f = fakeLink();
    const svc = new GatewayService({
      key: dep.registry.gatewayKey(0, 1),
      params,
      link: f.link,
      ledgerUrl,
      ledgerPublicKey: exportRawPublic(ledgerKeys.publicKey),
      clock: new RoundClock(Date.now() - 10, 60_000),
      logger: pino({ level: 'silent' }),
    });
    await svc.start();
    expect(f.subs.map((s) => s.filter)).toContain(`privagg/v1/${DEP}/ian/0/gw/1/reports/+`);
    const m = dep
      .device(0, 1)
      .report(0, [2], Date.now(), systemRandom)
      .find((x) => x.gateway === 1)!;
    f.deliver(topics.deviceReport(DEP, 0, 1, 2), m.bytes); // device 1's report as device 2
    expect(svc.counters.rejected.UNKNOWN_SENDER).toBe(1);
    f.deliver(`privagg/v1/${DEP}/ian/0/gw/1/reports/01`, m.bytes);
    expect(svc.counters.rejected.WRONG_RECIPIENT).toBe(1);
    expect(svc.counters.reportsAccepted).toBe(0);
    f.deliver(topics.deviceReport(DEP, 0, 1, 1), m.bytes);
    expect(svc.counters.reportsAccepted).toBe(1);
    svc.stop();
  });
});

function bodyOf(clock: RoundClock): ControlBodies['reconcile'] {
  return {
    deployment: DEP,
    epochMs: clock.epochMs,
    ian: 0,
    round: 0,
    attempt: 1,
    rosterSize: N,
    gatewayCount: 5,
    contributors: [0, 1, 2, 3],
    gateways: [1],
  };
}
