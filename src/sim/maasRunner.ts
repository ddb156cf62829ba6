import { devicePhase, type GatewayInboxes } from './maasDevicePhase.js';
import { gatewayPhase, gatewaysDownThisRound } from './maasGatewayPhase.js';
import { restoreIanRound } from './maasRestoreLoop.js';
import { runQueries } from './maasRunQueries.js';
import {
  assembleResult,
  type IanRoundReport,
  type MaasRunResult,
  newTally,
  type RoundReport,
  type RunTally,
} from './maasRunResult.js';
import { type IanRoundAt, type MaasRun, type MaasScenario, setUpRun } from './maasRunSetup.js';

/**
 * The in-process MaaS runner: every role of one deployment in one process, a
 * simulated clock, and the faults and attacks of the scenario. It talks to the roles
 * only through bytes (the same messages the networked runtime sends), so what it
 * shows holds for the wire.
 */
export function runMaas(s: MaasScenario): MaasRunResult {
  const run = setUpRun(s);
  const tally = newTally();
  for (let rd = 0; rd < s.rounds; rd++) {
    const now = run.t0 + rd * run.roundMs;
    const downThisRound = gatewaysDownThisRound(run);
    const report: RoundReport = { round: rd, ians: [] };
    for (let v = 0; v < run.z; v++) {
      report.ians.push(ianRound(run, tally, { v, rd, now, downThisRound }));
    }
    tally.rounds.push(report);
    run.ledger.endOfRound?.();
    s.onRound?.(report, rd + 1, s.rounds);
  }
  const { queryRuns, fullAnswer } = runQueries(run, tally);
  return assembleResult(run, tally, queryRuns, fullAnswer);
}

/** One IAN's round: its devices report, its gateways send partials, the ledger restores. */
function ianRound(run: MaasRun, tally: RunTally, at: IanRoundAt): IanRoundReport {
  const inboxes: GatewayInboxes = devicePhase(run, tally, at);
  const gatewaysWithAllDevices = gatewayPhase(run, tally, at, inboxes);
  return restoreIanRound(run, tally, at, gatewaysWithAllDevices);
}

export type {
  IanRoundReport,
  MaasRunResult,
  QueryRun,
  RoundReport,
  RoundStatus,
} from './maasRunResult.js';
export type { MaasLedgerSink, MaasScenario } from './maasRunSetup.js';
export { pearsonCorrelation } from './maasScoring.js';
