import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { composedLdpBudget } from '../dp/ldpBudget.js';
import { PrivaggError } from '../errors.js';
import { MaasLedgerNode } from '../ledger/embeddedLedger.js';
import { removeLedgerFiles } from '../ledger/headFile.js';
import { SqliteBlockStore } from '../ledger/sqliteStore.js';
import { verifyChain } from '../ledger/verifyChain.js';
import { seededRandom, systemRandom } from '../math/random.js';
import { type AuditorKeys, auditorKeysOfLedgerKey } from '../node/credentials/auditorKeys.js';
import { type NetworkedMaasResult, runNetworkedMaas } from '../node/demo/networkedMaas.js';
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
import { addressKey, aggregatorAt } from '../schemes/scheme.js';
import { ATTACK_KINDS, type AttackKind, NO_FAULTS, parsePlacement } from '../sim/maasFaults.js';
import { type MaasRunResult, runMaas } from '../sim/maasRunner.js';
import { securityLines } from './demoPrint.js';
import { demoWorkload } from './demoWorkload.js';
import { progressPrinter } from './progress.js';

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
    // The fields every scheme's summary shares (demo --scheme <id> writes the same ones).
    scheme: 'maas',
    flagged: result.lyingGatewaysFound.flatMap((g) =>
      g.rounds.map((round) => ({
        who: addressKey(aggregatorAt(g.ian, g.gateway - 1)),
        why: 'lied and was corrected',
        round,
      })),
    ),
    statuses: result.rounds.flatMap((r) =>
      r.ians.map((v) => ({ group: v.ian, round: r.round, status: v.status, reasons: v.reasons })),
    ),
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
export function exactCompanion(r: MaasRunResult) {
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

function bigintSafe(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}
