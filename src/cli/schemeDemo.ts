import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ed25519PublicFromPrivate } from '../crypto/ed25519.js';
import { PrivaggError } from '../errors.js';
import { removeLedgerFiles } from '../ledger/headFile.js';
import {
  openSchemeLedger,
  type SchemeLedger,
  type SchemeVerifyReport,
  verifySchemeChain,
  writeSchemeAuditorKeys,
} from '../ledger/scheme/index.js';
import { seededRandom, systemRandom, uniformInt } from '../math/random.js';
import { startSeamBroker } from '../node/seam/seamBroker.js';
import { acquireLedgerFileLock, acquireStateLock } from '../node/stateLock.js';
import { configureScheme, findScheme } from '../schemes/registry.js';
import { type Address, addressKey, CENTER } from '../schemes/scheme.js';
import { withDeviceAttacks } from '../sim/insiderReplay.js';
import { inMemory } from '../sim/memoryRouter.js';
import { populationOf, runScheme, type SchemeRunResult } from '../sim/schemeRunner.js';
import { demoWorkload } from './demoWorkload.js';
import { progressPrinter } from './progress.js';
import { flaggedLine, totalsTable } from './schemeTotals.js';

/**
 * `privagg demo --scheme <id>` for every scheme on the seam: the same data as the MaaS demo
 * (AI4I 2020 by default), the scheme's roles exchanging bytes over a real MQTT broker (the
 * embedded one, TLS with a client certificate per identity and the seam's access control)
 * or in memory (--in-process), faults (silent devices, aggregators down) and the
 * device-side attacks (an insider's replay and forgery), driven round by round by the one
 * driver every scheme shares. It prints the totals beside the truth recomputed for exactly
 * the devices that entered, the round statuses, who was flagged and what was refused, and
 * writes the same as JSON.
 */
export interface SchemeDemoOptions {
  scheme: string;
  schemeParams?: string;
  ians: string;
  devices: string;
  rounds: string;
  failDevices: string;
  failGateways: string;
  /** Aggregators that lie about their sums every round (+1 in every dimension, signed as ever). */
  lyingGateways?: string;
  attacks: string;
  seed: string;
  workload: string;
  data?: string;
  out: string;
  inProcess?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export interface SchemeDemoSummary {
  scheme: string;
  title: string;
  status: string;
  params: unknown;
  transport: string;
  workload: {
    name: string;
    ians: number;
    devicesPerIan: number;
    rounds: number;
    dimensions: string[];
  };
  faults: {
    devicesSilentPerRound: number;
    aggregatorsDown: string[];
    /** Aggregators lying by +1 in every dimension, every round (the fault model's lie). */
    aggregatorsLying: string[];
    attacks: boolean;
  };
  /** What the scheme says a lying aggregator meets (`privagg schemes`). */
  lyingAggregator: string;
  totals: { name: string; estimate: number; standardError: number; truth: number }[];
  statusCounts: SchemeRunResult['statusCounts'];
  statuses: { group: number; round: number; status: string; reasons: readonly string[] }[];
  flagged: { who: string; why: string; round: number }[];
  rejections: Record<string, number>;
  /** The scheme ledger the center ran in, verified after the run by replay, as an auditor would. */
  ledger: Pick<SchemeVerifyReport, 'ok' | 'blocks' | 'transactions' | 'recoveries' | 'replayed'> & {
    file: string;
    firstBad?: SchemeVerifyReport['firstBad'];
  };
  elapsedMs: number;
  files: { json: string; ledger: string; auditorKeys: string };
}

function int(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min)
    throw new PrivaggError('INVALID_ARGUMENT', `--${name} must be an integer ≥ ${min}, got "${v}"`);
  return n;
}

function schemeParamsOf(raw: string | undefined): unknown {
  if (raw === undefined) return {};
  try {
    return JSON.parse(raw);
  } catch {
    throw new PrivaggError('INVALID_ARGUMENT', `--scheme-params must be JSON, got "${raw}"`);
  }
}

export async function runSchemeDemo(o: SchemeDemoOptions): Promise<SchemeDemoSummary> {
  const scheme = findScheme(o.scheme);
  const ians = int('ians', o.ians, 1);
  const devices = int('devices', o.devices, 1);
  const rounds = int('rounds', o.rounds, 1);
  const workload = demoWorkload(o, { ians, devices, rounds });
  const rawParams = schemeParamsOf(o.schemeParams);
  const config = configureScheme(scheme.id, rawParams, populationOf(workload));
  const srng = seededRandom(`demo/${o.seed}/${scheme.id}`);
  // Faults: "0.02" is a per-round probability of each device staying silent; a count of
  // aggregators down for the whole run is spread over the groups from the last one.
  const fd = o.failDevices.trim();
  if (!/^(0|1)?(\.\d+)?$/.test(fd) || !(Number(fd) >= 0 && Number(fd) <= 1))
    throw new PrivaggError(
      'INVALID_ARGUMENT',
      `--fail-devices with --scheme is a per-round probability in [0, 1], got "${fd}"`,
    );
  const p = Number(fd);
  const silent = new Set<string>();
  for (let r = 0; r < rounds; r++)
    for (let g = 0; g < ians; g++)
      for (let i = 0; i < devices; i++)
        if (uniformInt(srng, 1_000_000) < p * 1_000_000) silent.add(`${g}/${i}/${r}`);
  /** `count` aggregators, the k-th from group `groupOf(k)`, none of them already `taken`. */
  const pick = (count: number, groupOf: (k: number) => number, taken: Set<string>) => {
    const picked: Address[] = [];
    for (let k = 0; k < count; k++) {
      const choices = config.topology
        .aggregators(groupOf(k))
        .filter((a) => !taken.has(addressKey(a)));
      if (choices.length === 0) break;
      const a = choices[uniformInt(srng, choices.length)]!;
      picked.push(a);
      taken.add(addressKey(a));
    }
    return picked;
  };
  const down = pick(
    int('fail-gateways', o.failGateways, 0),
    (k) => ians - 1 - (k % ians),
    new Set(),
  );
  const downKeys = new Set(down.map(addressKey));
  // Liars among the aggregators still up, from the first group on (downs go from the last).
  const lying = pick(
    int('lying-gateways', o.lyingGateways ?? '0', 0),
    (k) => k % ians,
    new Set(downKeys),
  );
  const lyingKeys = new Set(lying.map(addressKey));
  const attacks = o.attacks !== 'none';

  const outDir = resolve(o.out);
  mkdirSync(outDir, { recursive: true });
  const lock = acquireStateLock(
    join(outDir, '.privagg-demo.lock'),
    `demo output directory ${outDir}`,
  );
  // The center runs in a scheme ledger: a new file each run, its chain bound to this run's keys.
  const ledgerFile = join(outDir, `privagg-demo.${scheme.id}.ledger.sqlite`);
  const ledgerLock = acquireLedgerFileLock(ledgerFile);
  removeLedgerFiles(ledgerFile);
  const key = () => {
    const k = new Uint8Array(32);
    systemRandom.fill(k);
    return k;
  };
  const contentKey = key();
  const signingKey = key();
  const auditorFile = join(outDir, `privagg-demo.${scheme.id}.auditor.json`);
  let ledger: SchemeLedger | undefined;
  let centerKeys: Uint8Array | undefined;
  const progress = !o.json && !o.quiet;
  const broker = o.inProcess
    ? undefined
    : await startSeamBroker({ run: `demo-${scheme.id}`, config });
  const started = Date.now();
  try {
    if (progress) {
      process.stderr.write(
        `privagg demo --scheme ${scheme.id}: ${ians} IANs × ${devices} devices × ${rounds} rounds of ${workload.name}, ${broker ? `over MQTT (embedded broker ${broker.url}, TLS, a certificate per identity)` : 'in memory'}\n`,
      );
    }
    const onRound = progress ? progressPrinter() : undefined;
    const base = broker?.router;
    const router = attacks ? withDeviceAttacks(base ?? inMemory, (from) => from.index === 0) : base;
    const run = await runScheme({
      config,
      workload,
      seed: `demo/${o.seed}`,
      faults: {
        deviceSilent: (g, i, r) => silent.has(`${g}/${i}/${r}`),
        down: (who) => downKeys.has(addressKey(who)),
        lying: (who) => (lyingKeys.has(addressKey(who)) ? { shift: 1 } : undefined),
      },
      ...(router ? { router } : {}),
      center: (center, setup) => {
        centerKeys = setup.keysOf(CENTER);
        ledger = openSchemeLedger({
          file: ledgerFile,
          schemeId: scheme.id,
          params: rawParams,
          config,
          publicSetup: setup.publicSetup,
          centerKeys,
          signingKey,
          contentKey,
          center,
        });
        return ledger;
      },
      ...(onRound ? { onRound: (_r, done, of) => onRound(done, of) } : {}),
    });
    ledger?.close();
    // As an auditor would: structure and signatures, then every body opened and replayed
    // through a fresh center built from the recorded configuration.
    const ledgerPublicKey = ed25519PublicFromPrivate(signingKey);
    const verify = verifySchemeChain(ledgerFile, {
      contentKey,
      ledgerPublicKey,
      ...(centerKeys ? { centerKeys } : {}),
    });
    // For `privagg ledger verify <file> --scheme-keys <this>`: the auditor's replay later.
    rmSync(auditorFile, { force: true });
    if (centerKeys)
      writeSchemeAuditorKeys(auditorFile, { contentKey, centerKeys, ledgerPublicKey });
    const json = join(outDir, `privagg-demo.${scheme.id}.json`);
    const summary: SchemeDemoSummary = {
      scheme: scheme.id,
      title: scheme.title,
      status: scheme.status,
      params: config.publicConfig,
      transport: broker ? `mqtt (${broker.url}, TLS, per-identity certificates)` : 'in memory',
      workload: {
        name: workload.name,
        ians,
        devicesPerIan: devices,
        rounds,
        dimensions: [...workload.dimensionNames],
      },
      faults: {
        devicesSilentPerRound: p,
        aggregatorsDown: down.map(addressKey),
        aggregatorsLying: lying.map(addressKey),
        attacks,
      },
      lyingAggregator: config.properties.lyingAggregator,
      totals: run.totals.map((t) => ({ ...t })),
      statusCounts: run.statusCounts,
      statuses: run.rounds.flatMap((r) =>
        r.groups.map((g) => ({
          group: g.group,
          round: g.round,
          status: g.status,
          reasons: g.reasons,
        })),
      ),
      flagged: run.flagged.map((f) => ({ who: addressKey(f.who), why: f.why, round: f.round })),
      rejections: { ...run.rejections },
      ledger: {
        file: ledgerFile,
        ok: verify.ok,
        blocks: verify.blocks,
        transactions: verify.transactions,
        recoveries: verify.recoveries,
        replayed: verify.replayed,
        ...(verify.firstBad ? { firstBad: verify.firstBad } : {}),
      },
      elapsedMs: Date.now() - started,
      files: { json, ledger: ledgerFile, auditorKeys: auditorFile },
    };
    writeFileSync(json, `${JSON.stringify(summary, null, 2)}\n`);
    return summary;
  } finally {
    ledger?.close();
    await broker?.close();
    ledgerLock?.release();
    lock.release();
  }
}

export function printSchemeDemo(s: SchemeDemoSummary): void {
  const out: string[] = [];
  out.push(`${s.title} (${s.status}) — ${s.transport}`);
  out.push(
    `${s.workload.ians} IANs × ${s.workload.devicesPerIan} devices × ${s.workload.rounds} rounds of ${s.workload.name}; devices silent with probability ${s.faults.devicesSilentPerRound} per round; aggregators down: ${s.faults.aggregatorsDown.join(', ') || 'none'}; lying (+1 a dimension): ${s.faults.aggregatorsLying.join(', ') || 'none'}; insider replay and forgery ${s.faults.attacks ? 'on' : 'off'}`,
  );
  if (s.faults.aggregatorsLying.length > 0)
    out.push(
      `A lying aggregator in ${s.scheme} is ${s.lyingAggregator}${s.lyingAggregator === 'undetected' ? ': the totals below carry the lie, and nobody is named' : ''}.`,
    );
  out.push('');
  out.push(
    'Totals over every recovered IAN-round, beside the truth of exactly the devices that entered:',
  );
  out.push(totalsTable(s.totals));
  out.push('');
  const c = s.statusCounts;
  out.push(`IAN-rounds: ${c.complete} complete, ${c.degraded} degraded, ${c.failed} failed`);
  const reasons = new Map<string, number>();
  for (const st of s.statuses)
    for (const r of st.reasons) reasons.set(r, (reasons.get(r) ?? 0) + 1);
  for (const [r, n] of [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 8))
    out.push(`  ${n} × ${r}`);
  out.push(flaggedLine(s.flagged));
  const rej = Object.entries(s.rejections);
  out.push(
    `Refused on the way: ${rej.length === 0 ? 'nothing' : rej.map(([k, v]) => `${k} ${v}`).join(', ')}`,
  );
  const l = s.ledger;
  out.push(
    l.ok
      ? `Ledger: ${l.file}, ${l.blocks} blocks, ${l.recoveries} recoveries, bodies sealed; verified${l.replayed ? ' and replayed through a fresh center: every recovery recomputed equal' : ''}`
      : `Ledger: ${l.file} does NOT verify: block ${l.firstBad?.height}: ${l.firstBad?.reason}`,
  );
  out.push(`Wrote ${s.files.json} (${(s.elapsedMs / 1000).toFixed(1)} s)`);
  console.log(out.join('\n'));
}
