import type { LedgerCheck } from './ledgerCheck.js';
import { FLAT_BOUND, type RoleMemory } from './verdict.js';

/**
 * The soak's answer on stdout: a memory table per role, then two plain lines — is every
 * role flat, was anything lost — and where the JSON and SVG are. Returns whether anything
 * was lost (or could not be checked).
 */
export function printSummary(r: {
  outcome: string;
  abortReason: string;
  memory: RoleMemory[];
  warmUpMin: number;
  statuses: { complete: number; degraded: number; failed: number };
  expectedIanRounds: number;
  restarts: Record<string, number>;
  check: LedgerCheck | undefined;
  retainedEntries: {
    start?: number | undefined;
    end?: number | undefined;
    max?: number | undefined;
  };
  machine: { cores: number; loadAverageAtStart: number[]; meanLoad1: number };
  files: string[];
}): { lost: boolean } {
  if (r.outcome !== 'completed') console.log(`RUN ${r.outcome.toUpperCase()}: ${r.abortReason}`);
  const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '–');
  const signed = (x: number, d: number) => (Number.isFinite(x) && x >= 0 ? '+' : '') + f(x, d);
  const head = [
    'role',
    'start MiB',
    'end MiB',
    'max MiB',
    'VmHWM MiB',
    'slope MiB/min',
    '2nd half',
    'growth',
    'samples',
    'verdict',
  ];
  const rows = r.memory.map((m) => [
    m.role,
    f(m.startMiB, 1),
    f(m.endMiB, 1),
    f(m.maxMiB, 1),
    f(m.peakMiB, 1),
    `${signed(m.slopeMiBPerMin, 3)} ± ${f(m.slopeErrorMiBPerMin, 3)}`,
    signed(m.lastHalfSlopeMiBPerMin, 3),
    `${signed(m.growthMiB, 1)} MiB (${signed(m.growthShare * 100, 1)} %)`,
    String(m.points),
    m.verdict,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log('');
  console.log(
    `Resident memory (VmRSS) per process; start, slope and growth over the samples after a ` +
      `warm-up of ${f(r.warmUpMin, 2)} min (min(10 % of the run, 2 min)); flat: |slope| ≤ ` +
      `${FLAT_BOUND.maxSlopeMiBPerMin} MiB/min and |growth| ≤ ${FLAT_BOUND.maxGrowthShare * 100} % ` +
      `of the start (bench/soak/verdict.ts).`,
  );
  console.log(line(head));
  console.log(widths.map((w) => '─'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
  console.log('');

  const re = r.retainedEntries;
  if (re.end !== undefined)
    console.log(
      `ledger per-round state in memory (privagg_ledger_retained_entries, all structures): ` +
        `${re.start} after the warm-up, ${re.end} at the end, ${re.max} at most`,
    );
  const notFlat = r.memory.filter((m) => m.verdict !== 'flat');
  console.log(
    notFlat.length === 0
      ? `FLAT: every role (${r.memory.length} processes)`
      : `NOT FLAT: ${notFlat.map((m) => `${m.role} (${m.verdict})`).join(', ')}`,
  );

  const s = r.statuses;
  const restarts = Object.entries(r.restarts);
  const c = r.check;
  const lost =
    !c ||
    c.reports.lost > 0 ||
    c.ianRounds.exact !== c.ianRounds.expected ||
    c.ianRounds.complete !== c.ianRounds.expected;
  if (c) {
    console.log(
      `${lost ? 'LOST' : 'NOTHING LOST'}: ${c.ianRounds.complete}/${c.ianRounds.expected} IAN-rounds complete, ` +
        `${c.ianRounds.degraded} degraded, ${c.ianRounds.failed} failed, ${c.ianRounds.exact} restored exactly` +
        `${c.ianRounds.inexact > 0 ? `, ${c.ianRounds.inexact} restored WRONG` : ''}; ` +
        `${c.reports.lost} of ${c.reports.expected} device reports lost`,
    );
    const a = c.afterWarmUp;
    console.log(
      `  after the warm-up (rounds ${a.firstRound}–): ${a.complete}/${a.ianRounds} IAN-rounds complete, ` +
        `${a.lost} of ${(c.reports.expected / c.ianRounds.expected) * a.ianRounds} reports lost`,
    );
    for (const e of c.examples)
      console.log(`  IAN ${e.ian} round ${e.round}: ${e.status}, ${e.contributors} contributors`);
  } else {
    console.log(
      `NOT CHECKED (the run did not complete): statuses so far ${s.complete} complete, ` +
        `${s.degraded} degraded, ${s.failed} failed of ${r.expectedIanRounds} IAN-rounds`,
    );
  }
  console.log(
    `supervised restarts: ${restarts.length === 0 ? '0' : restarts.map(([role, n]) => `${role} ${n}`).join(', ')}`,
  );
  const la = r.machine.loadAverageAtStart.map((x) => x.toFixed(2)).join(' ');
  console.log(
    `machine: ${r.machine.cores} cores, load average ${la} at the start, mean 1-min load ${r.machine.meanLoad1.toFixed(2)} over the run`,
  );
  for (const file of r.files) console.log(`wrote ${file}`);
  return { lost };
}
