import { mkdtempSync } from 'node:fs';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { openEmbeddedLedger } from '../../src/ledger/embeddedLedger.js';
import { removeLedgerFiles } from '../../src/ledger/headFile.js';
import { buildLedgerApi, startLedgerApi } from '../../src/ledger/http/server.js';
import type { LedgerService } from '../../src/ledger/service.js';
import { seededRandom } from '../../src/math/random.js';
import { createCertificateAuthority, issueCertificate } from '../../src/net/pki.js';
import { createMaasDeployment } from '../../src/schemes/maas/deployment.js';
import type { OemGrant } from '../../src/schemes/maas/keys.js';
import { defaultMaasParams, type MaasParams } from '../../src/schemes/maas/params.js';
import { buildQuery, dimensionMask } from '../../src/schemes/maas/query.js';
import { reportValidityFor } from '../../src/schemes/maas/reportValidity.js';
import { SEED_BYTES } from '../../src/schemes/maas/validity/randomness.js';
import type { VerifierShare } from '../../src/schemes/maas/validity/shares.js';
import type { BenchCase } from '../harness.js';

/**
 * The ledger over HTTP (issue 4): POST /v1/partials and POST /v1/queries on a real
 * loopback socket (global fetch, keep-alive) and through `app.inject` (no socket), in tx/s
 * with per-request p50/p99 latency computed over every request of a measurement (the
 * table's last column). `socket`: a real 127.0.0.1 socket, client and server in this one
 * process, so the figures are conservative; `inject`: fastify's in-process injection. The
 * service is the embedded SQLite ledger (temp file, group commit with its 2 ms batch delay:
 * a response is sent once its block is on disk); one case runs it with blocks of one
 * transaction (batch size 1: each request commits at once, with its own fsync and head
 * write, and never waits out the batch delay), to show what group commit costs or saves at
 * 1 in flight. `tls`: the same socket over HTTPS with client certificates
 * (the secure default: mutual TLS, the caller's role checked per request, keep-alive so the
 * handshake is paid once per connection); the other cases run the API `insecure` to show
 * the HTTP cost alone. The paper's Fabric figures (Table IV) for comparison:
 * 2.36 ms average upload latency, 29.74 ms query latency.
 */
const T0 = Date.UTC(2026, 0, 1);
const IANS = 50;
const GATEWAYS = 5;
/**
 * Answers are cached per (OEM, window); with the window fixed to all 8 rounds and 5
 * dimensions (a constant amount of work), 40 OEMs × 50 values of `number` give 2,000
 * distinct queries, more than one measurement sends.
 */
const OEMS = 40;
const GRANTS: OemGrant[] = Array.from({ length: OEMS }, (_, i) => ({
  name: `oem-${i}`,
  dimensions: [0, 1, 2, 3, 4],
  budget: { epsilon: 1e9, delta: 0 },
  epsilonPerDimension: [1, 1, 1, 1, 1],
}));
/** Untimed requests before each measurement (connections, JIT, SQLite page cache). */
const WARMUP_REQUESTS = 200;

function lazy<T>(make: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= make());
}

const deployment = lazy(() => {
  const params: MaasParams = defaultMaasParams({
    deployment: 'bench-ledger-http',
    ians: IANS,
    devicesPerIan: 2,
  });
  const dep = createMaasDeployment(params, {
    oems: GRANTS,
    registeredAtMs: T0,
    rng: seededRandom('bench-ledger-http'),
  });
  const gateways = Array.from({ length: IANS }, (_, v) =>
    Array.from({ length: GATEWAYS }, (_, l) => dep.gateway(v, l + 1)),
  );
  // Input validity is on by default: a first partial carries one verifier share per
  // contributor. Add/Verify checks only their form (the ledger decides them at restore),
  // so zero shares of the right size stand in for the two synthetic contributors.
  const scheme = reportValidityFor(params);
  const verifiers = (gateway: number): VerifierShare[] | undefined =>
    scheme
      ? [0, 1].map(() => ({
          gateway,
          verifier: Array.from({ length: scheme.flp.verifierLength }, () => 0n),
          querySeed: new Uint8Array(SEED_BYTES),
        }))
      : undefined;
  return { dep, params, gateways, verifiers };
});

/**
 * An endless supply of distinct, correctly tagged partials (IAN, gateway, round advance
 * with a counter shared by all cases, so no two are ever replays). Add/Verify checks the
 * tag, freshness, replay and element range, not what the sums add up to, so the sums are
 * constants; the query case uses real partials.
 */
let partialCounter = 0;
function nextPartial(): Buffer {
  const { gateways, verifiers } = deployment();
  const c = partialCounter++;
  const gw = gateways[Math.floor(c / GATEWAYS) % IANS]![c % GATEWAYS]!;
  return gw.buildPartial(
    Math.floor(c / (IANS * GATEWAYS)),
    [0, 1],
    [3n, 5n, 7n, 11n, 13n],
    0,
    T0,
    verifiers((c % GATEWAYS) + 1),
  );
}

/**
 * Partials of the 10 gateways of IANs 0 and 1 only, for the TLS cases: each sender keeps
 * one warm connection (as a gateway process does) instead of a new handshake per request.
 * Rounds from 500,000 up, apart from the other generator's.
 */
let tlsCounter = 0;
function nextPartialOfFewGateways(): Buffer {
  const { gateways, verifiers } = deployment();
  const c = tlsCounter++;
  const gw = gateways[Math.floor(c / GATEWAYS) % 2]![c % GATEWAYS]!;
  return gw.buildPartial(
    500_000 + Math.floor(c / (2 * GATEWAYS)),
    [0, 1],
    [3n, 5n, 7n, 11n, 13n],
    0,
    T0,
    verifiers((c % GATEWAYS) + 1),
  );
}

const dir = mkdtempSync(join(tmpdir(), 'privagg-bench-ledger-http-'));
let fileNo = 0;

function embedded(batchSize?: number): { service: LedgerService; dispose: () => Promise<void> } {
  const { dep, params } = deployment();
  const file = join(dir, `l${fileNo++}.sqlite`);
  const service = openEmbeddedLedger({
    file,
    config: { params, oems: GRANTS },
    ledgerKey: dep.registry.ledgerKey(),
    nodeKey: Buffer.alloc(32, 1),
    clock: () => T0,
    ...(batchSize !== undefined ? { batchSize } : {}),
  });
  return {
    service,
    dispose: async () => {
      await service.close();
      removeLedgerFiles(file);
    },
  };
}

/** Per-request latencies of one measurement, and their percentiles (nearest rank). */
class Latencies {
  private samples: number[] = [];
  reset(): void {
    this.samples = [];
  }
  add(ms: number): void {
    this.samples.push(ms);
  }
  summary(): Record<string, number> {
    const s = [...this.samples].sort((a, b) => a - b);
    const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? Number.NaN;
    const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
    return { p50Ms: at(0.5), p99Ms: at(0.99), meanMs: mean, requests: s.length };
  }
}

type Send = (body: Buffer) => Promise<number>;

/** POST over the socket with global fetch (undici, keep-alive); returns the status. */
function overSocket(url: string): Send {
  return async (body) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body,
    });
    await res.arrayBuffer();
    return res.status;
  };
}

/** The deployment's CA, the ledger's certificate and a client certificate of `role` (openssl). */
const benchPki = lazy(() => {
  const name = deployment().params.deployment;
  const ca = createCertificateAuthority({ commonName: `${name}.ca` });
  const ledger = issueCertificate(ca, {
    commonName: `${name}.ledger`,
    role: 'ledger',
    server: { dns: ['localhost'], ips: ['127.0.0.1'] },
    client: true,
  });
  const clients = new Map<string, { certPem: string; keyPem: string }>();
  const client = (cn: string, role: string) => {
    let c = clients.get(cn);
    if (!c) {
      c = issueCertificate(ca, { commonName: `${name}.${cn}`, role });
      clients.set(cn, c);
    }
    return c;
  };
  return { ca, tls: { ca: ca.certPem, cert: ledger.certPem, key: ledger.keyPem }, client };
});

/**
 * POST over HTTPS with a client certificate per sender (node:https, one keep-alive agent
 * each, as a gateway process holds one): partials as the gateway they name, queries as OEM.
 */
function overTls(url: string): Send {
  const pki = benchPki();
  const agents = new Map<string, HttpsAgent>();
  const agentFor = (cn: string, role: string) => {
    let a = agents.get(cn);
    if (!a) {
      const c = pki.client(cn, role);
      a = new HttpsAgent({ keepAlive: true, ca: pki.ca.certPem, cert: c.certPem, key: c.keyPem });
      agents.set(cn, a);
    }
    return a;
  };
  return (body) =>
    new Promise((resolve, reject) => {
      const agent = url.endsWith('/v1/partials')
        ? agentFor(`gw-${body.readUInt16BE(6)}-${body[4]}`, 'gateway')
        : agentFor(`oem-${body.readUInt16BE(2)}`, 'oem');
      const req = httpsRequest(
        url,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/octet-stream', 'content-length': body.length },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

function overInject(app: FastifyInstance, path: string): Send {
  return async (body) =>
    (
      await app.inject({
        method: 'POST',
        url: path,
        headers: { 'content-type': 'application/octet-stream' },
        payload: body,
      })
    ).statusCode;
}

/**
 * A case posting `inFlight` submissions concurrently per call (each timed on its own),
 * through a socket or inject, to a fresh service per measurement.
 */
function postCase(opts: {
  name: string;
  path: '/v1/partials' | '/v1/queries';
  transport: 'socket' | 'tls' | 'inject';
  inFlight: number;
  service: () => Promise<{ service: LedgerService; dispose: () => Promise<void> }>;
  next: () => Buffer;
  expectStatus: number;
}): BenchCase {
  const lat = new Latencies();
  let send: Send | undefined;
  let stop: (() => Promise<void>) | undefined;
  const one = async () => {
    const body = opts.next();
    const t0 = performance.now();
    const status = await send!(body);
    lat.add(performance.now() - t0);
    if (status !== opts.expectStatus)
      throw new Error(`bench: ${opts.path} answered ${status}, expected ${opts.expectStatus}`);
  };
  const call = () =>
    opts.inFlight === 1 ? one() : Promise.all(Array.from({ length: opts.inFlight }, one));
  return {
    group: 'ledger-http',
    name: opts.name,
    opsPerCall: opts.inFlight,
    minMillis: 1500,
    setup: async () => {
      const { service, dispose } = await opts.service();
      if (opts.transport !== 'inject') {
        const server = await startLedgerApi(
          service,
          opts.transport === 'tls'
            ? { logger: false, tls: benchPki().tls }
            : { logger: false, insecure: true },
        );
        send = (opts.transport === 'tls' ? overTls : overSocket)(`${server.url}${opts.path}`);
        stop = async () => {
          await server.close();
          await dispose();
        };
      } else {
        const app = buildLedgerApi(service, { logger: false, insecure: true });
        await app.ready();
        send = overInject(app, opts.path);
        stop = async () => {
          await app.close();
          await dispose();
        };
      }
      for (let i = 0; i < WARMUP_REQUESTS / opts.inFlight; i++) await call();
      lat.reset();
    },
    run: call,
    extra: () => lat.summary(),
    teardown: async () => {
      await stop?.();
      stop = undefined;
    },
  };
}

// ─── Queries: 8 restored rounds of 50 IANs, a distinct window per request ──────────────

const ROUNDS = 8;

/** Real partials of 8 rounds (LDP and AEAD on), as the in-process query bench uses. */
const realPartials = lazy(() => {
  const { dep } = deployment();
  const rng = seededRandom('bench-ledger-http-shares');
  const out: Buffer[] = [];
  // Fresh gateway objects: the shared ones build the synthetic partials above.
  const gws = Array.from({ length: IANS }, (_, v) =>
    Array.from({ length: GATEWAYS }, (_, l) => dep.gateway(v, l + 1)),
  );
  // Rounds far above the synthetic ones' (which grow from 0), so the two never collide.
  const base = 1_000_000;
  for (let rd = base; rd < base + ROUNDS; rd++) {
    for (let v = 0; v < IANS; v++) {
      for (const g of gws[v]!) g.beginRound(rd);
      for (let i = 0; i < 2; i++) {
        for (const m of dep.device(v, i).report(rd, [1, 0, 2, 1, 0], T0, rng))
          gws[v]![m.gateway - 1]!.ingest(m.bytes, T0);
      }
      for (const g of gws[v]!) out.push(g.closeRound(T0).partial);
    }
  }
  return { base, partials: out };
});

async function restoredEmbedded() {
  const ledger = embedded();
  const { base, partials } = realPartials();
  await Promise.all(partials.map((p) => ledger.service.addPartial(p)));
  for (let rd = base; rd < base + ROUNDS; rd++)
    await Promise.all(Array.from({ length: IANS }, (_, v) => ledger.service.restore(v, rd)));
  await ledger.service.flush();
  return ledger;
}

let queryCounter = 0;
/** A distinct (OEM, number) each call over the full window, so nothing is answered from cache. */
function nextQuery(): Buffer {
  const { dep, params } = deployment();
  const { base } = realPartials();
  const k = queryCounter++;
  return buildQuery(params, dep.registry.oemKey(Math.floor(k / IANS) % OEMS), {
    number: 1 + (k % IANS),
    startRound: base,
    endRound: base + ROUNDS - 1,
    dimensionMask: dimensionMask([0, 1, 2, 3, 4]),
    // Past 2,000 the answers come from cache; a new timestamp keeps the tags new (no REPLAY).
    timestamp: T0 + Math.floor(k / (IANS * OEMS)),
  });
}

const partialCase = (
  transport: 'socket' | 'tls' | 'inject',
  inFlight: number,
  store: 'embedded' | 'unbatched',
): BenchCase =>
  postCase({
    name: `http POST /v1/partials, ${transport}, ${inFlight} in flight (${store === 'embedded' ? 'embedded SQLite' : 'embedded SQLite, blocks of 1'}${transport === 'tls' ? '; mutual TLS, 10 gateways on warm connections' : ''})`,
    path: '/v1/partials',
    transport,
    inFlight,
    service: async () => (store === 'embedded' ? embedded() : embedded(1)),
    next: transport === 'tls' ? nextPartialOfFewGateways : nextPartial,
    expectStatus: 202,
  });

export const cases: BenchCase[] = [
  partialCase('socket', 1, 'embedded'),
  partialCase('tls', 1, 'embedded'),
  partialCase('socket', 32, 'embedded'),
  partialCase('tls', 32, 'embedded'),
  partialCase('inject', 1, 'embedded'),
  partialCase('inject', 32, 'embedded'),
  partialCase('socket', 1, 'unbatched'),
  postCase({
    name: 'http POST /v1/queries, socket, 1 in flight (embedded SQLite; 50 IANs × 5 dims × 8 rounds, uncached)',
    path: '/v1/queries',
    transport: 'socket',
    inFlight: 1,
    service: restoredEmbedded,
    next: nextQuery,
    expectStatus: 200,
  }),
];
