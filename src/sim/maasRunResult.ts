import type { MaasParams } from '../schemes/maas/params.js';
import type { QueryAnswer } from '../schemes/maas/query.js';
import type { AttackKind, MaasFaults } from './maasFaults.js';
import type { MaasRun } from './maasRunSetup.js';
import { totalsAgainstTruth } from './maasScoring.js';
import type { ReadingRef } from './workload.js';

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

/** What the rounds and the queries add up as they run, for the result. */
export interface RunTally {
  readonly rejected: Map<string, number>;
  /** Counts one rejection under its code. */
  count(code: string): void;
  /** "ian:gateway" → the rounds where that gateway lied and was corrected. */
  readonly liarRounds: Map<string, number[]>;
  /** Every (ian, device, round) that entered a restored aggregate. */
  readonly contributed: ReadingRef[];
  readonly rounds: RoundReport[];
  failedDeviceReports: number;
  dropped: number;
  correctedLies: number;
  /** A genuine report of IAN 0 from the previous round (the wrong-round attack replays it). */
  previousRoundMessage: Buffer | undefined;
}

export function newTally(): RunTally {
  const rejected = new Map<string, number>();
  return {
    rejected,
    count: (code: string) => rejected.set(code, (rejected.get(code) ?? 0) + 1),
    liarRounds: new Map<string, number[]>(),
    contributed: [],
    rounds: [],
    failedDeviceReports: 0,
    dropped: 0,
    correctedLies: 0,
    previousRoundMessage: undefined,
  };
}

/** The run's result: the scenario, the rounds and queries, and the totals against the truth. */
export function assembleResult(
  run: MaasRun,
  tally: RunTally,
  queryRuns: QueryRun[],
  fullAnswer: QueryAnswer | undefined,
): MaasRunResult {
  const { s, params, faults, attacks } = run;
  const { rejected, liarRounds, rounds } = tally;
  const { totals, truth } = totalsAgainstTruth(
    params.dimensions,
    fullAnswer,
    s.workload.groundTruthOver(tally.contributed),
  );
  const ianRounds = rounds.flatMap((r) => r.ians);
  return {
    scenario: {
      workload: s.workload.name,
      ians: run.z,
      devicesPerIan: run.n,
      gateways: run.m,
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
      failedDeviceReports: tally.failedDeviceReports,
      droppedByReconciliation: tally.dropped,
      correctedLies: tally.correctedLies,
      degradedIanRounds: ianRounds.filter((x) => x.status === 'degraded').length,
      failedIanRounds: ianRounds.filter((x) => x.status === 'failed').length,
    },
  };
}
