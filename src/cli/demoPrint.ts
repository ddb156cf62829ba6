import type { LdpBudget } from '../dp/ldpBudget.js';
import type { DemoSecurity, NetworkedMaasResult } from '../node/demo/networkedMaas.js';
import type { MaasRunResult } from '../sim/maasRunner.js';
import type { DemoSummary, exactCompanion } from './demo.js';
import { formatNumber, formatTable } from './table.js';

/**
 * The MaaS demo's terminal output: the first screen (exact run beside the private one),
 * totals against the truth, queries, faults and why IAN-rounds were degraded or failed,
 * the attacks and what refused them, privacy and the network's security.
 */
/**
 * Which gateways were down, and why IAN-rounds were degraded or failed: each distinct
 * reason the ledger gave with how many IAN-rounds gave it (the JSON and HTML have them
 * per round).
 */
function faultLines(result: MaasRunResult): string[] {
  const down = result.scenario.faults.failedGateways;
  const lines = [
    `Gateways down for the run (--fail-gateways): ${down.map((g) => `IAN ${g.ian} GW ${g.gateway}`).join('; ') || 'none'}`,
  ];
  for (const status of ['degraded', 'failed'] as const) {
    const reasons = new Map<string, number>();
    for (const r of result.rounds)
      for (const v of r.ians)
        if (v.status === status)
          for (const reason of v.reasons) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    if (reasons.size === 0) continue;
    lines.push(`Why IAN-rounds were ${status} (IAN-rounds giving each reason):`);
    for (const [reason, n] of [...reasons].sort((a, b) => b[1] - a[1]))
      lines.push(`  ${String(n).padStart(4)}  ${reason}`);
  }
  return lines;
}

export function printDemo(result: MaasRunResult, summary: DemoSummary): void {
  const s = result.scenario;
  const out: string[] = [];
  out.push(
    `privagg demo — MaaS trend query (LDP + Shamir + MAC + ledger) on ${s.workload}, ${
      summary.network ? 'over MQTT and HTTP' : 'in process (simulated clock)'
    }`,
    `  ${s.ians} IANs × ${s.devicesPerIan} devices × ${s.rounds} rounds, m = ${s.gateways} gateways, k = ${s.threshold}, f = ${s.maxLyingGateways} (lying gateways tolerated), ` +
      `LDP ${s.ldp ? `ε = ${s.ldp.epsilon}, δ = ${s.ldp.delta}` : 'off'}; ran in ${(summary.elapsedMs / 1000).toFixed(1)} s`,
    '',
    'Totals over all rounds (all-IAN query; the query noise cancels):',
  );
  const exact = summary.exactRun as ReturnType<typeof exactCompanion> | null | undefined;
  out.push(
    formatTable(
      [
        'type',
        'truth',
        ...(exact ? ['exact run (ε off)'] : []),
        s.ldp ? `private run (ε = ${s.ldp.epsilon})` : 'recovered',
        '± SE',
        'deviation',
      ],
      s.dimensions.map((d) => {
        const t = result.totals[d]!;
        const truth = result.truth[d]!;
        const dev =
          t.standardError > 0
            ? `${formatNumber((t.estimate - truth) / t.standardError)} SE`
            : t.estimate === truth
              ? 'exact'
              : 'MISMATCH';
        const e = exact?.totals[d];
        return [
          d,
          truth,
          ...(e
            ? [
                e.estimate === e.truth
                  ? `${e.estimate} (= its truth)`
                  : `${e.estimate} (truth ${e.truth})`,
              ]
            : []),
          t.estimate,
          t.standardError,
          dev,
        ];
      }),
    ),
  );
  if (s.ldp) {
    const reports = s.ians * s.devicesPerIan * s.rounds;
    const se = result.totals[s.dimensions[0]!]!.standardError;
    out.push(
      `  ± SE is one standard error of the private total: each device perturbs each count before it is shared (ε = ${s.ldp.epsilon} per dimension), ` +
        `about ±${formatNumber(se / Math.sqrt(reports))} per report, so ~${reports} reports give ±${formatNumber(se)} on failure counts this small — that noise is what keeps each device's reading private.`,
    );
    if (exact) {
      out.push(
        `  The exact run is ${exact.how}: it recovers its truth to the unit${exact.pearsonAll !== null ? ` (all-IAN trend r = ${formatNumber(exact.pearsonAll)})` : ''}. ` +
          'Its truth differs a little from the private run’s (other device reports lost at random); run the networked demo exact with --epsilon off.',
      );
    }
  }
  out.push(
    '',
    'Trend queries, number = 1..z (Pearson r of the per-round series against the truth, as in the paper’s Fig. 4):',
  );
  out.push(
    formatTable(
      ['number', 'IANs', 'r (all)', ...s.dimensions.map((d) => `r ${d}`), 'ε spent'],
      result.queries.map((q) =>
        q.ok
          ? [
              q.number,
              q.answer!.ians.join(','),
              q.pearson!.all ?? '—',
              ...s.dimensions.map((d) => q.pearson![d] ?? '—'),
              q.answer!.spent?.epsilon ?? '—',
            ]
          : [q.number, `refused: ${q.code}`, '—', ...s.dimensions.map(() => '—'), '—'],
      ),
    ),
  );
  out.push('', ...privacyLines(summary.privacy as DemoPrivacy));
  out.push('', 'Rejected messages by code:');
  const rej = Object.entries(result.rejected);
  out.push(rej.length ? formatTable(['code', 'count'], rej) : '  none');
  out.push('', 'Tolerated:');
  out.push(
    formatTable(
      ['what', 'count'],
      Object.entries(result.tolerated).map(([k, v]) => [k, v]),
    ),
  );
  out.push('', ...faultLines(result));
  out.push(
    `Lying gateways found: ${result.lyingGatewaysFound.map((g) => `IAN ${g.ian} GW ${g.gateway} (${g.rounds.length} rounds)`).join('; ') || 'none'}`,
    '',
    ...networkLines(summary),
    `Ledger ${summary.ledger.file}: ${summary.ledger.blocks} blocks, ${summary.ledger.transactions} transactions, ` +
      `${summary.ledger.verified ? 'verified' : 'DOES NOT VERIFY'} in ${summary.ledger.verifyMs} ms` +
      `${summary.ledger.audited ? `, sealed contents opened and replayed, every partial's and query's signature checked (${summary.ledger.liarsWithEvidence} liar(s) named, each with its signed partial on the chain)` : ', signatures not checked (the paper mode signs nothing)'} ` +
      `(check it yourself: privagg ledger verify ${summary.ledger.file} [--bundle <auditor bundle>])`,
    `Wrote ${summary.outputs.json}`,
    `Wrote ${summary.outputs.html}`,
  );
  console.log(out.join('\n'));
}

interface DemoPrivacy {
  ldp: LdpBudget | null;
  queries: { charged: number; spent: string[]; remaining: string | null };
}

/** The privacy accounting: the devices' LDP composed, and what the queries were charged. */
function privacyLines(p: DemoPrivacy): string[] {
  const pair = (x: { epsilon: number; delta: number }) =>
    `(ε = ${formatNumber(x.epsilon)}, δ = ${x.delta === 0 ? '0' : x.delta.toExponential(2)})`;
  const lines = ['Privacy accounting (basic composition):'];
  if (p.ldp) {
    lines.push(
      `  devices (LDP): per report dimension ${pair(p.ldp.perDimension)}; per device-round over ${p.ldp.perDeviceRound.dimensions} dimensions ${pair(p.ldp.perDeviceRound)}; per device over ${p.ldp.perDeviceRun.rounds} rounds ${pair(p.ldp.perDeviceRun)}`,
    );
  } else {
    lines.push('  devices: LDP off — the ledger and the auditor see exact per-IAN totals');
  }
  lines.push(
    `  queries: ${p.queries.charged} window(s) charged to the OEM (ε ${p.queries.spent.join(' + ') || '0'})${p.queries.remaining ? `, ε = ${p.queries.remaining} left` : ''}; noise cells are shared by every OEM, so pooling answers gains nothing`,
  );
  return lines;
}

/** What went over the wire: broker, ledger API, messages, and each gateway's counters. */
function networkLines(summary: DemoSummary): string[] {
  const n = summary.network as NetworkedMaasResult['network'] | null;
  if (!n) return [];
  const injected = Object.entries(n.injected)
    .map(([k, c]) => `${k} ${c}`)
    .join(', ');
  return [
    `Network: broker ${n.broker}; ledger API ${n.ledgerUrl}; rounds of ${n.roundDurationMs} ms; ${n.processes}.`,
    `  ${n.deviceMessages} device reports published; rogue MQTT client injected ${injected || 'nothing'}; ` +
      `${n.attackSubmissions.posted} forged/replayed partials and queries posted to the ledger, ${n.attackSubmissions.accepted} accepted; ` +
      `${n.mqttReconnects} MQTT reconnects.`,
    formatTable(
      ['IAN', 'gateway', 'role', 'received', 'accepted', 'rejected', 'partials posted'],
      n.gateways.map((g) => [
        g.ian,
        g.gateway,
        g.role,
        g.received,
        g.accepted,
        g.rejected,
        g.partialsPosted,
      ]),
    ),
    ...securityLines(n.security),
    `  Logs of every role: ${n.logFile}`,
    '',
  ];
}

/** What the transport refused, in sentences (insecure runs say so first). */
export function securityLines(sec: DemoSecurity): string[] {
  const e = sec.eavesdropping;
  const eav = `${e.refused} of ${e.tried} subscriptions to other roles' topics refused, ${e.reportsReceived} other devices' reports received`;
  if (sec.mode === 'insecure') {
    return [
      `  INSECURE run (${sec.reason}): plaintext MQTT and HTTP, no broker ACLs, no ledger roles; the gateways' and the ledger's checks are the only defence. Compromised device: ${eav}.`,
    ];
  }
  const refused = sec.outsiders.filter((p) => p.refused).length;
  const b = sec.broker;
  return [
    '  Secure run: TLS with client certificates on MQTT and HTTPS, broker ACLs, one credential bundle per identity.',
    ...(sec.outsiders.length > 0
      ? [
          `  Outsider with no credential: ${refused} of ${sec.outsiders.length} connections refused (${sec.outsiders
            .map((p) => `${p.what}: ${p.refused ? 'refused' : `NOT REFUSED, ${p.detail}`}`)
            .join('; ')}).`,
        ]
      : []),
    `  Compromised device (holds only its own bundle): ${eav}` +
      (b
        ? `; the broker refused ${b.rejectedPublish} of its publishes outside its own topics (and ${b.rejectedHandshake} TLS handshakes, ${b.rejectedConnect} CONNECTs in all).`
        : '.'),
  ];
}
