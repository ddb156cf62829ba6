import { PrivacyAccountant } from '../dp/accountant.js';
import { type RandomSource, seededRandom, systemRandom } from '../math/random.js';
import {
  createMaasDeployment,
  type MaasDeployment,
  type MaasDevice,
} from '../schemes/maas/deployment.js';
import type { MaasGateway } from '../schemes/maas/gateway.js';
import type { OemGrant } from '../schemes/maas/keys.js';
import type {
  AddResult,
  MaasLedgerContract,
  RestoreOutcome,
} from '../schemes/maas/ledgerContract.js';
import type { MaasParams } from '../schemes/maas/params.js';
import type { MaasQueryEngine, QueryResult } from '../schemes/maas/query.js';
import { type AttackKind, type MaasFaults, NO_FAULTS } from './maasFaults.js';
import type { RoundReport } from './maasRunResult.js';
import type { Workload } from './workload.js';

/**
 * What the runner needs of a ledger: the contract's Add/Restore and the Query, fed the
 * simulated clock. `MaasLedgerNode` (the embedded block store) fits as it is.
 */
export interface MaasLedgerSink {
  add(bytes: Uint8Array, nowMs: number): AddResult;
  restore(ian: number, round: number, nowMs: number): RestoreOutcome;
  query(bytes: Uint8Array, nowMs: number, rng: RandomSource): QueryResult;
  /** Called after each round (a block store seals a block here). */
  endOfRound?(): void;
}

function inMemoryLedger(l: {
  contract: MaasLedgerContract;
  queries: MaasQueryEngine;
}): MaasLedgerSink {
  return {
    add: (bytes, now) => l.contract.add(bytes, now),
    restore: (ian, round) => l.contract.restore(ian, round),
    query: (bytes, now, rng) => l.queries.query(bytes, now, rng),
  };
}

export interface MaasScenario {
  /** A ledger built for the run's deployment (default: the in-memory contract). */
  ledger?: (deployment: MaasDeployment) => MaasLedgerSink;
  params: MaasParams;
  workload: Workload;
  /** Rounds to run (≤ workload.rounds). */
  rounds: number;
  faults?: Partial<MaasFaults>;
  /** Attack kinds to inject every round (the query attacks once, after the rounds). */
  attacks?: readonly AttackKind[];
  /** Queriers and their grants; default: one OEM with access to every dimension. */
  oems?: readonly OemGrant[];
  /** Queries for number = 1..z over all rounds (default true). */
  queries?: boolean;
  /** Placement and network randomness (faults, loss, delivery order, attack placement). */
  scenarioRng?: RandomSource;
  /** Cryptographic randomness (shares, LDP, nonces, the TA's master secret). Default: node:crypto. */
  cryptoRng?: RandomSource;
  startTimeMs?: number;
  roundDurationMs?: number;
  onRound?: (r: RoundReport, done: number, total: number) => void;
}

const DEFAULT_OEM = (w: number): OemGrant => ({
  name: 'oem-1',
  dimensions: Array.from({ length: w }, (_, j) => j),
  budget: { epsilon: 2 * w * 4, delta: 0 },
  epsilonPerDimension: Array.from({ length: w }, () => 2),
});

/** A scenario set up to run: its deployment's roles, its ledger, its faults and clock. */
export interface MaasRun {
  readonly s: MaasScenario;
  readonly params: MaasParams;
  /** IANs, devices per IAN, gateways per IAN, dimensions. */
  readonly z: number;
  readonly n: number;
  readonly m: number;
  readonly w: number;
  readonly faults: MaasFaults;
  readonly attacks: ReadonlySet<AttackKind>;
  /** Scenario randomness (placement, network) and cryptographic randomness. */
  readonly srng: RandomSource;
  readonly crng: RandomSource;
  readonly t0: number;
  readonly roundMs: number;
  readonly dep: MaasDeployment;
  readonly devices: readonly (readonly MaasDevice[])[];
  readonly gateways: readonly (readonly MaasGateway[])[];
  readonly ledger: MaasLedgerSink;
  isFailedGw(v: number, l: number): boolean;
  isLyingGw(v: number, l: number): boolean;
  isFailedDevice(v: number, i: number): boolean;
}

/** One IAN-round of a run: the IAN, the round, its start time and the gateways down in it. */
export interface IanRoundAt {
  readonly v: number;
  readonly rd: number;
  readonly now: number;
  /** "ian:gateway" keys of the gateways down this round (gatewaysDownThisRound). */
  readonly downThisRound: ReadonlySet<string>;
}

export function setUpRun(s: MaasScenario): MaasRun {
  const params = s.params;
  const z = params.ians;
  const n = params.devicesPerIan;
  const m = params.gateways;
  const w = params.dimensions.length;
  const faults: MaasFaults = { ...NO_FAULTS, ...s.faults };
  const attacks = new Set(s.attacks ?? []);
  const srng = s.scenarioRng ?? seededRandom('privagg-scenario');
  const crng = s.cryptoRng ?? systemRandom;
  const t0 = s.startTimeMs ?? Date.UTC(2026, 0, 1);
  const roundMs = s.roundDurationMs ?? 60_000;
  const oems = s.oems ?? [DEFAULT_OEM(w)];
  if (s.rounds > s.workload.rounds)
    throw new Error(`workload has ${s.workload.rounds} rounds, asked for ${s.rounds}`);

  const dep: MaasDeployment = createMaasDeployment(params, {
    oems,
    registeredAtMs: t0 - 1,
    rng: crng,
  });
  const devices = Array.from({ length: z }, (_, v) =>
    Array.from({ length: n }, (_, i) => dep.device(v, i)),
  );
  const gateways: MaasGateway[][] = Array.from({ length: z }, (_, v) =>
    Array.from({ length: m }, (_, l) => dep.gateway(v, l + 1)),
  );
  const accountant = new PrivacyAccountant();
  // The ledger: in memory by default, or a node that keeps a block store (demo --ledger).
  const ledger: MaasLedgerSink = s.ledger ? s.ledger(dep) : inMemoryLedger(dep.ledger(accountant));

  return {
    s,
    params,
    z,
    n,
    m,
    w,
    faults,
    attacks,
    srng,
    crng,
    t0,
    roundMs,
    dep,
    devices,
    gateways,
    ledger,
    isFailedGw: (v, l) => faults.failedGateways.some((g) => g.ian === v && g.gateway === l),
    isLyingGw: (v, l) => faults.lyingGateways.some((g) => g.ian === v && g.gateway === l),
    isFailedDevice: (v, i) => faults.failedDevices.some((d) => d.ian === v && d.device === i),
  };
}
