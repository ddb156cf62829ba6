import type { RestoreOutcome } from '../schemes/maas/ledgerContract.js';
import { lyingPartial } from './maasAttacks.js';
import type { IanRoundReport, RunTally } from './maasRunResult.js';
import type { IanRoundAt, MaasRun } from './maasRunSetup.js';

/**
 * Restore of (IAN v, round rd), reconciling contributor sets when gateways disagree (the
 * live gateways re-aggregate over the ledger's contributors until it restores or fails),
 * and the IAN-round's report: `complete`, `degraded` with its reasons, or `failed`.
 */
export function restoreIanRound(
  run: MaasRun,
  tally: RunTally,
  { v, rd, now, downThisRound }: IanRoundAt,
  gatewaysWithAllDevices: number,
): IanRoundReport {
  const { s, n, params, srng, ledger } = run;
  const { count } = tally;
  // Restore, reconciling contributor sets when gateways disagree.
  let outcome: RestoreOutcome = ledger.restore(v, rd, now + 3500);
  const reasons: string[] = [];
  let attempts = 0;
  while (outcome.status === 'reconcile') {
    attempts++;
    for (const d of outcome.dropped) {
      reasons.push(`device ${d.device} dropped: missing at gateway(s) ${d.missingAt.join(',')}`);
      tally.dropped++;
    }
    for (const l of outcome.gateways) {
      if (downThisRound.has(`${v}:${l}`)) continue;
      const g = run.gateways[v]![l - 1]!;
      const again = run.isLyingGw(v, l)
        ? lyingPartial(g, null, rd, outcome.contributors, outcome.attempt, now + 4000, srng, params)
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
      tally.liarRounds.set(key, [...(tally.liarRounds.get(key) ?? []), rd]);
      reasons.push(`gateway ${l} lied and was corrected`);
      tally.correctedLies++;
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
    tally.contributed.push(...refs);
    return {
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
    };
  }
  return {
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
  };
}
