import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { expect, vi } from 'vitest';
import { type EmbeddedLedger, openEmbeddedLedger } from '../../../src/ledger/embeddedLedger.js';
import { buildLedgerApi, type LedgerApiOptions } from '../../../src/ledger/http/server.js';
import { seededRandom, systemRandom } from '../../../src/math/random.js';
import { createMaasDeployment, type MaasDeployment } from '../../../src/schemes/maas/deployment.js';
import type { OemGrant } from '../../../src/schemes/maas/keys.js';
import { defaultMaasParams } from '../../../src/schemes/maas/params.js';
import { buildQuery } from '../../../src/schemes/maas/query.js';
import type { QueryFields } from '../../../src/wire/maas.js';

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

/** The test ledgers' Ed25519 node key (fixed, so nothing is written next to the file). */
export const NODE_KEY = Buffer.alloc(32, 7);

/**
 * A batch delay no test reaches (24 h, under setTimeout's 2³¹ − 1 ms): with it, a block
 * commits only when `batchSize` transactions are pending or on `flush()`/`close()`, so a
 * test can hold submissions in the pending batch (their answers wait for the commit).
 */
export const HOLD_BATCH_MS = 24 * 60 * 60 * 1000;

export interface TestLedgerOptions {
  /** The ledger's clock; default T0. */
  clock?: () => number;
  /** Default: the embedded ledger's own (DEFAULT_BATCH_SIZE). */
  batchSize?: number;
  /** Default: the embedded ledger's own (DEFAULT_BATCH_DELAY_MS). */
  batchDelayMs?: number;
}

export interface TestLedger {
  ledger: EmbeddedLedger;
  /** The SQLite file (for tests that edit it behind the ledger's back). */
  file: string;
  /** Closes the ledger (committing what is pending) and removes its directory. */
  dispose(): Promise<void>;
}

/**
 * The real embedded ledger (what `privagg ledger serve` runs: SQLite, group commit, signed
 * heads) for `dep`, in a fresh temporary directory, with the fixtures' OEM grants.
 */
export function openTestLedger(dep: MaasDeployment, opts: TestLedgerOptions = {}): TestLedger {
  const dir = mkdtempSync(join(tmpdir(), 'privagg-ledger-http-'));
  const file = join(dir, 'ledger.sqlite');
  const ledger = openEmbeddedLedger({
    file,
    config: { params: dep.params, oems: [OEM_FULL, OEM_PARTIAL] },
    ledgerKey: dep.registry.ledgerKey(),
    nodeKey: NODE_KEY,
    clock: opts.clock ?? (() => T0),
    ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
    ...(opts.batchDelayMs !== undefined ? { batchDelayMs: opts.batchDelayMs } : {}),
  });
  return {
    ledger,
    file,
    async dispose() {
      await ledger.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Sends a submission the ledger will hold in its pending batch (see HOLD_BATCH_MS) and
 * resolves once the ledger has queued it (or answered it, e.g. a refusal or a batch it
 * filled), without waiting for its answer: the answer comes in `answer` when its block
 * commits. Wrapped in an object so the pending answer is not awaited here.
 */
const QUEUED_POLL = { interval: 1, timeout: 5000 };

export async function queued<T>(
  ledger: EmbeddedLedger,
  send: () => Promise<T>,
): Promise<{ answer: Promise<T> }> {
  const pending = ledger.health().pendingTransactions;
  const height = ledger.height();
  let settled = false;
  const answer = send().finally(() => {
    settled = true;
  });
  await vi.waitFor(() => {
    const moved = ledger.health().pendingTransactions > pending || ledger.height() > height;
    if (!moved && !settled) throw new Error('the submission has not reached the ledger yet');
  }, QUEUED_POLL);
  return { answer };
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
  ledger: EmbeddedLedger;
  /** The ledger's SQLite file. */
  file: string;
  app: FastifyInstance;
  lines: LogLine[];
  clock: { now: number };
}

/** The round the harness's round clock says is in progress (rounds below it have ended). */
export const CURRENT_ROUND = 100;

/**
 * The API over the real embedded ledger (a temporary SQLite file, openTestLedger), driven
 * with fastify's inject (no socket, so no TLS: the API runs insecure here; access control
 * is tested over real HTTPS in access.test.ts). A submission is answered once its block is
 * committed (by default 2 ms after it, the ledger's group commit). `app.close()` also
 * closes the ledger and removes its file. The INSECURE warning logged at build is dropped
 * from `lines`.
 */
export async function harness(
  opts: Omit<LedgerApiOptions, 'logger'> & Omit<TestLedgerOptions, 'clock'> = {},
): Promise<Harness> {
  const dep = testDeployment();
  const clock = { now: T0 };
  const { batchSize, batchDelayMs, ...apiOpts } = opts;
  const { ledger, file, dispose } = openTestLedger(dep, {
    clock: () => clock.now,
    ...(batchSize !== undefined ? { batchSize } : {}),
    ...(batchDelayMs !== undefined ? { batchDelayMs } : {}),
  });
  const { logger, lines } = captureLogs();
  let app: FastifyInstance;
  try {
    app = buildLedgerApi(ledger, {
      insecure: true,
      rounds: { current: () => CURRENT_ROUND },
      ...apiOpts,
      logger,
    });
  } catch (e) {
    await dispose();
    throw e;
  }
  app.addHook('onClose', dispose);
  await app.ready();
  lines.splice(0, lines.length, ...lines.filter((l) => !String(l.msg).startsWith('INSECURE')));
  return { dep, ledger, file, app, lines, clock };
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
    stored: [0, 1].map((v) => h.ledger.node.contract.partialsOf(v, 0).length),
    budgets: [OEM_FULL, OEM_PARTIAL].map((o) => h.ledger.node.queries.accountant.remaining(o.name)),
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
