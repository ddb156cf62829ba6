/**
 * `npm run bench:soak [-- --minutes 60] [-- --devices 1000] [-- --round-ms 500]
 *   [-- --sample-s 10] [-- --out <dir>] [-- --broker embedded|mosquitto] [-- --keep]`
 *
 * A soak: the deployment run as `privagg up` runs it — secure (TLS with client
 * certificates, broker ACLs, per-role credential bundles), the ledger, m = 5 gateway
 * processes (gatewayProcesses 'per-index'), one device fleet, the broker embedded in this
 * process or a Mosquitto `up` starts — for a long time, watching each process's resident
 * memory. Issue 9 (finding 9) saw a ledger grow ~12 MiB a minute; a deployment meant to
 * run for weeks must stay flat in every role and lose nothing.
 *
 * Shape: --devices split over --ians IANs (default 4 × 250), 5 gateways, k = 3, 5
 * dimensions, synthetic workload, LDP off (so every restored total can be checked exactly).
 * Rounds: minutes · 60,000 / round-ms of them.
 *
 * Every --sample-s seconds it reads VmRSS and VmHWM of every role process (/proc) and of
 * this process (which hosts the embedded broker and `up`'s bookkeeping), and prints a
 * progress line. At the end: per role, RSS after the warm-up, at the end, max, and the
 * least-squares slope after the warm-up (the first 10 % of the run or 2 minutes, whichever
 * is less), with a verdict (verdict.ts says what "flat" means and why); and nothing lost:
 * IAN-round statuses, and the ledger file read back against the workload's ground truth.
 * Writes <out>/soak.json (every sample) and <out>/soak.svg (RSS over time).
 *
 * A benchmark, not a test: exit status 0 whenever the run completes, whatever it shows;
 * 1 when it cannot (a process never became ready, the rounds never finished); 130 on
 * Ctrl-C, after writing what was sampled so far.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDeploymentFile, SYNTHETIC_MAX_VALUES } from '../../src/node/deploymentFile.js';
import { type RunningDeployment, up } from '../../src/node/orchestrator.js';
import { checkLedger, type LedgerCheck } from './ledgerCheck.js';
import { type LedgerMemory, ledgerMetricsReader } from './ledgerMetrics.js';
import { parseSoakArgs } from './options.js';
import { childPidByName, type ProcSample, readProc } from './procfs.js';
import { printSummary } from './summary.js';
import { rssChart } from './svg.js';
import { FLAT_BOUND, judge, type RoleMemory } from './verdict.js';

const here = dirname(fileURLToPath(import.meta.url));
process.chdir(resolve(here, '..', '..')); // children run `node --import tsx src/cli/main.ts` from the repo root

const o = parseSoakArgs(process.argv.slice(2));
const say = (msg: string) => process.stderr.write(`[bench:soak] ${msg}\n`);

/** Shape fixed by the soak: what changes is its length and the device count. */
const GATEWAYS = 5;
const THRESHOLD = 3;
const DIMENSIONS = 5;
/** From "every process ready" to round 0: the fleet derives its keys once it has the epoch. */
const STARTUP_MS = 5000;
/** Past the last round's end, how long the ledger may still take before the run is aborted. */
const GRACE_MS = 120_000;

const rounds = Math.round((o.minutes * 60_000) / o.roundMs);
const devicesPerIan = o.devices / o.ians;
if (o.ians * devicesPerIan * rounds * DIMENSIONS > SYNTHETIC_MAX_VALUES) {
  console.error(
    `${o.devices} devices × ${rounds} rounds × ${DIMENSIONS} dimensions exceeds the synthetic workload's ` +
      `${SYNTHETIC_MAX_VALUES} values (src/node/deploymentFile.ts): shorten the run or lengthen the rounds`,
  );
  process.exit(2);
}
const runMin = (rounds * o.roundMs) / 60_000;
/** Left out of the slopes: start-up allocation, JIT, heaps growing to their working size. */
const warmUpMin = Math.min(0.1 * runMin, 2);

const out = o.out ? resolve(o.out) : mkdtempSync(join(tmpdir(), 'privagg-soak-'));
mkdirSync(out, { recursive: true });
const stateDir = mkdtempSync(join(tmpdir(), 'privagg-soak-state-'));
const deploymentFile = join(stateDir, 'deployment.json');
writeFileSync(
  deploymentFile,
  JSON.stringify({
    name: 'soak',
    stateDir,
    scheme: {
      ians: o.ians,
      devicesPerIan,
      gateways: GATEWAYS,
      threshold: THRESHOLD,
      workload: 'synthetic',
      dimensions: DIMENSIONS,
      ldp: 'off',
      modes: 'default',
    },
    rounds: { count: rounds, durationMs: o.roundMs, restoreDelayMs: o.restoreDelayMs },
    broker: { url: o.broker },
    security: { insecure: false },
    ledger: { file: 'ledger.sqlite' },
    gatewayProcesses: 'per-index',
  }),
);
const spec = loadDeploymentFile(deploymentFile);

// ─── Samples ───────────────────────────────────────────────────────────────────────────

interface Sample {
  /** Minutes since the start of round 0 (negative before it). */
  tMin: number;
  load1: number;
  roundsDone: number;
  statuses: { complete: number; degraded: number; failed: number };
  procs: Record<string, ProcSample & { pid: number }>;
  /** The ledger's own figures (GET /metrics), when it answered. */
  ledger?: LedgerMemory;
}
const samples: Sample[] = [];
const events: Array<{ tMin: number; role: string; event: Record<string, unknown> }> = [];
const loadAtStart = loadavg();
let running: RunningDeployment | undefined;
let readLedger: () => Promise<LedgerMemory | undefined> = async () => undefined;
const brokerRole = o.broker === 'embedded' ? 'bench+broker' : 'bench';

/** The processes to watch: every role's current pid, this process, and a Mosquitto of `up`'s. */
function watched(): Map<string, number | undefined> {
  const pids = new Map<string, number | undefined>();
  for (const [role, child] of running?.children ?? []) pids.set(role, child.pid);
  pids.set(brokerRole, process.pid);
  if (o.broker === 'mosquitto') pids.set('mosquitto', childPidByName(process.pid, 'mosquitto'));
  return pids;
}

function statusCounts() {
  const c = { complete: 0, degraded: 0, failed: 0 };
  for (const s of running?.statuses ?? []) c[s.status]++;
  return c;
}

/** One sample: /proc first (all processes within a millisecond), then the ledger's metrics. */
async function sample(): Promise<Sample> {
  const procs: Sample['procs'] = {};
  for (const [role, pid] of watched()) {
    const p = readProc(pid);
    if (p && pid !== undefined) procs[role] = { ...p, pid };
  }
  const s: Sample = {
    tMin: running ? (Date.now() - running.epochMs) / 60_000 : 0,
    load1: loadavg()[0]!,
    roundsDone: Math.floor((running?.statuses.length ?? 0) / o.ians),
    statuses: statusCounts(),
    procs,
  };
  samples.push(s);
  const ledger = await readLedger();
  if (ledger) s.ledger = ledger;
  return s;
}

function progressLine(s: Sample): string {
  const clock = (min: number) =>
    `${min < 0 ? '-' : ''}${Math.floor(Math.abs(min))}:${String(Math.floor((Math.abs(min) * 60) % 60)).padStart(2, '0')}`;
  const rss = Object.entries(s.procs)
    .map(([role, p]) => `${role} ${p.rssMiB.toFixed(0)}`)
    .join(', ');
  const st = s.statuses;
  const lg = s.ledger
    ? ` · ledger heap ${s.ledger.heapUsedMiB.toFixed(0)}/${s.ledger.heapTotalMiB.toFixed(0)} MiB, external ${s.ledger.externalMiB.toFixed(0)} MiB, ${s.ledger.retainedEntries} retained entries`
    : '';
  return (
    `${clock(s.tMin)}/${clock(runMin)} rounds ${s.roundsDone}/${rounds} · IAN-rounds ` +
    `${st.complete} complete, ${st.degraded} degraded, ${st.failed} failed · ` +
    `RSS MiB: ${rss}${lg} · load ${s.load1.toFixed(2)}`
  );
}

// ─── The run ───────────────────────────────────────────────────────────────────────────

say(
  `${o.devices} devices (${o.ians} IANs × ${devicesPerIan}) × ${DIMENSIONS} dimensions, ` +
    `${GATEWAYS} gateways per IAN (k = ${THRESHOLD}, per-index processes), ${rounds} rounds of ` +
    `${o.roundMs} ms (${runMin.toFixed(2)} min), broker ${o.broker}, secure (TLS, ACLs, per-role bundles); ` +
    `RSS every ${o.sampleS} s, slopes after a warm-up of ${warmUpMin.toFixed(2)} min; state in ${stateDir}`,
);
let outcome: 'completed' | 'aborted' | 'interrupted' = 'completed';
let abortReason = '';
let sampler: NodeJS.Timeout | undefined;
let check: LedgerCheck | undefined;
try {
  running = await up({
    deploymentFile,
    spec,
    entry: { command: process.execPath, args: ['--import', 'tsx', 'src/cli/main.ts'] },
    startupMs: STARTUP_MS,
    gatewayProcesses: 'per-index',
    onEvent(role, ev) {
      // Supervision and exits are rare and matter; round events are counted from statuses.
      if (ev.event === 'round' || ev.event === 'ready') return;
      const tMin = running ? (Date.now() - running.epochMs) / 60_000 : 0;
      events.push({ tMin, role, event: ev });
      if (role === 'up' || ev.event === 'exit') say(`${role}: ${JSON.stringify(ev)}`);
    },
  });
  const dep = running;
  say(`every process ready; broker ${dep.brokerUrl}, ledger ${dep.ledgerUrl}`);
  readLedger = ledgerMetricsReader(dep, spec.name);
  say(progressLine(await sample()));
  sampler = setInterval(() => void sample().then((s) => say(progressLine(s))), o.sampleS * 1000);
  const deadline = dep.epochMs + rounds * o.roundMs + GRACE_MS - Date.now();
  const ended = await Promise.race([
    dep.finished.then(() => 'finished' as const),
    new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), deadline).unref()),
    new Promise<'sigint'>((r) =>
      // A Ctrl-C reaches the whole process group, and npm and tsx relay it again: every
      // SIGINT after the first is acknowledged, not fatal, so the run stops its processes
      // and writes what it sampled instead of dying and leaving them behind.
      process.on('SIGINT', () => {
        if (outcome === 'interrupted') say('stopping: waiting for every process to exit');
        outcome = 'interrupted';
        r('sigint');
      }),
    ),
  ]);
  clearInterval(sampler);
  say(progressLine(await sample())); // the last sample, while every process still runs
  if (ended === 'timeout') {
    outcome = 'aborted';
    abortReason = `the ledger had not finished the rounds ${GRACE_MS / 1000} s after the last one ended`;
  } else if (ended === 'sigint') {
    outcome = 'interrupted';
    abortReason = 'interrupted (SIGINT)';
  }
  await dep.stop();
  if (outcome === 'completed') {
    say('reading the ledger back against the ground truth');
    check = checkLedger(spec, Math.ceil((warmUpMin * 60_000) / o.roundMs));
  }
} catch (e) {
  outcome = 'aborted';
  abortReason = e instanceof Error ? e.message : String(e);
  clearInterval(sampler);
  await running?.stop().catch(() => undefined);
}

// ─── Figures ───────────────────────────────────────────────────────────────────────────

const roles = [...new Set(samples.flatMap((s) => Object.keys(s.procs)))];
const memory: RoleMemory[] = roles.map((role) => {
  const mine = samples.filter((s) => s.procs[role]);
  return judge(
    role,
    mine.map((s) => s.tMin),
    mine.map((s) => s.procs[role]!.rssMiB),
    mine.at(-1)?.procs[role]?.hwmMiB ?? Number.NaN,
    warmUpMin,
  );
});
// The ledger's own figures, each judged like an RSS series: beside the ledger's RSS they
// say whether a growth is in its JS structures (heap in use), V8's committed pages, or
// outside the heap (ledgerMetrics.ts).
const ledgerSeries: [string, (m: LedgerMemory) => number][] = [
  ['ledger V8 heap', (m) => m.heapUsedMiB],
  ['ledger V8 committed', (m) => m.heapTotalMiB],
  ['ledger external', (m) => m.externalMiB],
];
for (const [name, of] of ledgerSeries) {
  const withIt = samples.filter((s) => s.ledger && Number.isFinite(of(s.ledger)));
  if (withIt.length === 0) continue;
  const t = withIt.map((s) => s.tMin);
  memory.push(
    judge(
      name,
      t,
      withIt.map((s) => of(s.ledger!)),
      Number.NaN,
      warmUpMin,
    ),
  );
}
const retainedAfterWarmUp = samples
  .filter((s) => s.tMin >= warmUpMin && s.ledger)
  .map((s) => s.ledger!.retainedEntries);
const retainedEntries = {
  start: retainedAfterWarmUp[0],
  end: retainedAfterWarmUp.at(-1),
  max: retainedAfterWarmUp.length > 0 ? Math.max(...retainedAfterWarmUp) : undefined,
};
const restarts = Object.fromEntries(running?.restarts ?? []);
const statuses = statusCounts();
const ledgerBytes = (() => {
  try {
    return statSync(spec.ledger.file).size;
  } catch {
    return 0;
  }
})();
const machine = {
  node: process.version,
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  totalMemMiB: Math.round(totalmem() / 2 ** 20),
  loadAverageAtStart: loadAtStart,
  loadAverageAtEnd: loadavg(),
  meanLoad1: samples.reduce((a, s) => a + s.load1, 0) / Math.max(1, samples.length),
};
const report = {
  outcome,
  ...(abortReason ? { abortReason } : {}),
  shape: {
    devices: o.devices,
    ians: o.ians,
    devicesPerIan,
    gateways: GATEWAYS,
    threshold: THRESHOLD,
    dimensions: DIMENSIONS,
    ldp: 'off',
    broker: o.broker,
    security: 'TLS + ACLs + per-role bundles',
    gatewayProcesses: 'per-index',
  },
  rounds: { count: rounds, durationMs: o.roundMs, restoreDelayMs: o.restoreDelayMs, runMin },
  sampling: { periodS: o.sampleS, warmUpMin, warmUpRule: 'min(10 % of the run, 2 min)' },
  flatBound: FLAT_BOUND,
  memory,
  ledgerRetainedEntries: retainedEntries,
  statuses,
  restarts,
  ledger: check,
  ledgerFileBytes: ledgerBytes,
  machine,
  events,
  samples,
};
writeFileSync(join(out, 'soak.json'), `${JSON.stringify(report, null, 1)}\n`);
writeFileSync(
  join(out, 'soak.svg'),
  rssChart({
    title: `privagg soak: ${o.devices} devices, ${rounds} rounds of ${o.roundMs} ms, broker ${o.broker}, secure`,
    subtitle:
      `${outcome}; mean 1-min load ${machine.meanLoad1.toFixed(1)} on ${machine.cores} cores; ` +
      `slopes after the shaded warm-up; flat: |slope| ≤ ${FLAT_BOUND.maxSlopeMiBPerMin} MiB/min and growth ≤ ${FLAT_BOUND.maxGrowthShare * 100} %`,
    warmUpMin,
    series: roles.map((role) => ({
      name: role,
      points: samples
        .filter((s) => s.procs[role])
        .map((s): [number, number] => [s.tMin, s.procs[role]!.rssMiB]),
    })),
    labels: memory.map(
      (m) =>
        `${m.role}: ${m.slopeMiBPerMin >= 0 ? '+' : ''}${m.slopeMiBPerMin.toFixed(2)} MiB/min, ${m.verdict}`,
    ),
  }),
);

const { lost } = printSummary({
  outcome,
  abortReason,
  memory,
  warmUpMin,
  statuses,
  expectedIanRounds: rounds * o.ians,
  restarts,
  check,
  retainedEntries,
  machine,
  files: [join(out, 'soak.json'), join(out, 'soak.svg')],
});
// The state (ledger, logs, certificates) is kept only when it is worth a look.
const flat = memory.every((m) => m.verdict === 'flat');
if (!o.keep && outcome === 'completed' && flat && !lost)
  rmSync(stateDir, { recursive: true, force: true });
else console.log(`state, ledger and logs kept in ${stateDir}`);
process.exit(outcome === 'completed' ? 0 : outcome === 'interrupted' ? 130 : 1);
