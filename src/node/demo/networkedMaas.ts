import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import type { RoundStatusRecord } from '../../ledger/embeddedLedger.js';
import { type RandomSource, uniformUnit } from '../../math/random.js';
import { type EmbeddedBroker, startEmbeddedBroker } from '../../net/embeddedBroker.js';
import { connectMqtt } from '../../net/mqttClient.js';
import type { MqttLink } from '../../net/mqttLink.js';
import { topics } from '../../net/topics.js';
import type { MaasParams } from '../../schemes/maas/params.js';
import { lyingPartial, outOfRangeReport } from '../../sim/maasAttacks.js';
import type { AttackKind, MaasFaults } from '../../sim/maasFaults.js';
import { type MaasRunResult, pearsonCorrelation, type QueryRun } from '../../sim/maasRunner.js';
import { parseDeployment, workloadFor } from '../deploymentFile.js';
import { DeviceFleet } from '../deviceFleet.js';
import { type CompromisedGateway, GatewayService } from '../gatewayService.js';
import { RoundClock } from '../roundClock.js';
import { allDevices, deploymentFor, publishEpoch, runLedger } from '../runtime.js';
import { fetchChain, oemQueries, partialAttacks } from './ledgerClient.js';
import { RogueClient } from './rogueClient.js';
import { roundsFromChain } from './roundsFromChain.js';

/**
 * The MaaS scenario of `privagg demo`, over the networked runtime: an MQTT broker (the
 * embedded aedes one, or a URL), the ledger server (SQLite block store, HTTP API, round
 * driver), one `GatewayService` per live gateway with its own MQTT connection, the device
 * fleet on its own connection, a rogue MQTT client, and the OEM querying over HTTP —
 * every role in this process but talking only through real sockets, on wall-clock
 * rounds. `privagg up` runs the same roles as separate processes.
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
  scenarioRng: RandomSource;
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
  const durationMs = o.roundDurationMs ?? 400;
  const srng = o.scenarioRng;
  for (const suffix of ['', '-wal', '-shm', '.key'])
    rmSync(`${o.ledgerFile}${suffix}`, { force: true });
  rmSync(o.stateDir, { recursive: true, force: true });
  mkdirSync(o.stateDir, { recursive: true });
  const name = demoDeploymentName();
  const spec = parseDeployment(
    JSON.stringify({
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
      ledger: { file: resolve(o.ledgerFile) },
    }),
    '(privagg demo).json',
    o.stateDir,
  );
  const dep = deploymentFor(spec, true); // the TA, for this run
  const params = dep.params;
  const workload = workloadFor(spec);
  const log = pino({ level: 'info' }, pino.destination({ dest: o.logFile, sync: true }));
  const { faults } = o;
  const attacks = new Set(o.attacks);
  const isFailedGw = (v: number, l: number) =>
    faults.failedGateways.some((g) => g.ian === v && g.gateway === l);
  const isLyingGw = (v: number, l: number) =>
    faults.lyingGateways.some((g) => g.ian === v && g.gateway === l);
  const n = params.devicesPerIan;
  const m = params.gateways;

  const broker: EmbeddedBroker | undefined =
    spec.broker.url === 'embedded' ? await startEmbeddedBroker() : undefined;
  const brokerUrl = broker?.url ?? spec.broker.url;
  const links: MqttLink[] = [];
  const connect = async (clientId: string, logger: Logger) => {
    const l = await connectMqtt(brokerUrl, { clientId: `${name}-${clientId}`, logger });
    links.push(l);
    return l;
  };
  const gateways: { ian: number; gateway: number; service: GatewayService }[] = [];
  let fleet: DeviceFleet | undefined;
  let ledger: Awaited<ReturnType<typeof runLedger>> | undefined;
  let rogueClient: RogueClient | undefined;
  let control: MqttLink | undefined;
  try {
    const statusCount = new Map<number, number>();
    ledger = await runLedger(
      { spec, brokerUrl, logger: log.child({ role: 'ledger' }) },
      {
        onStatus: (s: RoundStatusRecord) => {
          const c = (statusCount.get(s.round) ?? 0) + 1;
          statusCount.set(s.round, c);
          if (c === params.ians) o.onRound?.(s.round, s.round + 1, o.rounds);
        },
      },
    );
    const gatewayLinks: { ian: number; gateway: number; link: MqttLink; logger: Logger }[] = [];
    for (let v = 0; v < params.ians; v++) {
      for (let l = 1; l <= m; l++) {
        if (isFailedGw(v, l)) continue; // down for the whole run: never started
        const logger = log.child({ role: 'gateway', ian: v, gateway: l });
        gatewayLinks.push({
          ian: v,
          gateway: l,
          link: await connect(`gw-${v}-${l}`, logger),
          logger,
        });
      }
    }
    const fleetLogger = log.child({ role: 'devices' });
    const fleetLink = await connect('devices', fleetLogger);
    const rogueLink = await connect('rogue', log.child({ role: 'rogue' }));
    control = await connect('control', log);

    // Everyone is connected: round 0 starts shortly, announced as `privagg up` does. (The
    // services below subscribe in a few ms; one that started after a quarter of round 0
    // would sit the round out, and the log would say so.)
    const epochMs = Date.now() + 500;
    const clock = new RoundClock(epochMs, durationMs);
    for (const g of gatewayLinks) {
      const service = new GatewayService({
        key: dep.registry.gatewayKey(g.ian, g.gateway),
        params,
        link: g.link,
        ledgerUrl: ledger.url,
        clock,
        logger: g.logger,
        ...(isLyingGw(g.ian, g.gateway)
          ? {
              compromised: ((at) =>
                lyingPartial(
                  at.core,
                  at.round,
                  at.contributors,
                  at.sums,
                  at.attempt,
                  at.nowMs,
                  srng,
                  params,
                )) satisfies CompromisedGateway,
            }
          : {}),
      });
      await service.start();
      gateways.push({ ian: g.ian, gateway: g.gateway, service });
    }
    const liveTarget = (v: number) => {
      for (let l = 1; l <= m; l++) if (!isFailedGw(v, l)) return l;
      return 1;
    };
    if (attacks.size > 0) {
      const rogue = new RogueClient({
        link: rogueLink,
        deployment: dep,
        attacks,
        targetGateway: liveTarget,
        // Not the last device: with 'out-of-range-share' that one is the compromised device.
        insiderTarget: () => Math.max(0, n - 2),
        rounds: o.rounds,
        rng: srng,
        clock,
      });
      await rogue.start();
      rogueClient = rogue;
    }
    await publishEpoch(control, name, epochMs);
    if (Date.now() > epochMs)
      log.warn({ lateByMs: Date.now() - epochMs }, 'the roles were ready after round 0 began');

    // The compromised device (the last of each IAN) sends one honest, live gateway a share
    // ≥ p under a valid tag; the other gateways get honest shares.
    const corruptTarget = (v: number) => {
      let l = 1;
      while (l < m && (isLyingGw(v, l) || isFailedGw(v, l))) l++;
      return l;
    };
    const failedDevice = new Set(faults.failedDevices.map((d) => `${d.ian}:${d.device}`));
    fleet = new DeviceFleet({
      deployment: dep,
      workload,
      devices: allDevices(spec),
      link: fleetLink,
      clock,
      rounds: o.rounds,
      logger: fleetLogger,
      // Reports spread over the first quarter of the round, as real sensors would.
      spreadMs: Math.round(durationMs / 4),
      silent: (v, i) =>
        failedDevice.has(`${v}:${i}`) ||
        (faults.deviceFailureProbability > 0 &&
          uniformUnit(srng) < faults.deviceFailureProbability),
      ...(attacks.has('out-of-range-share')
        ? {
            compromised: (d, round, messages, nowMs) => {
              if (d.device !== n - 1) return messages;
              const target = corruptTarget(d.ian);
              return messages.map((msg) =>
                msg.gateway === target
                  ? {
                      gateway: target,
                      bytes: outOfRangeReport(dep, d.ian, d.device, target, round, nowMs),
                    }
                  : msg,
              );
            },
          }
        : {}),
    });

    // The ledger drives every round to a recorded status (or we give up, loudly).
    const limitMs = o.rounds * durationMs + 60_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      ledger.finished,
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
    const chain = await fetchChain(ledger.url);
    const partialTally = await partialAttacks(ledger.url, chain, attacks, params);
    const oem = await oemQueries(ledger.url, dep, attacks, o.rounds);
    const fromChain = roundsFromChain(chain, params, workload, o.rounds);

    const rejected = new Map<string, number>();
    const add = (counts: Partial<Record<string, number>>) => {
      for (const [code, c] of Object.entries(counts))
        rejected.set(code, (rejected.get(code) ?? 0) + (c ?? 0));
    };
    for (const g of gateways) add(g.service.counters.rejected);
    add(ledger.service.counters().rejected);

    const ianRounds = fromChain.rounds.flatMap((r) => r.ians);
    const queries = oem.runs.map((q): QueryRun => {
      if (!q.ok || !q.answer) return { number: q.number, ok: false, code: q.code ?? 'UNKNOWN' };
      const selected = q.answer.ians;
      const truthSeries: Record<string, number[]> = {};
      const pearson: Record<string, number | null> & { all: number | null } = { all: null };
      const flatA: number[] = [];
      const flatT: number[] = [];
      for (const d of q.answer.dimensions) {
        const t = fromChain.rounds.map((r) =>
          r.ians
            .filter((x) => selected.includes(x.ian) && x.truth)
            .reduce((sum, x) => sum + x.truth![d.index]!, 0),
        );
        const a = d.series.map((p) => p.value);
        truthSeries[d.name] = t;
        pearson[d.name] = pearsonCorrelation(a, t);
        flatA.push(...a);
        flatT.push(...t);
      }
      pearson.all = pearsonCorrelation(flatA, flatT);
      return { number: q.number, ok: true, answer: q.answer, truthSeries, pearson };
    });
    const full = oem.runs.find((q) => q.number === params.ians)?.answer;
    const contributed = ianRounds.flatMap((x, idx) =>
      x.contributors.map((device) => ({
        ian: x.ian,
        device,
        round: fromChain.rounds[Math.floor(idx / params.ians)]!.round,
      })),
    );
    const truthTotals = workload.groundTruthOver(contributed);
    const totals: MaasRunResult['totals'] = {};
    const truth: MaasRunResult['truth'] = {};
    for (const [j, name] of params.dimensions.entries()) {
      truth[name] = truthTotals[j]!;
      const d = full?.dimensions.find((x) => x.index === j);
      totals[name] = d
        ? { estimate: d.total, standardError: d.totalStandardError }
        : { estimate: Number.NaN, standardError: Number.NaN };
    }
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
        failedDeviceReports: fleet.counters.silent,
        droppedByReconciliation: fromChain.droppedByReconciliation,
        correctedLies: [...fromChain.liars.values()].reduce((s, rs) => s + rs.length, 0),
        degradedIanRounds: ianRounds.filter((x) => x.status === 'degraded').length,
        failedIanRounds: ianRounds.filter((x) => x.status === 'failed').length,
      },
      network: {
        broker: broker ? `embedded aedes at ${brokerUrl}` : brokerUrl,
        ledgerUrl: ledger.url,
        roundDurationMs: durationMs,
        processes:
          'every role in this process, each with its own MQTT connection; privagg up runs them as separate processes',
        deviceMessages: fleet.counters.messagesPublished,
        injected: { ...(rogueClient?.injected ?? {}) },
        attackSubmissions: {
          posted: partialTally.posted + oem.attacks.posted,
          accepted: partialTally.accepted + oem.attacks.accepted,
        },
        gateways: gateways.map((g) => ({
          ian: g.ian,
          gateway: g.gateway,
          role: isLyingGw(g.ian, g.gateway) ? 'lying' : 'honest',
          received: g.service.counters.reportsReceived,
          accepted: g.service.counters.reportsAccepted,
          rejected: Object.values(g.service.counters.rejected).reduce<number>(
            (s, c) => s + (c ?? 0),
            0,
          ),
          partialsPosted: g.service.counters.partialsPosted,
        })),
        mqttReconnects: links.reduce((s, l) => s + l.reconnects, 0),
        logFile: o.logFile,
      },
    };
  } finally {
    fleet?.stop();
    for (const g of gateways) g.service.stop();
    await ledger?.close();
    // No retained epoch left behind on a shared broker.
    await control
      ?.publish(topics.epoch(name), Buffer.alloc(0), { retain: true })
      .catch(() => undefined);
    for (const l of links) await l.close().catch(() => undefined);
    await broker?.close();
  }
}
