import type { RoundStatusRecord } from '../../ledger/embeddedLedger.js';
import type { RestoreOutcome } from '../../schemes/maas/ledgerContract.js';
import type { MaasParams } from '../../schemes/maas/params.js';
import { decodePartialOf } from '../../schemes/maas/partialCodec.js';
import type { IanRoundReport, RoundReport } from '../../sim/maasRunner.js';
import type { Workload } from '../../sim/workload.js';
import type { ChainTransaction } from './ledgerClient.js';

/**
 * What happened to each IAN-round, read off the ledger's chain: the round status the
 * ledger recorded (complete / degraded / failed, with reasons), the last restore outcome
 * (contributors, liars, estimates), the reconciliation requests before it, and the
 * partials gateways sent. The truth over each round's contributors comes from the
 * workload, so the report can say whether the chain's totals are right.
 */
export interface ChainRounds {
  rounds: RoundReport[];
  /** Devices dropped by reconciliation, summed over rounds. */
  droppedByReconciliation: number;
  liars: Map<string, number[]>;
}

export function roundsFromChain(
  chain: readonly ChainTransaction[],
  params: MaasParams,
  workload: Workload,
  roundCount: number,
): ChainRounds {
  const key = (ian: number, round: number) => `${ian}/${round}`;
  const restores = new Map<string, RestoreOutcome[]>();
  const statuses = new Map<string, RoundStatusRecord>();
  const fullPartials = new Map<string, number>();
  const n = params.devicesPerIan;
  for (const tx of chain) {
    if (tx.ian === undefined || tx.round === undefined) continue;
    const k = key(tx.ian, tx.round);
    if (tx.kind === 'restore') {
      restores.set(k, [
        ...(restores.get(k) ?? []),
        JSON.parse(tx.body.toString('utf8')) as RestoreOutcome,
      ]);
    } else if (tx.kind === 'round') {
      statuses.set(k, JSON.parse(tx.body.toString('utf8')) as RoundStatusRecord);
    } else if (tx.kind === 'partial') {
      const p = decodePartialOf(params, tx.body);
      if (p.attempt === 0 && p.contributors.length === n)
        fullPartials.set(k, (fullPartials.get(k) ?? 0) + 1);
    }
  }
  const rounds: RoundReport[] = [];
  const liars = new Map<string, number[]>();
  let dropped = 0;
  for (let rd = 0; rd < roundCount; rd++) {
    const report: RoundReport = { round: rd, ians: [] };
    for (let v = 0; v < params.ians; v++) {
      const k = key(v, rd);
      const outcomes = restores.get(k) ?? [];
      const status = statuses.get(k);
      const final = outcomes.at(-1);
      const reconciles = outcomes.filter((x) => x.status === 'reconcile');
      const reasons = [...(status?.reasons ?? ['no status recorded on the ledger'])];
      for (const r of reconciles) {
        if (r.status !== 'reconcile') continue;
        dropped += r.dropped.length;
        for (const d of r.dropped)
          reasons.push(
            `device ${d.device} dropped: missing at gateway(s) ${d.missingAt.join(',')}`,
          );
      }
      const base = {
        ian: v,
        reasons,
        attempts: reconciles.length,
        gatewaysWithAllDevices: fullPartials.get(k) ?? 0,
      };
      let entry: IanRoundReport;
      if (final?.status === 'restored' && status?.status !== 'failed') {
        for (const l of final.liars)
          liars.set(`${v}:${l}`, [...(liars.get(`${v}:${l}`) ?? []), rd]);
        const refs = final.contributors.map((device) => ({ ian: v, device, round: rd }));
        entry = {
          ...base,
          status: status?.status ?? 'degraded',
          contributors: [...final.contributors],
          liars: [...final.liars],
          gatewaysUsed: [...final.gateways],
          estimates: final.estimates.map((e) => ({
            estimate: e.estimate,
            standardError: e.standardError,
          })),
          truth: workload.groundTruthOver(refs),
        };
      } else {
        entry = {
          ...base,
          status: 'failed',
          contributors: [],
          liars: [],
          gatewaysUsed: [],
          estimates: null,
          truth: null,
        };
      }
      report.ians.push(entry);
    }
    rounds.push(report);
  }
  return { rounds, droppedByReconciliation: dropped, liars };
}
