import type { MaasRunResult } from '../sim/maasRunner.js';
import { escapeXml, lineChart } from './svg.js';

/**
 * The demo's self-contained HTML report: no scripts, no external assets — charts are
 * inline SVG — so it opens from disk anywhere and can be archived with the JSON.
 */
const COLORS = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#9467bd',
  '#ff7f0e',
  '#8c564b',
  '#e377c2',
  '#17becf',
];

export function renderMaasReport(
  r: MaasRunResult,
  meta: { title: string; command: string; generatedAt: string; notes?: readonly string[] },
): string {
  const s = r.scenario;
  const dims = s.dimensions;
  const rows = (cells: string[][]) =>
    cells.map((c) => `<tr>${c.map((x) => `<td>${x}</td>`).join('')}</tr>`).join('');
  const num = (x: number | null | undefined, digits = 2) =>
    x === null || x === undefined || !Number.isFinite(x)
      ? '—'
      : Number.isInteger(x)
        ? String(x)
        : x.toFixed(digits);

  const totalsTable = rows(
    dims.map((d) => {
      const t = r.totals[d]!;
      const truth = r.truth[d]!;
      const z = t.standardError > 0 ? (t.estimate - truth) / t.standardError : null;
      return [
        escapeXml(d),
        num(truth),
        num(t.estimate),
        num(t.standardError),
        z === null ? (t.estimate === truth ? 'exact' : 'MISMATCH') : `${num(z)} SE`,
      ];
    }),
  );

  const queryCharts = r.queries
    .filter((q) => q.ok && q.answer)
    .map((q) => {
      const charts = dims.map((d, j) => {
        const answer = q.answer!.dimensions.find((x) => x.name === d)!;
        return lineChart({
          title: `${d} — number = ${q.number} (IANs ${q.answer!.ians.join(', ')})`,
          xLabel: 'round',
          yLabel: 'failures',
          series: [
            { name: 'truth', values: q.truthSeries![d]!, color: '#222' },
            {
              name: 'query result',
              values: answer.series.map((p) => p.value),
              color: COLORS[j % COLORS.length]!,
              dashed: true,
            },
          ],
          width: 380,
          height: 220,
        });
      });
      const pcc = dims.map((d) => `${escapeXml(d)} ${num(q.pearson?.[d] ?? null, 3)}`).join(' · ');
      return `<section><h3>number = ${q.number}: Pearson r (all dims) = ${num(q.pearson?.all ?? null, 3)}</h3><p class="small">${pcc}</p><div class="grid">${charts.join('')}</div></section>`;
    })
    .join('');

  const failedQueries = r.queries.filter((q) => !q.ok);
  const rejected = Object.entries(r.rejected);
  const rounds = r.rounds.flatMap((rd) =>
    rd.ians
      .filter((x) => x.status !== 'complete')
      .map((x) => [String(rd.round), String(x.ian), x.status, escapeXml(x.reasons.join('; '))]),
  );

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(meta.title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.grid{display:flex;flex-wrap:wrap;gap:8px}
.small{color:#555;font-size:12px}code{background:#f4f4f4;padding:1px 4px}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
</style></head><body>
<h1>${escapeXml(meta.title)}</h1>
<p class="small">Generated ${escapeXml(meta.generatedAt)} by <code>${escapeXml(meta.command)}</code></p>
${(meta.notes ?? []).map((n) => `<p class="small">${escapeXml(n)}</p>`).join('\n')}
<h2>Scenario</h2>
<p>${escapeXml(s.workload)}: z = ${s.ians} IANs × n = ${s.devicesPerIan} devices × ${s.rounds} rounds; m = ${s.gateways} gateways per IAN, threshold k = ${s.threshold};
LDP ${s.ldp ? `ε = ${s.ldp.epsilon}, δ = ${s.ldp.delta}` : 'off (totals must equal the ground truth exactly)'}.
Modes: ${escapeXml(
    Object.entries(s.modes)
      .map(([k, v]) => `${k}=${v}`)
      .join(', '),
  )}.</p>
<p>Faults: failed gateways ${escapeXml(s.faults.failedGateways.map((g) => `IAN ${g.ian}/GW ${g.gateway}`).join(', ') || 'none')};
lying gateways ${escapeXml(s.faults.lyingGateways.map((g) => `IAN ${g.ian}/GW ${g.gateway}`).join(', ') || 'none')};
device failure probability ${s.faults.deviceFailureProbability}; failed devices ${s.faults.failedDevices.length}.
Attacks: ${escapeXml(s.attacks.join(', ') || 'none')}.</p>
<h2>Totals over all rounds (all-IAN query: the zero-sum query noise cancels)</h2>
<table><tr><th>type</th><th>truth (CSV, devices that reported)</th><th>recovered</th><th>standard error</th><th>deviation</th></tr>${totalsTable}</table>
<h2>Trend queries (the paper's Fig. 3–4)</h2>
<p class="small">Each OEM query sums a random choice of <i>number</i> IANs per round with zero-sum noise across IANs; only number = z cancels it.
The truth is the CSV ground truth of the same IANs' contributing devices.</p>
${queryCharts}
${failedQueries.length ? `<p>Refused queries: ${failedQueries.map((q) => `number = ${q.number}: ${escapeXml(q.code ?? '')}`).join('; ')}</p>` : ''}
<h2>Rejected messages by code</h2>
<table><tr><th>code</th><th>count</th></tr>${rows(rejected.map(([c, n]) => [escapeXml(c), String(n)]))}</table>
<h2>What was tolerated</h2>
<table><tr><th>what</th><th>count</th></tr>${rows(Object.entries(r.tolerated).map(([k, v]) => [escapeXml(k), String(v)]))}</table>
<p>Lying gateways found: ${escapeXml(r.lyingGatewaysFound.map((g) => `IAN ${g.ian}/GW ${g.gateway} in ${g.rounds.length} round(s)`).join('; ') || 'none')}</p>
<h2>IAN-rounds that were not complete</h2>
<table><tr><th>round</th><th>IAN</th><th>status</th><th>reasons</th></tr>${rows(rounds)}</table>
</body></html>
`;
}
