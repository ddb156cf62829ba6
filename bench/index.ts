/**
 * `npm run bench [-- --json] [-- --filter <substring>]`
 *
 * Loads every bench/cases/*.ts (each exports `cases: BenchCase[]`), measures them on
 * this one process (one core), and prints a table with ratios against the baselines
 * measured in the same run, and whether each issue target is met.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BenchCase, type BenchResult, judge, measure } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const asJson = args.includes('--json');
const filterAt = args.indexOf('--filter');
const filter = filterAt >= 0 ? args[filterAt + 1] : undefined;

const files = readdirSync(join(here, 'cases'))
  .filter((f) => f.endsWith('.ts'))
  .sort();
const all: BenchCase[] = [];
for (const f of files) {
  const mod = (await import(pathToFileURL(join(here, 'cases', f)).href)) as { cases: BenchCase[] };
  all.push(...mod.cases);
}
// A baseline is always measured when a case that needs it is selected.
const wanted = new Set(
  all
    .filter((c) => !filter || c.name.includes(filter) || c.group.includes(filter))
    .map((c) => c.name),
);
for (const c of all) if (wanted.has(c.name) && c.baseline) wanted.add(c.baseline);
const selected = all.filter((c) => wanted.has(c.name));

const raw: BenchResult[] = [];
const byName = new Map(selected.map((c) => [c.name, c]));
for (const [i, c] of selected.entries()) {
  if (!asJson) process.stderr.write(`\r[${i + 1}/${selected.length}] ${c.name.padEnd(60)}`);
  const base = c.baseline ? byName.get(c.baseline) : undefined;
  if (base) {
    // Ratios are what the targets are about, and the machine drifts: measure the case and
    // its baseline alternately, three times each, and keep the median of the paired ratios.
    const pairs: Array<[BenchResult, BenchResult]> = [];
    for (let k = 0; k < 3; k++) pairs.push([await measure(base), await measure(c)]);
    const ratios = pairs.map(([b, r]) => r.microsPerOp / b.microsPerOp).sort((a, b) => a - b);
    const mid = pairs.find(([b, r]) => r.microsPerOp / b.microsPerOp === ratios[1])!;
    raw.push({ ...mid[1], ratio: ratios[1]! });
  } else {
    raw.push(await measure(c));
  }
}
if (!asJson) process.stderr.write(`\r${' '.repeat(80)}\r`);
const results = judge(raw);

if (asJson) {
  console.log(
    JSON.stringify(
      { node: process.version, cpu: (await import('node:os')).cpus()[0]?.model, results },
      null,
      2,
    ),
  );
} else {
  printTable(results);
}
const missed = results.filter((r) => r.meetsTarget === false);
if (missed.length > 0 && !asJson) {
  console.log(`\n${missed.length} target(s) missed: ${missed.map((r) => r.name).join(', ')}`);
}

function fmtRate(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M/s`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k/s`;
  return `${x.toFixed(1)} /s`;
}

function fmtTime(us: number): string {
  if (us < 1) return `${(us * 1000).toFixed(0)} ns`;
  if (us < 1000) return `${us.toFixed(2)} µs`;
  return `${(us / 1000).toFixed(2)} ms`;
}

function fmtTarget(r: BenchResult): string {
  const t = r.target;
  if (!t) return '';
  const parts: string[] = [];
  if (t.minOpsPerSec !== undefined) parts.push(`≥ ${fmtRate(t.minOpsPerSec)}`);
  if (t.maxMicrosPerOp !== undefined) parts.push(`≤ ${fmtTime(t.maxMicrosPerOp)}`);
  if (t.maxRatio !== undefined) parts.push(`ratio ≤ ${t.maxRatio}`);
  return `${parts.join(', ')} ${r.meetsTarget ? 'ok' : 'MISSED'}`;
}

/** A case's own figures: `p50Ms: 0.21` prints as `p50 210.00 µs`. */
function fmtExtra(r: BenchResult): string {
  if (!r.extra) return '';
  return Object.entries(r.extra)
    .map(([k, v]) => (k.endsWith('Ms') ? `${k.slice(0, -2)} ${fmtTime(v * 1000)}` : `${k} ${v}`))
    .join(', ');
}

function printTable(rs: BenchResult[]): void {
  const rows = rs.map((r) => [
    r.group,
    r.name,
    fmtRate(r.opsPerSec),
    fmtTime(r.microsPerOp),
    r.ratio !== undefined ? `${r.ratio.toFixed(2)}× ${r.baseline}` : '',
    fmtTarget(r),
    fmtExtra(r),
  ]);
  const head = ['group', 'case', 'rate', 'time/op', 'vs baseline', 'target', 'extra'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '─'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}
