import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { expect } from 'vitest';
import { ChainCipher } from '../../../src/ledger/chainCipher.js';
import type { RoundStatusRecord } from '../../../src/ledger/embeddedLedger.js';
import type { VerifyReport } from '../../../src/ledger/service.js';
import { SqliteBlockStore } from '../../../src/ledger/sqliteStore.js';
import { verifyChain } from '../../../src/ledger/verifyChain.js';
import { auditorKeysOfBundle } from '../../../src/node/credentials/auditorKeys.js';
import { loadBundle } from '../../../src/node/credentials/bundle.js';
import { identityOf } from '../../../src/node/credentials/identities.js';
import { bundlePath } from '../../../src/node/credentials/issue.js';
import {
  type ParsedDeploymentSpec,
  parseDeployment,
  workloadFor,
} from '../../../src/node/deploymentFile.js';
import { type RunningDeployment, up } from '../../../src/node/orchestrator.js';
import { RoundClock } from '../../../src/node/roundClock.js';
import type { RestoreOutcome } from '../../../src/schemes/maas/ledgerContract.js';
import type { Workload } from '../../../src/sim/workload.js';

/**
 * Shared machinery of the fault tests: a deployment file in a fresh state directory, the
 * deployment started as real processes with `up`, the ledger file read back after `stop`
 * (chain verified, restore outcomes and round statuses per IAN-round), and exact-total
 * checks against the workload's ground truth (LDP is off, so totals are exact).
 */

/** How the children are started: node + tsx on the CLI, from the repo root. */
export const ENTRY = { command: process.execPath, args: ['--import', 'tsx', 'src/cli/main.ts'] };

export interface Fixture {
  file: string;
  dir: string;
  spec: ParsedDeploymentSpec;
}

export interface FixtureOptions {
  ians?: number;
  devicesPerIan?: number;
  rounds: number;
  durationMs?: number;
  restoreDelayMs?: number;
  broker?: string;
  /** scheme.maxLyingGateways (f); absent: the deployment file's default, min(k − 1, m − k) = 2. */
  maxLyingGateways?: number;
}

/**
 * A deployment file (default 1 IAN × 6 devices, m = 5, k = 3, LDP off, synthetic workload)
 * with a unique name. One IAN keeps a deployment at 7 processes: the machine has 2 cores.
 */
export function fixture(prefix: string, o: FixtureOptions): Fixture {
  const dir = mkdtempSync(join(tmpdir(), `privagg-${prefix}-`));
  // Unique per run: Mosquitto persists retained epochs, a reused name could pick up a stale one.
  const name = `${prefix}-${process.pid}-${Date.now().toString(36)}`;
  const text = JSON.stringify(
    {
      name,
      stateDir: dir,
      scheme: {
        ians: o.ians ?? 1,
        devicesPerIan: o.devicesPerIan ?? 6,
        gateways: 5,
        threshold: 3,
        ...(o.maxLyingGateways !== undefined ? { maxLyingGateways: o.maxLyingGateways } : {}),
        workload: 'synthetic',
        ldp: 'off',
      },
      rounds: {
        count: o.rounds,
        durationMs: o.durationMs ?? 1200,
        restoreDelayMs: o.restoreDelayMs ?? 500,
        freshnessWindowMs: 30_000,
      },
      broker: o.broker ?? 'mqtt://127.0.0.1:1883',
      // The system Mosquitto on 1883 is plaintext and anonymous: those runs are explicitly
      // insecure. 'embedded' and 'mosquitto' (up's own, generated configuration) run secure.
      security: { insecure: !(o.broker === 'embedded' || o.broker === 'mosquitto') },
    },
    null,
    2,
  );
  const file = join(dir, 'deployment.json');
  writeFileSync(file, text);
  return { file, dir, spec: parseDeployment(text, file, dir) };
}

/** Removes the state directory (call once a test has passed: on failure its logs stay). */
export function cleanUp(fx: Fixture): void {
  rmSync(fx.dir, { recursive: true, force: true });
}

export interface Harness {
  d: RunningDeployment;
  clock: RoundClock;
  /** Every event of every child, with its arrival time. */
  events: { role: string; at: number; ev: Record<string, unknown> }[];
  /** The latest ready event of each role (a restarted child replaces it). */
  ready: Map<string, Record<string, unknown>>;
  /** The status the ledger reported for one IAN-round (the latest, if reported twice). */
  status(ian: number, round: number): RoundStatusRecord | undefined;
  /** Resolves once every IAN has a status for `round`. */
  untilRound(round: number, timeoutMs?: number): Promise<void>;
  /** Sleeps until `ms` after the start of `round`. */
  at(round: number, ms: number): Promise<void>;
  /** Resolves once a gateway role's /health says it is subscribed to its reports. */
  untilStarted(role: string, timeoutMs?: number): Promise<void>;
}

export async function start(
  fx: Fixture,
  startupMs = 1500,
  /** Supervision off by default: these tests kill and restart processes themselves. */
  supervise = false,
): Promise<Harness> {
  const events: Harness['events'] = [];
  const ready = new Map<string, Record<string, unknown>>();
  const d = await up({
    deploymentFile: fx.file,
    spec: fx.spec,
    entry: ENTRY,
    startupMs,
    supervise,
    onEvent: (role, ev) => {
      events.push({ role, at: Date.now(), ev });
      if (ev.event === 'ready') ready.set(role, ev);
    },
  });
  const clock = new RoundClock(d.epochMs, fx.spec.rounds.durationMs);
  const ians = fx.spec.scheme.ians;
  const status = (ian: number, round: number) =>
    [...d.statuses].reverse().find((s) => s.ian === ian && s.round === round);
  return {
    d,
    clock,
    events,
    ready,
    status,
    async untilRound(round, timeoutMs = 30_000) {
      await waitFor(
        () => Array.from({ length: ians }, (_, v) => status(v, round)).every(Boolean),
        `a status of round ${round} for every IAN`,
        timeoutMs,
      );
    },
    at: (round, ms) => sleep(clock.until(clock.startOf(round) + ms)),
    async untilStarted(role, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const url = ready.get(role)?.health;
        if (typeof url === 'string') {
          const body = (await fetch(`${url}/health`)
            .then((r) => r.json())
            .catch(() => ({}))) as { started?: boolean };
          if (body.started === true) return;
        }
        if (Date.now() > until)
          throw new Error(`timed out after ${timeoutMs} ms waiting for ${role} to subscribe`);
        await sleep(20);
      }
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

// ─── Extra child processes (device fleets started with CLI flags) ─────────────────────

export interface Child {
  proc: ChildProcess;
  ready: Promise<Record<string, unknown>>;
  events: Record<string, unknown>[];
  /** The first event named `name` (already printed or still to come). */
  event(name: string): Promise<Record<string, unknown>>;
  /** SIGTERM (then SIGKILL after 5 s) and wait for the exit; a no-op once exited. */
  stop(): Promise<void>;
}

/** Runs `privagg <args…>` like `up` runs its children: log to <stateDir>/logs/<role>.log. */
export function spawnCli(fx: Fixture, role: string, args: string[]): Child {
  const logs = join(fx.spec.stateDir, 'logs');
  mkdirSync(logs, { recursive: true });
  const proc = spawn(ENTRY.command, [...ENTRY.args, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stderr!.pipe(createWriteStream(join(logs, `${role}.log`), { flags: 'a' }));
  const events: Record<string, unknown>[] = [];
  const waiting: { name: string; resolve(ev: Record<string, unknown>): void }[] = [];
  let exited: string | undefined;
  const exitWaiters: ((why: string) => void)[] = [];
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let ev: Record<string, unknown>;
    try {
      ev = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return; // not an event line
    }
    events.push(ev);
    for (const w of waiting.filter((w) => w.name === ev.event)) w.resolve(ev);
  });
  proc.once('exit', (code, signal) => {
    exited = `code ${code}, signal ${signal}`;
    for (const f of exitWaiters) f(exited);
  });
  const event = (name: string) => {
    const p = new Promise<Record<string, unknown>>((resolve, reject) => {
      const seen = events.find((e) => e.event === name);
      if (seen) return resolve(seen);
      const fail = (why: string) => reject(new Error(`${role} exited before '${name}' (${why})`));
      if (exited !== undefined) return fail(exited);
      waiting.push({ name, resolve });
      exitWaiters.push(fail);
    });
    p.catch(() => undefined);
    return p;
  };
  return {
    proc,
    ready: event('ready'),
    event,
    events,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
      }),
  };
}

// ─── The ledger file, read back ───────────────────────────────────────────────────────

export type Restored = Extract<RestoreOutcome, { status: 'restored' }>;

export interface LedgerContents {
  verify: VerifyReport;
  /** Block hashes (hex) by height. */
  hashes: string[];
  /** Every 'round' transaction, in chain order. */
  rounds: RoundStatusRecord[];
  /** The final restore outcome of each IAN-round ("ian/round"), in chain order of recording. */
  restores: Map<string, RestoreOutcome>;
  /** How many 'restore' transactions each IAN-round has. */
  restoreCount: Map<string, number>;
}

export const key = (ian: number, round: number) => `${ian}/${round}`;

/** Opens the ledger file (its owner must have exited), verifies it and reads it back. */
export function readLedger(spec: ParsedDeploymentSpec): LedgerContents {
  const store = new SqliteBlockStore(spec.ledger.file);
  // As the auditor: its bundle opens the sealed values and checks every signature.
  const audit = auditorKeysOfBundle(
    loadBundle(bundlePath(spec, identityOf.auditor(spec.name)), 'auditor'),
  );
  const cipher = new ChainCipher(audit.contentKey);
  try {
    const verify = verifyChain(store, audit);
    const hashes: string[] = [];
    const rounds: RoundStatusRecord[] = [];
    const restores = new Map<string, RestoreOutcome>();
    const restoreCount = new Map<string, number>();
    for (const b of store.all()) {
      hashes.push(b.hash.toString('hex'));
      for (const sealed of b.transactions) {
        const t = cipher.open(sealed);
        if (t.kind === 'round') rounds.push(JSON.parse(t.body.toString('utf8')));
        if (t.kind === 'restore') {
          const out = JSON.parse(t.body.toString('utf8')) as RestoreOutcome;
          const k = key(out.ian, out.round);
          restoreCount.set(k, (restoreCount.get(k) ?? 0) + 1);
          // A 'reconcile' outcome is an intermediate step; keep the final one.
          const prev = restores.get(k);
          if (!prev || prev.status === 'reconcile' || out.status !== 'reconcile')
            restores.set(k, out);
        }
      }
    }
    return { verify, hashes, rounds, restores, restoreCount };
  } finally {
    store.close();
  }
}

const workloads = new WeakMap<ParsedDeploymentSpec, Workload>();

/** The ground truth over exactly `contributors` of one IAN-round. */
export function truthOver(
  spec: ParsedDeploymentSpec,
  ian: number,
  round: number,
  contributors: readonly number[],
): number[] {
  let w = workloads.get(spec);
  if (!w) {
    w = workloadFor(spec);
    workloads.set(spec, w);
  }
  return w.groundTruthOver(contributors.map((device) => ({ ian, device, round })));
}

/** Asserts a restore outcome is restored and its estimates equal the ground truth over its contributors. */
export function expectExact(spec: ParsedDeploymentSpec, out: RestoreOutcome | undefined): Restored {
  expect(out?.status, JSON.stringify(out)).toBe('restored');
  const r = out as Restored;
  expect(
    r.estimates.map((e) => e.estimate),
    `IAN ${r.ian} round ${r.round} over ${r.contributors.join(',')}`,
  ).toEqual(truthOver(spec, r.ian, r.round, r.contributors));
  return r;
}

/**
 * The ledger's verdicts hold together: one 'round' record per IAN-round in [0, rounds)
 * (none twice), each restored round exact over its contributors, each failed round with
 * a reason; returns the records by "ian/round".
 */
export function expectConsistent(
  spec: ParsedDeploymentSpec,
  ledger: LedgerContents,
  rounds = spec.rounds.count,
): Map<string, RoundStatusRecord> {
  expect(ledger.verify, JSON.stringify(ledger.verify.firstBad)).toMatchObject({ ok: true });
  const byKey = new Map<string, RoundStatusRecord>();
  for (const r of ledger.rounds) {
    expect(byKey.has(key(r.ian, r.round)), `round record ${key(r.ian, r.round)} twice`).toBe(false);
    byKey.set(key(r.ian, r.round), r);
  }
  for (let round = 0; round < rounds; round++) {
    for (let v = 0; v < spec.scheme.ians; v++) {
      const rec = byKey.get(key(v, round));
      expect(rec, `IAN ${v} round ${round} has a recorded status`).toBeDefined();
      const out = ledger.restores.get(key(v, round));
      if (rec!.status === 'failed') {
        expect(rec!.reasons.length, JSON.stringify(rec)).toBeGreaterThan(0);
      } else {
        const r = expectExact(spec, out);
        // 'complete' means every device and every gateway, cross-checked.
        if (rec!.status === 'complete') {
          expect(r.contributors).toHaveLength(spec.scheme.devicesPerIan);
          expect(rec!.reasons).toEqual([]);
        } else {
          expect(rec!.reasons.length, JSON.stringify(rec)).toBeGreaterThan(0);
        }
      }
    }
  }
  return byKey;
}

/** Every device of an IAN, 0..n−1. */
export const everyone = (spec: ParsedDeploymentSpec) =>
  Array.from({ length: spec.scheme.devicesPerIan }, (_, i) => i);

/** GET <health>/metrics, parsed into name{labels} → value. */
export async function metrics(healthUrl: string): Promise<Map<string, number>> {
  const res = await fetch(`${healthUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    const m = /^(\S+) (\S+)$/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}
