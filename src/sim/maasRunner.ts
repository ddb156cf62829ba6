import { PrivacyAccountant } from '../dp/accountant.js';
import {
  type RandomSource,
  seededRandom,
  systemRandom,
  uniformInt,
  uniformUnit,
} from '../math/random.js';
import { createMaasDeployment, type MaasDeployment } from '../schemes/maas/deployment.js';
import type { MaasGateway } from '../schemes/maas/gateway.js';
import type { OemGrant } from '../schemes/maas/keys.js';
import type {
  AddResult,
  MaasLedgerContract,
  RestoreOutcome,
} from '../schemes/maas/ledgerContract.js';
import type { MaasParams } from '../schemes/maas/params.js';
import {
  buildQuery,
  dimensionMask,
  type MaasQueryEngine,
  type QueryAnswer,
  type QueryResult,
} from '../schemes/maas/query.js';
import { deviceAttackMessages, lyingPartial, outOfRangeReport } from './maasAttacks.js';
import { type AttackKind, type MaasFaults, NO_FAULTS } from './maasFaults.js';
import { scoredQuery, totalsAgainstTruth } from './maasScoring.js';
import type { ReadingRef, Workload } from './workload.js';

/**
 * The in-process MaaS runner: every role of one deployment in one process, a
 * simulated clock, and the faults and attacks of the scenario. It talks to the roles
 * only through bytes (the same messages the networked runtime sends), so what it
 * shows holds for the wire.
 */
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

export type RoundStatus = 'complete' | 'degraded' | 'failed';

export interface IanRoundReport {
  ian: number;
  status: RoundStatus;
  reasons: string[];
  contributors: number[];
  liars: number[];
  gatewaysUsed: number[];
  attempts: number;
  /** Live gateways whose first partial summed all n devices (the paper's success event, eq. 14). */
  gatewaysWithAllDevices: number;
  /** Per dimension: the restored estimate and its standard error, and the truth over the contributors. */
  estimates: { estimate: number; standardError: number }[] | null;
  truth: number[] | null;
}

export interface RoundReport {
  round: number;
  ians: IanRoundReport[];
}

export interface MaasRunResult {
  scenario: {
    workload: string;
    ians: number;
    devicesPerIan: number;
    gateways: number;
    threshold: number;
    /** f, lying gateways tolerated per IAN. */
    maxLyingGateways: number;
    rounds: number;
    dimensions: readonly string[];
    ldp: MaasParams['ldp'];
    /** Input validity: proofs per report, or null when off. */
    validity: MaasParams['validity'];
    modes: MaasParams['modes'];
    faults: MaasFaults;
    attacks: readonly AttackKind[];
  };
  rounds: RoundReport[];
  /** The all-IAN query over all rounds (noise cancels), per dimension. */
  totals: Record<string, { estimate: number; standardError: number }>;
  /** Ground truth over every (ian, device, round) that entered a restored aggregate. */
  truth: Record<string, number>;
  queries: QueryRun[];
  rejected: Record<string, number>;
  lyingGatewaysFound: { ian: number; gateway: number; rounds: number[] }[];
  tolerated: {
    failedGateways: number;
    failedDeviceReports: number;
    droppedByReconciliation: number;
    correctedLies: number;
    degradedIanRounds: number;
    failedIanRounds: number;
  };
}

export interface QueryRun {
  number: number;
  ok: boolean;
  code?: string;
  answer?: QueryAnswer;
  /** Per dimension: the true per-round series over the selected IANs' contributors. */
  truthSeries?: Record<string, number[]>;
  /** Pearson correlation of the answered series with the truth, per dimension and over all. */
  pearson?: Record<string, number | null> & { all: number | null };
}

const DEFAULT_OEM = (w: number): OemGrant => ({
  name: 'oem-1',
  dimensions: Array.from({ length: w }, (_, j) => j),
  budget: { epsilon: 2 * w * 4, delta: 0 },
  epsilonPerDimension: Array.from({ length: w }, () => 2),
});

export function runMaas(s: MaasScenario): MaasRunResult {
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

  const isFailedGw = (v: number, l: number) =>
    faults.failedGateways.some((g) => g.ian === v && g.gateway === l);
  const isLyingGw = (v: number, l: number) =>
    faults.lyingGateways.some((g) => g.ian === v && g.gateway === l);
  const isFailedDevice = (v: number, i: number) =>
    faults.failedDevices.some((d) => d.ian === v && d.device === i);
  const rejected = new Map<string, number>();
  const count = (code: string) => rejected.set(code, (rejected.get(code) ?? 0) + 1);
  const liarRounds = new Map<string, number[]>();
  const contributed: ReadingRef[] = [];
  const rounds: RoundReport[] = [];
  let failedDeviceReports = 0;
  let dropped = 0;
  let correctedLies = 0;
  let previousRoundMessage: Buffer | undefined;

  for (let rd = 0; rd < s.rounds; rd++) {
    const now = t0 + rd * roundMs;
    // Per-round gateway outages (p2) on top of the permanent ones.
    const downThisRound = new Set<string>();
    for (let v = 0; v < z; v++) {
      for (let l = 1; l <= m; l++) {
        if (
          isFailedGw(v, l) ||
          (faults.gatewayFailureProbability > 0 &&
            uniformUnit(srng) < faults.gatewayFailureProbability)
        ) {
          downThisRound.add(`${v}:${l}`);
        }
      }
    }
    const report: RoundReport = { round: rd, ians: [] };
    for (let v = 0; v < z; v++) {
      const inbox: Buffer[][] = Array.from({ length: m }, () => []);
      // Messages an insider races ahead of the genuine ones (delivered before the shuffled inbox).
      const ahead: Buffer[] = [];
      for (const g of gateways[v]!) g.beginRound(rd);
      let corruptTarget = 1;
      while (corruptTarget < m && (isLyingGw(v, corruptTarget) || isFailedGw(v, corruptTarget)))
        corruptTarget++;
      let sampleMessage: Buffer | undefined;
      let sampleSender = -1;
      for (let i = 0; i < n; i++) {
        if (
          isFailedDevice(v, i) ||
          (faults.deviceFailureProbability > 0 &&
            uniformUnit(srng) < faults.deviceFailureProbability)
        ) {
          failedDeviceReports++;
          continue;
        }
        // A compromised device (the last of each IAN) sends one honest gateway a share ≥ p
        // under a valid tag and honest shares to the others: that gateway leaves it out,
        // the others count it, and the ledger must reconcile the two contributor sets.
        const corrupt = attacks.has('out-of-range-share') && i === n - 1;
        if (corrupt)
          inbox[corruptTarget - 1]!.push(outOfRangeReport(dep, v, i, corruptTarget, rd, now));
        for (const msg of devices[v]![i]!.report(rd, s.workload.reading(v, i, rd), now, crng)) {
          if (corrupt && msg.gateway === corruptTarget) continue;
          if (faults.linkLossProbability > 0 && uniformUnit(srng) < faults.linkLossProbability)
            continue;
          inbox[msg.gateway - 1]!.push(msg.bytes);
          if (!sampleMessage && msg.gateway === 1) {
            sampleMessage = msg.bytes;
            sampleSender = i;
          }
        }
      }
      if (sampleMessage) {
        for (const m of deviceAttackMessages(
          attacks,
          sampleMessage,
          sampleSender,
          previousRoundMessage,
          dep,
          v,
          rd,
          now,
          srng,
        )) {
          (m.ahead ? ahead : inbox[0]!).push(m.bytes);
        }
      }
      if (sampleMessage && v === 0) previousRoundMessage = sampleMessage;

      // Deliver in a shuffled order: the network does not keep order, and forgeries may come first.
      const partials: Buffer[] = [];
      let gatewaysWithAllDevices = 0;
      for (let l = 1; l <= m; l++) {
        if (downThisRound.has(`${v}:${l}`)) continue;
        const g = gateways[v]![l - 1]!;
        const box = inbox[l - 1]!;
        shuffle(box, srng);
        for (const bytes of l === 1 ? [...ahead, ...box] : box) {
          const verdict = g.ingest(bytes, now + 1000);
          if (!verdict.ok) count(verdict.code);
        }
        const res = g.closeRound(now + 2000);
        for (const r of res.rejected) count(r.code);
        if (res.contributors.length === n) gatewaysWithAllDevices++;
        const sent = isLyingGw(v, l)
          ? lyingPartial(g, res.partial, res.round, res.contributors, 0, now + 2000, srng, params)
          : res.partial;
        if (sent) partials.push(sent);
      }
      if (attacks.has('forged-partial') && partials[0]) {
        const forged = Buffer.from(partials[0]);
        forged[forged.length - 1]! ^= 0xff;
        partials.unshift(forged);
      }
      for (const p of partials) {
        const r = ledger.add(p, now + 3000);
        if (!r.ok) count(r.code);
      }
      if (attacks.has('replayed-partial') && partials.length > 0) {
        const r = ledger.add(partials[partials.length - 1]!, now + 3000);
        if (!r.ok) count(r.code);
      }

      // Restore, reconciling contributor sets when gateways disagree.
      let outcome: RestoreOutcome = ledger.restore(v, rd, now + 3500);
      const reasons: string[] = [];
      let attempts = 0;
      while (outcome.status === 'reconcile') {
        attempts++;
        for (const d of outcome.dropped) {
          reasons.push(
            `device ${d.device} dropped: missing at gateway(s) ${d.missingAt.join(',')}`,
          );
          dropped++;
        }
        for (const l of outcome.gateways) {
          if (downThisRound.has(`${v}:${l}`)) continue;
          const g = gateways[v]![l - 1]!;
          const again = isLyingGw(v, l)
            ? lyingPartial(
                g,
                null,
                rd,
                outcome.contributors,
                outcome.attempt,
                now + 4000,
                srng,
                params,
              )
            : g.reaggregate(rd, outcome.contributors, outcome.attempt, now + 4000);
          if (again) {
            const r = ledger.add(again, now + 4000);
            if (!r.ok) count(r.code);
          }
        }
        outcome = ledger.restore(v, rd, now + 4500);
      }
      const down = [...downThisRound]
        .filter((k) => k.startsWith(`${v}:`))
        .map((k) => Number(k.split(':')[1]));
      if (down.length > 0) reasons.push(`gateway(s) ${down.join(',')} down`);
      if (outcome.status === 'restored') {
        for (const l of outcome.liars) {
          const key = `${v}:${l}`;
          liarRounds.set(key, [...(liarRounds.get(key) ?? []), rd]);
          reasons.push(`gateway ${l} lied and was corrected`);
          correctedLies++;
        }
        if (outcome.excluded.length > 0) {
          reasons.push(
            `gateway(s) ${outcome.excluded.join(',')} left out: contributor set differs from the majority`,
          );
        }
        const missingDevices = n - outcome.contributors.length;
        if (missingDevices > 0) reasons.push(`${missingDevices} device(s) not in the aggregate`);
        if (!outcome.crossChecked) reasons.push('only k partials: not cross-checked');
        const refs = outcome.contributors.map((device) => ({ ian: v, device, round: rd }));
        contributed.push(...refs);
        report.ians.push({
          ian: v,
          status: reasons.length === 0 ? 'complete' : 'degraded',
          reasons,
          contributors: [...outcome.contributors],
          liars: [...outcome.liars],
          gatewaysUsed: [...outcome.gateways],
          attempts,
          gatewaysWithAllDevices,
          estimates: outcome.estimates.map((e) => ({
            estimate: e.estimate,
            standardError: e.standardError,
          })),
          truth: s.workload.groundTruthOver(refs),
        });
      } else {
        report.ians.push({
          ian: v,
          status: 'failed',
          reasons: [...reasons, outcome.reason],
          contributors: [],
          liars: [],
          gatewaysUsed: [],
          attempts,
          gatewaysWithAllDevices,
          estimates: null,
          truth: null,
        });
      }
    }
    rounds.push(report);
    ledger.endOfRound?.();
    s.onRound?.(report, rd + 1, s.rounds);
  }

  // Queries: number = 1..z over every round, all dimensions (Fig. 3–4 of the paper).
  const oemKey = dep.registry.oemKey(0);
  const all = Array.from({ length: w }, (_, j) => j);
  const qrng = seededRandom('paper-fresh-query-noise');
  const queryRuns: QueryRun[] = [];
  const tq = t0 + s.rounds * roundMs;
  const ask = (number: number, dims = all, at = tq) =>
    buildQuery(params, oemKey, {
      number,
      startRound: 0,
      endRound: s.rounds - 1,
      dimensionMask: dimensionMask(dims),
      timestamp: at,
    });
  let fullAnswer: QueryAnswer | undefined;
  if (s.queries ?? true) {
    for (let number = 1; number <= z; number++) {
      const bytes = ask(number);
      const res = ledger.query(bytes, tq, qrng);
      if (!res.ok) {
        count(res.code);
        queryRuns.push({ number, ok: false, code: res.code });
        continue;
      }
      queryRuns.push(scoredQuery(number, res.answer, rounds));
      if (number === z) fullAnswer = res.answer;
      if (attacks.has('replayed-query') && number === z) {
        const again = ledger.query(bytes, tq + 10, qrng);
        if (!again.ok) count(again.code);
      }
    }
    if (attacks.has('forged-query')) {
      const forged = Buffer.from(ask(z, all, tq + 20));
      forged[forged.length - 5]! ^= 0x10;
      const r = ledger.query(forged, tq + 20, qrng);
      if (!r.ok) count(r.code);
    }
    if (attacks.has('unauthorised-query') && w > 0) {
      const bad = buildQuery(params, oemKey, {
        number: z,
        startRound: 0,
        endRound: s.rounds - 1,
        dimensionMask: 0x80,
        timestamp: tq + 30,
      });
      const r = ledger.query(bad, tq + 30, qrng);
      if (!r.ok) count(r.code);
    }
    if (attacks.has('over-budget-query')) {
      // Distinct windows (each spends budget; a repeated one would be answered from
      // cache) until the OEM's budget is spent; the first refusal is counted.
      let tries = 0;
      outer: for (let start = 0; start < s.rounds; start++) {
        for (let end = start; end < s.rounds; end++) {
          tries++;
          const b = buildQuery(params, oemKey, {
            number: 1,
            startRound: start,
            endRound: end,
            dimensionMask: dimensionMask(all),
            timestamp: tq + 40 + tries,
          });
          const r = ledger.query(b, tq + 40 + tries, qrng);
          if (!r.ok) {
            count(r.code);
            break outer;
          }
        }
      }
    }
  }

  const { totals, truth } = totalsAgainstTruth(
    params.dimensions,
    fullAnswer,
    s.workload.groundTruthOver(contributed),
  );
  const ianRounds = rounds.flatMap((r) => r.ians);
  return {
    scenario: {
      workload: s.workload.name,
      ians: z,
      devicesPerIan: n,
      gateways: m,
      threshold: params.threshold,
      maxLyingGateways: params.maxLyingGateways,
      rounds: s.rounds,
      dimensions: params.dimensions,
      ldp: params.ldp,
      validity: params.validity,
      modes: params.modes,
      faults,
      attacks: [...attacks],
    },
    rounds,
    totals,
    truth,
    queries: queryRuns,
    rejected: Object.fromEntries([...rejected].sort(([a], [b]) => a.localeCompare(b))),
    lyingGatewaysFound: [...liarRounds].map(([k, rs]) => {
      const [ian, gateway] = k.split(':').map(Number);
      return { ian: ian!, gateway: gateway!, rounds: rs };
    }),
    tolerated: {
      failedGateways: faults.failedGateways.length,
      failedDeviceReports,
      droppedByReconciliation: dropped,
      correctedLies,
      degradedIanRounds: ianRounds.filter((x) => x.status === 'degraded').length,
      failedIanRounds: ianRounds.filter((x) => x.status === 'failed').length,
    },
  };
}

function shuffle<T>(xs: T[], rng: RandomSource): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = uniformInt(rng, i + 1);
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
}

export { pearsonCorrelation } from './maasScoring.js';
