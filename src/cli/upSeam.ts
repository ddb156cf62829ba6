import { PrivaggError } from '../errors.js';
import {
  type ParsedDeploymentSpec,
  populationOfSpec,
  workloadFor,
} from '../node/deploymentFile.js';
import { SEAM_TIMING } from '../node/seam/seamSchedule.js';
import { seamUp } from '../node/seam/seamUp.js';
import { findScheme } from '../schemes/registry.js';
import { roundStatusOf } from '../schemes/roundStatus.js';
import { addressKey, type Recovery } from '../schemes/scheme.js';
import type { SchemeRunResult } from '../sim/schemeResults.js';
import { flaggedLine, totalsTable } from './schemeTotals.js';

/**
 * `privagg up` for a scheme on the seam: every role its own process on the run's own
 * broker, the center in its scheme ledger; prints each group-round as the center finishes
 * it, then the totals beside the truth of exactly the devices that entered, and where the
 * auditor's keys are.
 */
export interface SeamUpSummary {
  deployment: string;
  scheme: string;
  rounds: number;
  statuses: SchemeRunResult['statusCounts'];
  totals: SchemeRunResult['totals'];
  flagged: { who: string; why: string; round: number }[];
  rejections: SchemeRunResult['rejections'];
  ledger: string;
  auditorKeys: string;
}

export async function upSeam(
  file: string,
  spec: ParsedDeploymentSpec,
  o: { json?: boolean; entry: { command: string; args: string[] } },
): Promise<void> {
  const say = (s: string) => {
    if (!o.json) console.log(s);
  };
  const scheme = findScheme(spec.scheme.id);
  if (spec.broker.url !== 'embedded')
    throw new PrivaggError(
      'INVALID_ARGUMENT',
      `scheme '${scheme.id}' runs on its own embedded broker (TLS, the seam's access control); broker ${spec.broker.url} is for maas so far`,
    );
  if (spec.rounds.count === 0)
    throw new PrivaggError(
      'INVALID_ARGUMENT',
      `rounds.count 0 (until SIGINT) is for maas so far; give scheme '${scheme.id}' a number of rounds`,
    );
  say(
    `privagg up ${spec.name}: ${scheme.title}, ${spec.scheme.ians} IANs × ${spec.scheme.devicesPerIan} devices, ${spec.rounds.count} rounds of ${spec.rounds.durationMs} ms; state in ${spec.stateDir}`,
  );
  const workload = workloadFor(spec);
  let warnedLate = false;
  const d = await seamUp({
    name: spec.name,
    stateDir: spec.stateDir,
    ledgerFile: spec.ledger.file,
    scheme: { id: scheme.id, params: spec.scheme.params ?? {} },
    population: populationOfSpec(spec),
    workload,
    rounds: spec.rounds.count,
    roundMs: spec.rounds.durationMs,
    deploymentFile: file,
    entry: o.entry,
    onEvent: (role, ev) => {
      if (ev.event === 'reported' && ev.late === true && !warnedLate) {
        warnedLate = true;
        say(
          `  ${role} took ${ev.tookMs} ms to send round ${ev.round}'s ${ev.devices} reports, past the aggregators' close at ${Math.round(((SEAM_TIMING.closeFrom - SEAM_TIMING.report) * spec.rounds.durationMs) / 1000)} ms after the reports are due: later reports are refused; lengthen rounds.durationMs`,
        );
      } else if (ev.event === 'previous-ledger')
        say(`  the previous run's ledger was moved to ${ev.movedTo}`);
      else if (ev.event === 'recovery') {
        // The one status mapping the simulator and the summary use.
        const st = roundStatusOf(ev.recovery as Recovery, spec.scheme.devicesPerIan);
        const why = st.reasons.join('; ');
        say(`  round ${st.round} IAN ${st.group}: ${st.status}${why ? ` — ${why}` : ''}`);
      } else if (ev.event === 'restarting')
        say(`  ${ev.role} exited: restarting in ${ev.delayMs} ms`);
      else if (ev.event === 'gave-up') say(`  ${ev.role} kept exiting: not restarted`);
    },
  });
  say(
    `  broker ${d.brokerUrl}; ${d.children.size} processes; round 0 starts ${new Date(d.epochMs).toISOString()}`,
  );
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      if (stopping) return;
      stopping = true;
      say(`  ${signal}: stopping every process`);
      void d.stop().then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
  try {
    await d.finished;
  } finally {
    stopping = true;
    await d.stop();
  }
  const r = d.result();
  const summary: SeamUpSummary = {
    deployment: spec.name,
    scheme: scheme.id,
    rounds: spec.rounds.count,
    statuses: r.statusCounts,
    totals: r.totals,
    flagged: r.flagged.map((f) => ({ who: addressKey(f.who), why: f.why, round: f.round })),
    rejections: r.rejections,
    ledger: spec.ledger.file,
    auditorKeys: d.auditorKeysFile,
  };
  if (o.json) {
    console.log(JSON.stringify(summary, null, 2));
    return;
  }
  const c = r.statusCounts;
  say(`\nIAN-rounds: ${c.complete} complete, ${c.degraded} degraded, ${c.failed} failed`);
  say(totalsTable(r.totals));
  say(
    '  truth: the readings of exactly the devices the center says entered each recovered IAN-round.',
  );
  say(flaggedLine(summary.flagged));
  say(
    `\nLedger file ${spec.ledger.file} (check it: privagg ledger verify ${spec.ledger.file} --scheme-keys ${d.auditorKeysFile})`,
  );
}
