import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { removeLedgerFiles } from '../../ledger/headFile.js';
import type { MaasParams } from '../../schemes/maas/params.js';
import type { AttackKind, MaasFaults } from '../../sim/maasFaults.js';
import type { MaasRunResult, QueryRun } from '../../sim/maasRunner.js';
import { scoredQuery, totalsAgainstTruth } from '../../sim/maasScoring.js';
import { type AuditorKeys, auditorKeysOfBundle } from '../credentials/auditorKeys.js';
import { identityOf, type Role } from '../credentials/identities.js';
import { loadDeploymentFile, workloadFor } from '../deploymentFile.js';
import { bundleOf, roleDeployment, taDeployment } from '../runtime.js';
import { type CompromisedDevices, connectCompromisedDevices } from './compromisedDevices.js';
import { startInProcessRoles } from './inProcessRoles.js';
import { fetchChain, oemQueries, partialAttacks } from './ledgerClient.js';
import { type ProbeOutcome, probeAsOutsider } from './outsiderProbes.js';
import { processLogsDir, startProcessRoles } from './processRoles.js';
import { type DemoContext, isListed } from './roles.js';
import { roundsFromChain } from './roundsFromChain.js';

/**
 * The MaaS scenario of `privagg demo`, over the networked runtime: an MQTT broker (the
 * embedded aedes one, a Mosquitto of the run's, or a URL), the ledger server (SQLite
 * block store, HTTP(S) API, round driver), one `GatewayService` per live gateway with its
 * own MQTT connection, the honest device fleet on its own connection, the attacker, and
 * the OEM querying, on wall-clock rounds. By default every role runs as `privagg up`'s
 * child processes (`processRoles.ts`); with `processes` unset they run in this process,
 * talking only through real sockets (`inProcessRoles.ts`).
 *
 * Secure by default, as `privagg up` is: TLS with client certificates on MQTT and HTTP,
 * broker ACLs, one credential bundle per identity. The attackers hold only what they
 * have compromised: the last device of each IAN (its own fleet bundle, run in this
 * process with the rogue client on its connection), a lying gateway (its own keys), the
 * gateways whose partials are replayed (their own certificates). An outsider with no
 * credential tries the broker and the ledger after the rounds. `insecure` (the paper's
 * modes, a plaintext broker) turns all of that off, and the summary says so.
 *
 * Faults and attacks are the in-process runner's (same placement, same bytes): failed
 * gateways are never started; lying gateways send perturbed partials tagged with their
 * real keys; failed devices stay silent; the compromised device sends one gateway an
 * out-of-range share; forged and replayed partials and queries go to the ledger's API.
 * What happened is read back from the ledger file (restore outcomes and round statuses),
 * the roles' own counters and the broker's refusals, into the runner's result shape.
 */
export interface NetworkedMaasOptions {
  ians: number;
  devicesPerIan: number;
  gateways: number;
  threshold: number;
  /** f, lying gateways tolerated per IAN; absent: the default min(k − 1, m − k). */
  maxLyingGateways?: number;
  rounds: number;
  ldp: MaasParams['ldp'];
  /** Input validity (range proofs); absent: the default (on, except under the paper's modes). */
  inputValidity?: MaasParams['validity'];
  paperMode: boolean;
  workload: 'ai4i' | 'synthetic';
  data?: string;
  faults: MaasFaults;
  attacks: readonly AttackKind[];
  /** The scenario seed; the faults' random streams (losses, lies, rogue tags) derive from it. */
  seed: string;
  /** Run the roles as child processes started like this ([node, …execArgv, entry]). */
  processes?: { entry: { command: string; args: string[] } };
  /** State (master secret, registration) of this run; made anew. */
  stateDir: string;
  ledgerFile: string;
  /** Pino log of every role (info and up). */
  logFile: string;
  /**
   * 'embedded' (default), 'mosquitto' (a Mosquitto started for the run with the generated
   * TLS and ACL configuration) or an MQTT URL (mqtts:// with this run's CA; mqtt:// is
   * plaintext, so the run is insecure).
   */
  broker?: string;
  /**
   * Run without TLS, ACLs or role checks, saying so (the paper's modes and plaintext
   * brokers need it): why, in a few words; undefined: secure.
   */
  insecure?: string;
  roundDurationMs?: number;
  onRound?: (round: number, done: number, total: number) => void;
}

export interface NetworkedMaasResult extends MaasRunResult {
  network: {
    broker: string;
    ledgerUrl: string;
    roundDurationMs: number;
    processes: string;
    /** Device reports published by the fleet (one per gateway per reporting device). */
    deviceMessages: number;
    /** Messages the rogue client injected, by attack kind. */
    injected: Partial<Record<AttackKind, number>>;
    /** Forged and replayed partials and queries posted to the ledger, and how many it took (must be 0). */
    attackSubmissions: { posted: number; accepted: number };
    /** Per live gateway: received, accepted, rejected, partials posted. */
    gateways: {
      ian: number;
      gateway: number;
      role: 'honest' | 'lying';
      received: number;
      accepted: number;
      rejected: number;
      partialsPosted: number;
    }[];
    mqttReconnects: number;
    logFile: string;
    security: DemoSecurity;
  };
  /** The auditor's keys, to verify the ledger file's sealed, signed contents afterwards. */
  audit: AuditorKeys;
}

/** What the run's transport security was, and what it refused. */
export interface DemoSecurity {
  /** 'secure': TLS with client certificates, broker ACLs, per-role bundles and ledger roles. */
  mode: 'secure' | 'insecure';
  /** Why the run was insecure (insecure runs only). */
  reason?: string;
  /** Connections tried with no credential of this deployment (secure runs only). */
  outsiders: ProbeOutcome[];
  /**
   * The compromised devices' subscriptions to other roles' topics: tried, refused by the
   * broker, and other devices' reports that reached it through them.
   */
  eavesdropping: { tried: number; refused: number; reportsReceived: number };
  /** The embedded broker's refusals (null for other brokers). */
  broker: {
    rejectedHandshake: number;
    rejectedConnect: number;
    rejectedPublish: number;
    rejectedSubscribe: number;
  } | null;
}

/**
 * A fresh deployment name per run: it is bound into the keys, and on a shared broker two
 * runs must not see each other's topics or take each other's client ids.
 */
function demoDeploymentName(): string {
  return `privagg-demo-${randomBytes(3).toString('hex')}`;
}

export async function runNetworkedMaas(o: NetworkedMaasOptions): Promise<NetworkedMaasResult> {
  const durationMs = o.roundDurationMs ?? 600;
  removeLedgerFiles(o.ledgerFile);
  rmSync(o.stateDir, { recursive: true, force: true });
  mkdirSync(o.stateDir, { recursive: true });
  const name = demoDeploymentName();
  // The deployment as a file: the child processes read it, and it documents the run next
  // to its state.
  const specFile = join(o.stateDir, 'deployment.json');
  writeFileSync(
    specFile,
    `${JSON.stringify(
      {
        name,
        stateDir: o.stateDir,
        scheme: {
          ians: o.ians,
          devicesPerIan: o.devicesPerIan,
          gateways: o.gateways,
          threshold: o.threshold,
          ...(o.maxLyingGateways !== undefined ? { maxLyingGateways: o.maxLyingGateways } : {}),
          workload: o.workload,
          ...(o.data ? { data: resolve(o.data) } : {}),
          ldp: o.ldp ?? 'off',
          ...(o.inputValidity !== undefined ? { inputValidity: o.inputValidity ?? 'off' } : {}),
          modes: o.paperMode ? 'paper' : 'default',
        },
        // The ledger gives stragglers up to three restore delays; a round is short, so is that.
        rounds: { count: o.rounds, durationMs, restoreDelayMs: Math.round(durationMs / 4) },
        broker: { url: o.broker ?? 'embedded' },
        // Secure unless asked (TLS, client certificates, ACLs, per-role bundles); the
        // attackers hold only the credentials of what they have compromised.
        security: { insecure: o.insecure !== undefined },
        ledger: { file: resolve(o.ledgerFile) },
      },
      null,
      2,
    )}\n`,
  );
  const spec = loadDeploymentFile(specFile);
  const dep = taDeployment(spec, true); // the TA (and the attackers), for this run
  const params = dep.params;
  const workload = workloadFor(spec);
  const log = pino({ level: 'info' }, pino.destination({ dest: o.logFile, sync: true }));
  const { faults } = o;
  const attacks = new Set(o.attacks);
  const isLyingGw = (v: number, l: number) => isListed(faults.lyingGateways, v, l);
  const n = params.devicesPerIan;
  const m = params.gateways;
  // The compromised device (the last of each IAN) sends one honest, live gateway a share
  // ≥ p under a valid tag; the other gateways get honest shares.
  const outOfRangeTargets = new Map<number, number>();
  if (attacks.has('out-of-range-share')) {
    for (let v = 0; v < params.ians; v++) {
      let l = 1;
      while (l < m && (isLyingGw(v, l) || isListed(faults.failedGateways, v, l))) l++;
      outOfRangeTargets.set(v, l);
    }
  }
  // With attacks, the last device of each IAN is compromised: its own fleet bundle, run by
  // the attacker in this process (compromisedDevices.ts); the honest devices are fleet 0.
  const isCompromised = (i: number) => attacks.size > 0 && i === n - 1;
  const fleets: { ian: number; device: number }[][] = [[], []];
  for (let v = 0; v < params.ians; v++)
    for (let i = 0; i < n; i++) fleets[isCompromised(i) ? 1 : 0]!.push({ ian: v, device: i });
  if (fleets[1]!.length === 0) fleets.pop();
  const statusCount = new Map<number, number>();
  let attacker: Awaited<ReturnType<typeof connectCompromisedDevices>> | undefined;
  let compromised: CompromisedDevices | undefined;
  const context: DemoContext = {
    spec,
    specFile,
    dep,
    workload,
    faults,
    seed: o.seed,
    outOfRangeTargets,
    durationMs,
    fleets,
    log,
    onStatus: (s) => {
      const c = (statusCount.get(s.round) ?? 0) + 1;
      statusCount.set(s.round, c);
      if (c === params.ians) o.onRound?.(s.round, s.round + 1, o.rounds);
    },
    connectAttacker: async (brokerUrl) => {
      if (fleets.length < 2) return;
      attacker = await connectCompromisedDevices({
        spec,
        brokerUrl,
        fleet: 1,
        workload,
        ta: dep,
        attacks,
        outOfRangeTargets,
        failed: new Set(faults.failedDevices.map((d) => `${d.ian}:${d.device}`)),
        spreadMs: Math.round(durationMs / 4),
        seed: o.seed,
        // The first live gateway of each IAN: attacks on a dead one would reach nobody.
        targetGateway: (v) => {
          for (let l = 1; l <= m; l++) if (!isListed(faults.failedGateways, v, l)) return l;
          return 1;
        },
        // Another device than the compromised one, whose report it forges.
        insiderTarget: () => Math.max(0, n - 2),
        logger: log.child({ role: 'attacker' }),
      });
    },
    startAttacker: async (clock) => {
      compromised = await attacker?.start(clock);
    },
  };

  const roles = await (o.processes
    ? startProcessRoles(context, o.processes.entry)
    : startInProcessRoles(context)
  ).catch(async (e: unknown) => {
    await compromised?.close();
    await attacker?.close();
    throw e;
  });
  try {
    // The ledger drives every round to a recorded status (or we give up, loudly).
    const limitMs = o.rounds * durationMs + 60_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      roles.finished,
      new Promise((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new Error(`the rounds did not finish within ${limitMs} ms; see ${o.logFile}`)),
          limitMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    await compromised?.rogue.drain();

    // After the rounds, each as the role that would: read the chain (auditor), attack the
    // ledger (compromised gateways, the compromised device), query (the OEM).
    // One bundle read per identity (a gateway's partials are many).
    const tlsCache = new Map<string, ReturnType<typeof bundleOf>['tls']>();
    const tlsOf = (identity: string, role: Role) => {
      if (!tlsCache.has(identity)) tlsCache.set(identity, bundleOf({ spec }, identity, role).tls);
      return tlsCache.get(identity);
    };
    const auditor = bundleOf({ spec }, identityOf.auditor(name), 'auditor');
    const audit = auditorKeysOfBundle(auditor);
    const chain = await fetchChain(roles.ledgerUrl, audit.contentKey, auditor.tls);
    const partialTally = await partialAttacks(
      roles.ledgerUrl,
      chain,
      attacks,
      params,
      (v, l) => tlsOf(identityOf.gateway(name, v, l), 'gateway'),
      fleets.length > 1 ? tlsOf(identityOf.devices(name, 1), 'devices') : undefined,
    );
    const oemBundle = bundleOf({ spec }, identityOf.oem(name, 0), 'oem');
    const oem = await oemQueries(
      roles.ledgerUrl,
      roleDeployment(spec, [oemBundle]),
      attacks,
      o.rounds,
      oemBundle.tls,
    );
    const fromChain = roundsFromChain(chain, params, workload, o.rounds);
    const counted = await roles.collect();
    if (compromised) {
      counted.fleet.silent += compromised.fleet.counters.silent;
      counted.fleet.published += compromised.fleet.counters.messagesPublished;
    }
    // Somebody with no credential of this deployment tries the broker and the ledger.
    const outsiders =
      o.insecure === undefined && attacks.size > 0
        ? await probeAsOutsider({
            brokerUrl: roles.brokerUrl,
            ledgerUrl: roles.ledgerUrl,
            ca: oemBundle.tls!.ca,
            impersonate: identityOf.gateway(name, 0, 1),
          })
        : [];
    const brokerStats = roles.brokerStats?.();
    const security: DemoSecurity = {
      mode: o.insecure === undefined ? 'secure' : 'insecure',
      ...(o.insecure !== undefined ? { reason: o.insecure } : {}),
      outsiders,
      eavesdropping: {
        ...(compromised?.rogue.eavesdropping ?? { tried: 0, refused: 0, reportsReceived: 0 }),
      },
      broker: brokerStats
        ? {
            rejectedHandshake: brokerStats.rejectedHandshake,
            rejectedConnect: brokerStats.rejectedConnect,
            rejectedPublish: brokerStats.rejectedPublish,
            rejectedSubscribe: brokerStats.rejectedSubscribe,
          }
        : null,
    };

    const rejected = new Map<string, number>();
    const add = (counts: Partial<Record<string, number>>) => {
      for (const [code, c] of Object.entries(counts))
        rejected.set(code, (rejected.get(code) ?? 0) + (c ?? 0));
    };
    for (const g of counted.gateways) add(g.rejected);
    add(counted.ledgerRejected);

    const ianRounds = fromChain.rounds.flatMap((r) => r.ians);
    const queries = oem.runs.map(
      (q): QueryRun =>
        q.ok && q.answer
          ? scoredQuery(q.number, q.answer, fromChain.rounds)
          : { number: q.number, ok: false, code: q.code ?? 'UNKNOWN' },
    );
    const full = oem.runs.find((q) => q.number === params.ians)?.answer;
    const contributed = ianRounds.flatMap((x, idx) =>
      x.contributors.map((device) => ({
        ian: x.ian,
        device,
        round: fromChain.rounds[Math.floor(idx / params.ians)]!.round,
      })),
    );
    const { totals, truth } = totalsAgainstTruth(
      params.dimensions,
      full,
      workload.groundTruthOver(contributed),
    );
    return {
      audit,
      scenario: {
        workload: workload.name,
        ians: params.ians,
        devicesPerIan: n,
        gateways: m,
        threshold: params.threshold,
        maxLyingGateways: params.maxLyingGateways,
        rounds: o.rounds,
        dimensions: params.dimensions,
        ldp: params.ldp,
        validity: params.validity,
        modes: params.modes,
        faults,
        attacks: [...attacks],
      },
      rounds: fromChain.rounds,
      totals,
      truth,
      queries,
      rejected: Object.fromEntries([...rejected].sort(([a], [b]) => a.localeCompare(b))),
      lyingGatewaysFound: [...fromChain.liars].map(([k, rs]) => {
        const [ian, gateway] = k.split(':').map(Number);
        return { ian: ian!, gateway: gateway!, rounds: rs };
      }),
      tolerated: {
        failedGateways: faults.failedGateways.length,
        failedDeviceReports: counted.fleet.silent,
        droppedByReconciliation: fromChain.droppedByReconciliation,
        correctedLies: [...fromChain.liars.values()].reduce((s, rs) => s + rs.length, 0),
        degradedIanRounds: ianRounds.filter((x) => x.status === 'degraded').length,
        failedIanRounds: ianRounds.filter((x) => x.status === 'failed').length,
      },
      network: {
        broker: roles.brokerLabel,
        ledgerUrl: roles.ledgerUrl,
        roundDurationMs: durationMs,
        processes: roles.processes,
        deviceMessages: counted.fleet.published,
        injected: { ...(compromised?.rogue.injected ?? {}) },
        attackSubmissions: {
          posted: partialTally.posted + oem.attacks.posted,
          accepted: partialTally.accepted + oem.attacks.accepted,
        },
        gateways: counted.gateways.map((g) => ({
          ian: g.ian,
          gateway: g.gateway,
          role: isLyingGw(g.ian, g.gateway) ? 'lying' : 'honest',
          received: g.received,
          accepted: g.accepted,
          rejected: Object.values(g.rejected).reduce((s, c) => s + c, 0),
          partialsPosted: g.partialsPosted,
        })),
        mqttReconnects: counted.gateways.reduce((s, g) => s + g.reconnects, 0),
        logFile: o.processes ? `${o.logFile} and ${processLogsDir(o.stateDir)}/` : o.logFile,
        security,
      },
    };
  } finally {
    await compromised?.close();
    await attacker?.close();
    await roles.stop();
  }
}
