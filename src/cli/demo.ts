import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { composedLdpBudget, type LdpBudget } from '../dp/ldpBudget.js';
import { PrivaggError } from '../errors.js';
import { MaasLedgerNode } from '../ledger/embeddedLedger.js';
import { removeLedgerFiles } from '../ledger/headFile.js';
import { SqliteBlockStore } from '../ledger/sqliteStore.js';
import { verifyChain } from '../ledger/verifyChain.js';
import { seededRandom, systemRandom } from '../math/random.js';
import { type AuditorKeys, auditorKeysOfLedgerKey } from '../node/credentials/auditorKeys.js';
import {
  type DemoSecurity,
  type NetworkedMaasResult,
  runNetworkedMaas,
} from '../node/demo/networkedMaas.js';
import {
  acquireLedgerFileLock,
  acquireStateLock,
  assertLedgerFileFree,
  type StateLock,
} from '../node/stateLock.js';
import { renderMaasReport } from '../report/maasReport.js';
import {
  DEFAULT_MODES,
  defaultMaasParams,
  type MaasParams,
  PAPER_MODES,
} from '../schemes/maas/params.js';
import { ATTACK_KINDS, type AttackKind, NO_FAULTS, parsePlacement } from '../sim/maasFaults.js';
import { type MaasRunResult, runMaas } from '../sim/maasRunner.js';
import { demoWorkload } from './demoWorkload.js';
import { formatNumber, formatTable } from './table.js';

export interface DemoOptions {
  ians: string;
  devices: string;
  gateways: string;
  threshold: string;
  maxLyingGateways?: string;
  rounds: string;
  epsilon: string;
  delta: string;
  failDevices: string;
  failGateways: string;
  lyingGateways: string;
  attacks: string;
  seed: string;
  workload: string;
  data?: string;
  paperMode?: boolean;
  /** Proofs per report, or 'off'; absent: the default (3, none under the paper's modes). */
  inputValidity?: string;
  out: string;
  ledger?: string;
  json?: boolean;
  quiet?: boolean;
  /** The in-process runner (simulated clock, no sockets) instead of the networked runtime. */
  inProcess?: boolean;
  /** The networked roles in the demo's process (default: child processes, as `privagg up` runs them). */
  oneProcess?: boolean;
  /** 'embedded', 'mosquitto' or an MQTT URL (networked runtime only). */
  broker?: string;
  roundMs?: string;
  /** No TLS, ACLs or role checks (networked runtime only); the paper's modes and mqtt:// imply it. */
  insecure?: boolean;
}

/**
 * --input-validity: a number of proofs (1..8) or "off"; undefined when not given. The
 * paper's modes cannot carry the proofs, so asking for both is an error rather than a run
 * that silently goes without.
 */
function parseInputValidity(o: Pick<DemoOptions, 'inputValidity' | 'paperMode'>) {
  if (o.inputValidity === undefined) return undefined;
  if (o.inputValidity === 'off') return null;
  const proofs = Number(o.inputValidity);
  if (!Number.isInteger(proofs) || proofs < 1 || proofs > 8)
    throw new PrivaggError(
      'INVALID_ARGUMENT',
      `--input-validity must be a number of proofs 1..8 or "off", got "${o.inputValidity}"`,
    );
  if (o.paperMode)
    throw new PrivaggError(
      'INVALID_ARGUMENT',
      "--input-validity needs privagg's modes: the paper's per-dimension layout and restore cannot carry the proofs (use --input-validity off, or drop --paper-mode)",
    );
  return { proofs };
}

/**
 * The networked demo's round length unless --round-ms says: 600 ms, or 1000 ms when a
 * round carries more work — one process holding every role (and its TLS), the paper's
 * per-dimension messages and close-time batch checks, or range proofs on every report
 * (~1.7 ms per report to prove on one core; 100 devices, 7 gateway processes, the ledger
 * and the broker on two cores came out late at 600 ms, on time at 1000 ms).
 */
function defaultRoundMs(o: Pick<DemoOptions, 'paperMode' | 'oneProcess'>, params: MaasParams) {
  return o.paperMode || o.oneProcess || params.validity !== null ? '1000' : '600';
}

/**
 * Why a networked demo must run insecure, or undefined: the paper's modes (no AEAD; its
 * tags are meant to be compared with ours on the same open transport), a plaintext broker
 * URL, or the user's --insecure.
 */
export function insecureReason(o: Pick<DemoOptions, 'paperMode' | 'broker' | 'insecure'>) {
  if (o.insecure) return '--insecure';
  if (o.paperMode) return "--paper-mode (the paper's constructions run on an open transport)";
  if (o.broker?.startsWith('mqtt://')) return `a plaintext broker (${o.broker})`;
  return undefined;
}

function int(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new PrivaggError(
      'INVALID_ARGUMENT',
      `--${name} must be an integer ≥ ${min}, got "${value}"`,
    );
  return n;
}

export function parseAttacks(spec: string): AttackKind[] {
  const s = spec.trim();
  if (s === 'all') return [...ATTACK_KINDS];
  if (s === 'none' || s === '') return [];
  return s.split(',').map((a) => {
    const k = a.trim() as AttackKind;
    if (!ATTACK_KINDS.includes(k)) {
      throw new PrivaggError(
        'INVALID_ARGUMENT',
        `unknown attack "${a}"; known: ${ATTACK_KINDS.join(', ')}`,
      );
    }
    return k;
  });
}

/** Runs the demo and returns the result plus where it was written. */
export interface DemoSummary {
  command: string;
  elapsedMs: number;
  outputs: { json: string; html: string; ledger: string };
  ledger: {
    file: string;
    blocks: number;
    transactions: number;
    verified: boolean;
    /** Sealed contents opened and replayed, every partial's and query's signature checked. */
    audited: boolean;
    /** Liars named by restores, each with its signed partial on the chain. */
    liarsWithEvidence: number;
    verifyMs: number;
  };
  [key: string]: unknown;
}

/**
 * The demo, holding its output directory: two demos into one `out/` would overwrite each
 * other's ledger, state and reports, so the second is refused (STATE_LOCKED) with who
 * holds it.
 */
export async function runDemo(
  o: DemoOptions,
  command: string,
): Promise<{ result: MaasRunResult; summary: DemoSummary }> {
  const outDir = resolve(o.out);
  mkdirSync(outDir, { recursive: true });
  const lock = acquireStateLock(
    join(outDir, '.privagg-demo.lock'),
    `demo output directory ${outDir}`,
  );
  if (lock.tookOverFrom && !o.json && !o.quiet)
    console.error(
      `privagg: the output directory's lock was stale (${lock.tookOverFrom} is gone): taken over`,
    );
  const held: { ledger?: StateLock } = {};
  try {
    return await runDemoLocked(o, command, held);
  } finally {
    held.ledger?.release();
    lock.release();
  }
}

async function runDemoLocked(
  o: DemoOptions,
  command: string,
  held: { ledger?: StateLock },
): Promise<{ result: MaasRunResult; summary: DemoSummary }> {
  const ians = int('ians', o.ians, 1);
  const devices = int('devices', o.devices, 1);
  const gateways = int('gateways', o.gateways, 1);
  const threshold = int('threshold', o.threshold, 1);
  const maxLyingGateways =
    o.maxLyingGateways === undefined ? undefined : int('max-lying-gateways', o.maxLyingGateways, 0);
  const rounds = int('rounds', o.rounds, 1);
  if (threshold > gateways)
    throw new PrivaggError('INVALID_ARGUMENT', `--threshold ${threshold} > --gateways ${gateways}`);
  const ldp = o.epsilon === 'off' ? null : { epsilon: Number(o.epsilon), delta: Number(o.delta) };
  if (ldp && !(ldp.epsilon > 0))
    throw new PrivaggError(
      'INVALID_ARGUMENT',
      `--epsilon must be > 0 or "off", got "${o.epsilon}"`,
    );
  const srng = seededRandom(`demo/${o.seed}`);

  const workload = demoWorkload(o, { ians, devices, rounds });
  const validity = parseInputValidity(o);
  const params = defaultMaasParams({
    ians,
    devicesPerIan: devices,
    gateways,
    threshold,
    ...(maxLyingGateways !== undefined ? { maxLyingGateways } : {}),
    dimensions: workload.dimensionNames,
    maxReading: workload.maxReading,
    ldp,
    ...(validity !== undefined ? { validity } : {}),
    modes: o.paperMode ? PAPER_MODES : DEFAULT_MODES,
  });
  const failedGateways = parsePlacement(o.failGateways, ians, gateways, srng, {
    firstIan: 0,
    direction: 1,
    oneBased: true,
  }).map((p) => ({ ian: p.ian, gateway: p.index }));
  const lyingGateways = parsePlacement(o.lyingGateways, ians, gateways, srng, {
    firstIan: ians - 1,
    direction: -1,
    oneBased: true,
    avoid: failedGateways.map((g) => ({ ian: g.ian, index: g.gateway })),
  }).map((p) => ({ ian: p.ian, gateway: p.index }));
  // "0.02" (has a decimal point) is a per-round probability; "3" a count of devices down
  // for the whole run; "0:4,2:7" names them.
  const fd = o.failDevices.trim();
  const isProbability = /^(0|1)?\.\d+$/.test(fd);
  const probability = isProbability ? Number(fd) : 0;
  if (isProbability && !(probability >= 0 && probability <= 1)) {
    throw new PrivaggError(
      'INVALID_ARGUMENT',
      `--fail-devices probability must be in [0, 1], got "${fd}"`,
    );
  }
  const failedDevices = isProbability
    ? []
    : parsePlacement(fd, ians, devices, srng, { firstIan: 0, direction: 1, oneBased: false }).map(
        (p) => ({ ian: p.ian, device: p.index }),
      );

  const progress = !o.json && !o.quiet;
  const outDir = resolve(o.out);
  mkdirSync(outDir, { recursive: true });
  // The ledger file is made anew each run: its chain is bound to this run's keys.
  const ledgerPath = resolve(o.ledger ?? resolve(outDir, 'privagg-demo.ledger.sqlite'));
  // Never a ledger another process serves (--ledger may name any file). In process the
  // demo holds the file's lock itself (released with the out directory's); networked, its
  // ledger child takes it.
  if (o.inProcess) held.ledger = acquireLedgerFileLock(ledgerPath);
  else assertLedgerFileFree(ledgerPath);
  removeLedgerFiles(ledgerPath);
  const faults = {
    failedGateways,
    lyingGateways,
    failedDevices,
    deviceFailureProbability: probability,
  };
  const attacks = parseAttacks(o.attacks);
  const onRound = progress ? progressPrinter() : undefined;
  const started = Date.now();
  let result: MaasRunResult | NetworkedMaasResult;
  // The auditor's keys: the demo verifies the ledger file as an auditor would (contents
  // opened and replayed, every partial's and query's signature checked).
  let audit: AuditorKeys | undefined;
  if (o.inProcess) {
    let node: MaasLedgerNode | undefined;
    result = runMaas({
      ledger: (dep) => {
        const ledgerKey = dep.registry.ledgerKey();
        audit = auditorKeysOfLedgerKey(ledgerKey);
        node = new MaasLedgerNode({
          file: ledgerPath,
          config: { params: dep.params, oems: dep.oems },
          ledgerKey,
        });
        const n = node;
        return {
          add: (bytes, now) => n.add(bytes, now),
          restore: (ian, round, now) => n.restore(ian, round, now),
          query: (bytes, now, rng) => n.query(bytes, now, rng),
          endOfRound: () => void n.commit(),
        };
      },
      params,
      workload,
      rounds,
      faults,
      attacks,
      scenarioRng: srng,
      cryptoRng: systemRandom,
      onRound: onRound ? (_r, done, total) => onRound(done, total) : undefined,
    });
    node!.close();
  } else {
    const networked = await runNetworkedMaas({
      ians,
      devicesPerIan: devices,
      gateways,
      threshold,
      maxLyingGateways: params.maxLyingGateways,
      rounds,
      ldp,
      ...(validity !== undefined ? { inputValidity: validity } : {}),
      paperMode: o.paperMode ?? false,
      workload: o.workload as 'ai4i' | 'synthetic',
      ...(o.data ? { data: o.data } : {}),
      faults: { ...NO_FAULTS, ...faults },
      attacks,
      seed: o.seed,
      ...(!o.oneProcess
        ? {
            processes: {
              entry: { command: process.execPath, args: [...process.execArgv, process.argv[1]!] },
            },
          }
        : {}),
      stateDir: resolve(outDir, 'privagg-demo.state'),
      ledgerFile: ledgerPath,
      logFile: resolve(outDir, 'privagg-demo.log'),
      ...(o.broker ? { broker: o.broker } : {}),
      ...(insecureReason(o) ? { insecure: insecureReason(o) } : {}),
      roundDurationMs: int('round-ms', o.roundMs ?? defaultRoundMs(o, params), 50),
      ...(onRound
        ? { onRound: (_rd: number, done: number, total: number) => onRound(done, total) }
        : {}),
    });
    audit = networked.audit;
    result = networked;
  }
  const elapsedMs = Date.now() - started;
  // With LDP on, the same scenario again without it, in process (a few seconds): what the
  // pipeline recovers when no noise is added, beside what the private run gives.
  const exactRun = params.ldp
    ? exactCompanion(
        runMaas({
          params: { ...params, ldp: null },
          workload,
          rounds,
          faults,
          attacks,
          scenarioRng: seededRandom(`demo/${o.seed}/exact`),
          cryptoRng: systemRandom,
        }),
      )
    : null;
  const store = new SqliteBlockStore(ledgerPath);
  const verified = verifyChain(store, audit ?? {});
  store.close();

  const jsonPath = resolve(outDir, 'privagg-demo.json');
  const htmlPath = resolve(outDir, 'privagg-demo.html');
  const charged = result.queries.filter((q) => q.ok && q.answer?.spent);
  const summary: DemoSummary = {
    command,
    scenario: result.scenario,
    privacy: {
      // What the devices' LDP spends, composed over dimensions and rounds (null: LDP off).
      ldp: result.scenario.ldp
        ? composedLdpBudget(
            result.scenario.ldp,
            result.scenario.dimensions.length,
            result.scenario.rounds,
          )
        : null,
      // What the OEM's answered windows were charged (exact rationals, as the ledger keeps them).
      queries: {
        charged: charged.length,
        spent: charged.map((q) => q.answer!.spent!.epsilon),
        remaining: charged.at(-1)?.answer?.remaining?.epsilon ?? null,
      },
    },
    totals: result.totals,
    truth: result.truth,
    // The same scenario with LDP off, in process (null when this run is already exact).
    exactRun,
    rejected: result.rejected,
    lyingGateways: result.lyingGatewaysFound,
    tolerated: result.tolerated,
    queries: result.queries.map((q) => ({
      number: q.number,
      ok: q.ok,
      ...(q.code ? { code: q.code } : {}),
      ...(q.answer ? { ians: q.answer.ians, spent: q.answer.spent } : {}),
      ...(q.pearson ? { pearson: q.pearson } : {}),
    })),
    ledger: {
      file: ledgerPath,
      blocks: verified.blocks,
      transactions: verified.transactions,
      verified: verified.ok,
      audited: verified.contentsChecked === true && verified.signaturesChecked === true,
      liarsWithEvidence: verified.liars?.length ?? 0,
      verifyMs: Math.round(verified.elapsedMs),
    },
    elapsedMs,
    outputs: { json: jsonPath, html: htmlPath, ledger: ledgerPath },
    ...('network' in result ? { network: result.network } : { network: null }),
  };
  // The TA's evaluation: the truth and per-IAN estimates next to the answers, so readable
  // by the user who ran it only (mode 0600), like the credentials.
  writeFileSync(
    jsonPath,
    `${JSON.stringify({ ...summary, rounds: result.rounds, queryAnswers: result.queries }, bigintSafe, 2)}\n`,
    { mode: 0o600 },
  );
  chmodSync(jsonPath, 0o600);
  writeFileSync(
    htmlPath,
    renderMaasReport(result, {
      title: `privagg demo — MaaS trend query on ${result.scenario.workload}`,
      command,
      generatedAt: new Date().toISOString(),
      notes: [
        ...(exactRun
          ? [
              `Exact run (${exactRun.how}): totals ${Object.entries(exactRun.totals)
                .map(([d, t]) => `${d} ${t.estimate} (truth ${t.truth})`)
                .join(
                  ', ',
                )}; all-IAN trend r = ${exactRun.pearsonAll ?? '—'}. The plots below are the private run's: its LDP noise is the price of each device's privacy.`,
            ]
          : []),
        ...('network' in result
          ? [
              `Networked runtime: broker ${result.network.broker}, ledger API ${result.network.ledgerUrl}, rounds of ${result.network.roundDurationMs} ms; ${result.network.processes}.`,
              `${result.network.deviceMessages} device reports over MQTT; ${result.network.attackSubmissions.posted} forged or replayed partials and queries posted to the ledger, ${result.network.attackSubmissions.accepted} accepted.`,
              ...securityLines(result.network.security).map((l) => l.trim()),
            ]
          : ['In-process runner: every role in one process, a simulated clock, no sockets.']),
      ],
    }),
  );
  chmodSync(htmlPath, 0o600);
  return { result, summary };
}

/** A bar redrawn in place on a terminal; a line per quarter of the run otherwise (CI logs). */
/**
 * What the demo reports of its exact companion run: totals against their own truth (its
 * devices are those that entered its aggregates) and the all-IAN trend's correlation.
 */
function exactCompanion(r: MaasRunResult) {
  const all = r.queries.find((q) => q.number === r.scenario.ians);
  return {
    how: 'the same scenario with LDP off, in process (simulated clock)',
    totals: Object.fromEntries(
      r.scenario.dimensions.map((d) => [
        d,
        { estimate: r.totals[d]!.estimate, truth: r.truth[d]! },
      ]),
    ),
    failedIanRounds: r.tolerated.failedIanRounds,
    pearsonAll: all?.pearson?.all ?? null,
  };
}

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

export function progressPrinter(): (done: number, total: number) => void {
  const tty = process.stderr.isTTY;
  let lastQuarter = -1;
  return (done, total) => {
    if (tty) {
      const width = 30;
      const filled = Math.round((done / total) * width);
      process.stderr.write(
        `\r  rounds [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`,
      );
      if (done === total) process.stderr.write('\n');
      return;
    }
    const quarter = Math.floor((4 * done) / total);
    if (quarter !== lastQuarter) {
      lastQuarter = quarter;
      process.stderr.write(`  rounds ${done}/${total}\n`);
    }
  };
}

function bigintSafe(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
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
