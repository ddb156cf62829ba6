import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { removeLedgerFiles } from '../../ledger/headFile.js';
import { seededRandom } from '../../math/random.js';
import { connectMqtt } from '../../net/mqttClient.js';
import type { MqttLink } from '../../net/mqttLink.js';
import type { MaasParams } from '../../schemes/maas/params.js';
import type { AttackKind, MaasFaults } from '../../sim/maasFaults.js';
import type { MaasRunResult, QueryRun } from '../../sim/maasRunner.js';
import { scoredQuery, totalsAgainstTruth } from '../../sim/maasScoring.js';
import { loadDeploymentFile, workloadFor } from '../deploymentFile.js';
import { taDeployment } from '../runtime.js';
import { startInProcessRoles } from './inProcessRoles.js';
import { fetchChain, oemQueries, partialAttacks } from './ledgerClient.js';
import { processLogsDir, startProcessRoles } from './processRoles.js';
import { RogueClient } from './rogueClient.js';
import { type DemoContext, isListed } from './roles.js';
import { roundsFromChain } from './roundsFromChain.js';

/**
 * The MaaS scenario of `privagg demo`, over the networked runtime: an MQTT broker (the
 * embedded aedes one, or a URL), the ledger server (SQLite block store, HTTP API, round
 * driver), one `GatewayService` per live gateway with its own MQTT connection, the device
 * fleet on its own connection, a rogue MQTT client, and the OEM querying over HTTP, on
 * wall-clock rounds. By default every role runs in this process, talking only through
 * real sockets (`inProcessRoles.ts`); with `processes` they are `privagg up`'s child
 * processes (`processRoles.ts`).
 *
 * Faults and attacks are the in-process runner's (same placement, same bytes): failed
 * gateways are never started; lying gateways send perturbed partials tagged with their
 * real keys; failed devices stay silent; the compromised device (the last of each IAN)
 * sends one gateway an out-of-range share; the rogue client injects the device-side
 * attacks on the broker; forged and replayed partials and queries go to the ledger's
 * HTTP API. What happened is read back from the ledger file (restore outcomes and round
 * statuses) and the roles' own counters, into the runner's result shape.
 */
export interface NetworkedMaasOptions {
  ians: number;
  devicesPerIan: number;
  gateways: number;
  threshold: number;
  rounds: number;
  ldp: MaasParams['ldp'];
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
  /** 'embedded' (default) or an MQTT URL. */
  broker?: string;
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
  };
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
          workload: o.workload,
          ...(o.data ? { data: resolve(o.data) } : {}),
          ldp: o.ldp ?? 'off',
          modes: o.paperMode ? 'paper' : 'default',
        },
        // The ledger gives stragglers up to three restore delays; a round is short, so is that.
        rounds: { count: o.rounds, durationMs, restoreDelayMs: Math.round(durationMs / 4) },
        broker: { url: o.broker ?? 'embedded' },
        // Not yet secure: the demo's rogue client eavesdrops on and injects into the broker
        // anonymously, which the secure default (TLS, ACLs) forbids. Said in its summary.
        security: { insecure: true },
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
  const statusCount = new Map<number, number>();
  let rogueClient: RogueClient | undefined;
  let rogueLink: MqttLink | undefined;
  const context: DemoContext = {
    spec,
    specFile,
    dep,
    workload,
    faults,
    seed: o.seed,
    outOfRangeTargets,
    durationMs,
    log,
    onStatus: (s) => {
      const c = (statusCount.get(s.round) ?? 0) + 1;
      statusCount.set(s.round, c);
      if (c === params.ians) o.onRound?.(s.round, s.round + 1, o.rounds);
    },
    beforeRoundZero: async (brokerUrl, clock) => {
      if (attacks.size === 0) return;
      rogueLink = await connectMqtt(brokerUrl, {
        clientId: `${name}-rogue`,
        logger: log.child({ role: 'rogue' }),
      });
      rogueClient = new RogueClient({
        link: rogueLink,
        deployment: dep,
        attacks,
        // The first live gateway of each IAN: attacks on a dead one would reach nobody.
        targetGateway: (v) => {
          for (let l = 1; l <= m; l++) if (!isListed(faults.failedGateways, v, l)) return l;
          return 1;
        },
        // Not the last device: with 'out-of-range-share' that one is the compromised device.
        insiderTarget: () => Math.max(0, n - 2),
        rounds: o.rounds,
        rng: seededRandom(`fault/${o.seed}/rogue`),
        clock,
      });
      await rogueClient.start();
    },
  };

  const roles = await (o.processes
    ? startProcessRoles(context, o.processes.entry)
    : startInProcessRoles(context)
  ).catch(async (e: unknown) => {
    await rogueLink?.close().catch(() => undefined);
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
    await rogueClient?.drain();

    // After the rounds: read the public chain, attack the ledger, query as the OEM.
    const chain = await fetchChain(roles.ledgerUrl);
    const partialTally = await partialAttacks(roles.ledgerUrl, chain, attacks, params);
    const oem = await oemQueries(roles.ledgerUrl, dep, attacks, o.rounds);
    const fromChain = roundsFromChain(chain, params, workload, o.rounds);
    const counted = await roles.collect();

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
      scenario: {
        workload: workload.name,
        ians: params.ians,
        devicesPerIan: n,
        gateways: m,
        threshold: params.threshold,
        rounds: o.rounds,
        dimensions: params.dimensions,
        ldp: params.ldp,
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
        injected: { ...(rogueClient?.injected ?? {}) },
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
      },
    };
  } finally {
    await rogueLink?.close().catch(() => undefined);
    await roles.stop();
  }
}
