import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { expect } from 'vitest';
import { buildLedgerApi, type LedgerApiOptions } from '../../../src/ledger/http/server.js';
import { seededRandom, systemRandom } from '../../../src/math/random.js';
import { createMaasDeployment, type MaasDeployment } from '../../../src/schemes/maas/deployment.js';
import type { OemGrant } from '../../../src/schemes/maas/keys.js';
import { defaultMaasParams } from '../../../src/schemes/maas/params.js';
import { buildQuery } from '../../../src/schemes/maas/query.js';
import type { QueryFields } from '../../../src/wire/maas.js';
import { MemoryLedger } from './memoryLedger.js';

export const T0 = Date.UTC(2026, 0, 1);
export const READINGS = [
  [1, 2],
  [3, 4],
  [5, 6],
  [7, 8],
  [9, 0],
];
/** Σ of READINGS per dimension: what a restore over all five devices must give. */
export const TOTALS = [25, 20];

export const OEM_FULL: OemGrant = {
  name: 'oem-full',
  dimensions: [0, 1],
  budget: { epsilon: 0.3, delta: 0 },
  epsilonPerDimension: [0.1, 0.2],
};
/** May read dimension 0 only. */
export const OEM_PARTIAL: OemGrant = {
  name: 'oem-a',
  dimensions: [0],
  budget: { epsilon: 1, delta: 0 },
  epsilonPerDimension: [0.1, 0.1],
};

export function testDeployment(ians = 2): MaasDeployment {
  const params = defaultMaasParams({
    deployment: 'ledger-http',
    ians,
    devicesPerIan: 5,
    gateways: 5,
    threshold: 3,
    dimensions: ['a', 'b'],
    maxReading: [9, 9],
    ldp: null,
  });
  return createMaasDeployment(params, {
    oems: [OEM_FULL, OEM_PARTIAL],
    registeredAtMs: T0 - 1,
    rng: seededRandom('ledger-http'),
  });
}

/** The five partials of one IAN-round: devices report, every gateway closes the round. */
export function roundPartials(dep: MaasDeployment, ian: number, round: number, now = T0): Buffer[] {
  const gws = [1, 2, 3, 4, 5].map((l) => dep.gateway(ian, l));
  for (const g of gws) g.beginRound(round);
  for (let i = 0; i < 5; i++) {
    for (const m of dep.device(ian, i).report(round, READINGS[i]!, now, systemRandom))
      gws[m.gateway - 1]!.ingest(m.bytes, now);
  }
  return gws.map((g) => g.closeRound(now).partial);
}

export function queryBytes(
  dep: MaasDeployment,
  oem: number,
  q: Partial<Omit<QueryFields, 'oem'>> = {},
): Buffer {
  return buildQuery(dep.params, dep.registry.oemKey(oem), {
    number: 2,
    startRound: 0,
    endRound: 0,
    dimensionMask: 0b11,
    timestamp: T0,
    ...q,
  });
}

export interface LogLine {
  level: number;
  msg: string;
  code?: string;
  status?: number;
  route?: string;
  method?: string;
  reason?: string;
  [k: string]: unknown;
}

/** A pino logger whose lines land in `lines` (parsed), at level info. */
export function captureLogs(level = 'info') {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

export interface Harness {
  dep: MaasDeployment;
  ledger: MemoryLedger;
  app: FastifyInstance;
  lines: LogLine[];
  clock: { now: number };
}

/** The round the harness's round clock says is in progress (rounds below it have ended). */
export const CURRENT_ROUND = 100;

/**
 * The API over a MemoryLedger, driven with fastify's inject (no socket, so no TLS: the
 * API runs insecure here; access control is tested over real HTTPS in access.test.ts).
 * The INSECURE warning logged at build is dropped from `lines`.
 */
export async function harness(
  opts: Omit<LedgerApiOptions, 'logger'> & { batchSize?: number } = {},
): Promise<Harness> {
  const dep = testDeployment();
  const clock = { now: T0 };
  const ledger = new MemoryLedger(dep, { clock: () => clock.now, batchSize: opts.batchSize ?? 16 });
  const { logger, lines } = captureLogs();
  const { batchSize: _b, ...apiOpts } = opts;
  const app = buildLedgerApi(ledger, {
    insecure: true,
    rounds: { current: () => CURRENT_ROUND },
    ...apiOpts,
    logger,
  });
  await app.ready();
  lines.splice(0, lines.length, ...lines.filter((l) => !String(l.msg).startsWith('INSECURE')));
  return { dep, ledger, app, lines, clock };
}

export const binary = (bytes: Uint8Array) => ({
  headers: { 'content-type': 'application/octet-stream' },
  payload: Buffer.from(bytes),
});

export const asJson = (value: unknown) => ({
  headers: { 'content-type': 'application/json' },
  payload: JSON.stringify(value),
});

/** Everything a refused request must leave as it was (the rejection counters excepted). */
export function ledgerState(h: Harness) {
  const c = h.ledger.counters();
  return {
    height: h.ledger.height(),
    pending: h.ledger.health().pendingTransactions,
    accepted: c.partialsAccepted,
    answered: c.queriesAnswered,
    blocks: c.blocks,
    transactions: c.transactions,
    stored: [0, 1].map((v) => h.ledger.contract.partialsOf(v, 0).length),
    budgets: [OEM_FULL, OEM_PARTIAL].map((o) => h.ledger.queries.accountant.remaining(o.name)),
  };
}

/**
 * Sends one request that must be refused with `status` and `code`, and checks that it was
 * logged exactly once (one line in all, carrying the code) and changed nothing. `decidedBy`:
 * whether the service refused it (and counted it once) or the HTTP layer did (the service
 * never saw it).
 */
export async function expectRefused(
  h: Harness,
  request: InjectOptions,
  status: number,
  code: string,
  decidedBy: 'service' | 'http' = 'service',
): Promise<LightMyRequestResponse> {
  const before = ledgerState(h);
  const rejectedBefore = h.ledger.counters().rejected;
  const logged = h.lines.length;
  const res = await h.app.inject(request);
  expect({ status: res.statusCode, body: res.json() }).toMatchObject({
    status,
    body: { ok: false, code },
  });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const newLines = h.lines.slice(logged);
  expect(newLines, 'exactly one log line per refusal').toHaveLength(1);
  expect(newLines[0]).toMatchObject({ code, status });
  expect(typeof newLines[0]!.reason).toBe('string');
  expect(ledgerState(h)).toEqual(before);
  // The service counts its own refusals once; refusals decided by HTTP never reach it.
  const after = h.ledger.counters().rejected as Record<string, number>;
  const prior = rejectedBefore as Record<string, number>;
  for (const k of new Set([...Object.keys(after), ...Object.keys(prior)])) {
    const delta = (after[k] ?? 0) - (prior[k] ?? 0);
    expect(delta, k).toBe(k === code && decidedBy === 'service' ? 1 : 0);
  }
  return res;
}
