import pino, { type Logger } from 'pino';
import type { RoundStatusRecord } from '../ledger/embeddedLedger.js';
import { httpPostBinary as postBinary } from '../net/httpPost.js';
import { connectMqtt } from '../net/mqttClient.js';
import type { MqttLink } from '../net/mqttLink.js';
import { topics } from '../net/topics.js';
import { createMaasDeployment, type MaasDeployment } from '../schemes/maas/deployment.js';
import { buildQuery, dimensionMask } from '../schemes/maas/query.js';
import type { ParsedDeploymentSpec } from './deploymentFile.js';
import { toMaasParams, workloadFor } from './deploymentFile.js';
import { DeviceFleet, type DeviceFleetOptions } from './deviceFleet.js';
import { type CompromisedGateway, GatewayService } from './gatewayService.js';
import { type HealthServer, startHealthServer } from './healthServer.js';
import { type LedgerServer, startLedgerServer } from './ledgerServer.js';
import { loadOrCreateMasterSecret, loadRegistration } from './masterSecret.js';
import { RoundClock } from './roundClock.js';

/**
 * The role processes of the networked runtime, as functions: each takes the parsed
 * deployment, its own coordinates and the shared facts `up` hands every child (broker
 * URL, ledger URL, epoch), and runs until stopped. The CLI commands `privagg ledger
 * serve | gateway | devices | query` call these; tests call them in one process.
 */
export interface SharedRuntime {
  spec: ParsedDeploymentSpec;
  brokerUrl: string;
  /**
   * Start of round 0 (ms since the epoch), the same in every process; undefined: wait for
   * the retained value `privagg up` publishes on the deployment's epoch topic once every
   * process is ready (a restarted process gets it at once).
   */
  epochMs?: number;
  logger?: Logger;
}

export function loggerFor(name: string, level = process.env.PRIVAGG_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level }, pino.destination(2));
}

/** The role keys of this deployment from its state directory (created by `up`). */
export function deploymentFor(spec: ParsedDeploymentSpec, create = false): MaasDeployment {
  const secret = loadOrCreateMasterSecret(spec.stateDir, { create, deployment: spec.name });
  const { registeredAtMs } = loadRegistration(spec.stateDir, spec.name);
  return createMaasDeployment(toMaasParams(spec), {
    oems: spec.oems,
    registeredAtMs,
    masterSecret: secret,
  });
}

/** The round clock, once the epoch is known (given, or the retained epoch message). */
async function clockOf(rt: SharedRuntime, l: MqttLink): Promise<RoundClock> {
  if (rt.epochMs !== undefined) return new RoundClock(rt.epochMs, rt.spec.rounds.durationMs);
  const epochMs = await new Promise<number>((resolve) => {
    void l.subscribe(topics.epoch(rt.spec.name), (_t, payload) => {
      try {
        const e = (JSON.parse(payload.toString('utf8')) as { epochMs?: unknown }).epochMs;
        if (typeof e === 'number' && Number.isFinite(e)) resolve(e);
      } catch {
        // not an epoch message: keep waiting
      }
    });
  });
  return new RoundClock(epochMs, rt.spec.rounds.durationMs);
}

/** `privagg up`'s side: announce the start of round 0 to every process, retained. */
export async function publishEpoch(
  l: MqttLink,
  deployment: string,
  epochMs: number,
): Promise<void> {
  await l.publish(topics.epoch(deployment), Buffer.from(JSON.stringify({ epochMs })), {
    retain: true,
  });
}

async function link(rt: SharedRuntime, clientId: string, logger: Logger): Promise<MqttLink> {
  return connectMqtt(rt.brokerUrl, { clientId, logger, waitForBroker: true });
}

export async function runLedger(
  rt: SharedRuntime,
  opts: { port?: number; onStatus?: (s: RoundStatusRecord) => void } = {},
): Promise<LedgerServer & { link: MqttLink }> {
  const logger = rt.logger ?? loggerFor('ledger');
  const dep = deploymentFor(rt.spec);
  const l = await link(rt, `${rt.spec.name}-ledger`, logger);
  const server = await startLedgerServer({
    file: rt.spec.ledger.file,
    config: { params: dep.params, oems: dep.oems },
    ledgerKey: dep.registry.ledgerKey(),
    batchSize: rt.spec.ledger.batchSize,
    batchDelayMs: rt.spec.ledger.batchDelayMs,
    link: l,
    clock: clockOf(rt, l),
    restoreDelayMs: rt.spec.rounds.restoreDelayMs,
    rounds: rt.spec.rounds.count,
    host: rt.spec.ledger.host,
    port: opts.port ?? rt.spec.ledger.port,
    logger,
    ...(opts.onStatus ? { onStatus: opts.onStatus } : {}),
  });
  return {
    ...server,
    link: l,
    async close() {
      await server.close();
      await l.close();
    },
  };
}

export async function runGateway(
  rt: SharedRuntime,
  ian: number,
  gateway: number,
  ledgerUrl: string,
  /** `compromised`: fault injection (a lying gateway, for the demo and tests). */
  opts: { healthPort?: number; compromised?: CompromisedGateway } = {},
): Promise<{ started: Promise<GatewayService>; health: HealthServer; close(): Promise<void> }> {
  const logger = rt.logger ?? loggerFor(`gateway-${ian}-${gateway}`);
  const dep = deploymentFor(rt.spec);
  const l = await link(rt, `${rt.spec.name}-gw-${ian}-${gateway}`, logger);
  let service: GatewayService | undefined;
  // Subscribed to its reports: /health says `started` only from then on (a harness that
  // restarts a gateway waits for it before counting on the gateway's next round).
  let subscribed = false;
  // The service starts once the epoch is known; its health endpoint answers at once.
  const started = clockOf(rt, l).then(async (clock) => {
    service = new GatewayService({
      key: dep.registry.gatewayKey(ian, gateway),
      params: dep.params,
      link: l,
      ledgerUrl,
      clock,
      logger,
      ...(opts.compromised ? { compromised: opts.compromised } : {}),
    });
    await service.start();
    subscribed = true;
    return service;
  });
  const health = await startHealthServer({
    port: opts.healthPort ?? 0,
    prefix: 'privagg_gateway',
    health: () => ({
      ok: l.connected,
      ian,
      gateway,
      mqttConnected: l.connected,
      started: subscribed,
      lastRoundClosed: service?.lastRoundClosed ?? -1,
    }),
    metrics: () => service?.metrics() ?? {},
  });
  return {
    started,
    health,
    async close() {
      service?.stop();
      await health.close();
      await l.close();
    },
  };
}

/**
 * Several gateways in one process (`privagg gateway --ian all --gateway l`): each keeps
 * its own keys, its own MaasGateway and its own MQTT connection, exactly as if it ran
 * alone; only the process (event loop, heap, health endpoint) is shared. `privagg up`
 * groups gateway l of every IAN in one process (`gatewayProcesses: 'per-index'`), so a
 * process holds at most one share of any device — below the threshold k whatever it
 * leaks. GET /metrics labels every counter with its gateway's IAN and index.
 */
export async function runGateways(
  rt: SharedRuntime,
  gateways: readonly { ian: number; gateway: number }[],
  ledgerUrl: string,
  /** `compromised`: fault injection, per hosted gateway (a lying gateway, for the demo and tests). */
  opts: {
    healthPort?: number;
    compromised?: (ian: number, gateway: number) => CompromisedGateway | undefined;
  } = {},
): Promise<{ started: Promise<GatewayService[]>; health: HealthServer; close(): Promise<void> }> {
  const name = gateways.length === 1 ? `${gateways[0]!.ian}-${gateways[0]!.gateway}` : 'group';
  const logger = rt.logger ?? loggerFor(`gateway-${name}`);
  const dep = deploymentFor(rt.spec);
  const links = await Promise.all(
    gateways.map((g) =>
      link(
        rt,
        `${rt.spec.name}-gw-${g.ian}-${g.gateway}`,
        logger.child({ ian: g.ian, gateway: g.gateway }),
      ),
    ),
  );
  const services: (GatewayService | undefined)[] = gateways.map(() => undefined);
  const subscribed: boolean[] = gateways.map(() => false);
  const started = clockOf(rt, links[0]!).then(async (clock) =>
    Promise.all(
      gateways.map(async (g, at) => {
        const compromised = opts.compromised?.(g.ian, g.gateway);
        const service = new GatewayService({
          key: dep.registry.gatewayKey(g.ian, g.gateway),
          params: dep.params,
          link: links[at]!,
          ledgerUrl,
          clock,
          logger: logger.child({ ian: g.ian, gateway: g.gateway }),
          ...(compromised ? { compromised } : {}),
        });
        services[at] = service;
        await service.start();
        subscribed[at] = true;
        return service;
      }),
    ),
  );
  const health = await startHealthServer({
    port: opts.healthPort ?? 0,
    prefix: 'privagg_gateway',
    health: () => ({
      ok: links.every((l) => l.connected),
      gateways: gateways.map((g, at) => ({
        ian: g.ian,
        gateway: g.gateway,
        mqttConnected: links[at]!.connected,
        started: subscribed[at],
        lastRoundClosed: services[at]?.lastRoundClosed ?? -1,
      })),
    }),
    metrics: () => {
      const out: Record<string, number> = {};
      gateways.forEach((g, at) => {
        const who = `ian="${g.ian}",gateway="${g.gateway}"`;
        for (const [k, v] of Object.entries(services[at]?.metrics() ?? {})) {
          const [metric, label] = k.split('|');
          out[`${metric}|${label ? `${label},` : ''}${who}`] = v;
        }
      });
      return out;
    },
  });
  return {
    started,
    health,
    async close() {
      for (const s of services) s?.stop();
      await health.close();
      await Promise.all(links.map((l) => l.close()));
    },
  };
}

export async function runDevices(
  rt: SharedRuntime,
  devices: readonly { ian: number; device: number }[],
  opts: Pick<DeviceFleetOptions, 'silent' | 'spreadMs' | 'compromised'> = {},
): Promise<{ started: Promise<DeviceFleet>; close(): Promise<void> }> {
  const logger = rt.logger ?? loggerFor('devices');
  const dep = deploymentFor(rt.spec);
  const workload = workloadFor(rt.spec);
  const first = devices[0] ?? { ian: 0, device: 0 };
  const l = await link(
    rt,
    `${rt.spec.name}-devices-${process.pid}-${first.ian}-${first.device}-${devices.length}`,
    logger,
  );
  let fleet: DeviceFleet | undefined;
  const started = clockOf(rt, l).then((clock) => {
    fleet = new DeviceFleet({
      deployment: dep,
      workload,
      devices,
      link: l,
      clock,
      rounds: rt.spec.rounds.count,
      logger,
      ...(opts.silent ? { silent: opts.silent } : {}),
      ...(opts.spreadMs ? { spreadMs: opts.spreadMs } : {}),
      ...(opts.compromised ? { compromised: opts.compromised } : {}),
    });
    return fleet;
  });
  return {
    started,
    async close() {
      fleet?.stop();
      await fleet?.finished.catch(() => undefined);
      await l.close();
    },
  };
}

/** Every device of the deployment, or the first `count` of them in (IAN, device) order. */
export function allDevices(
  spec: ParsedDeploymentSpec,
  count?: number,
): { ian: number; device: number }[] {
  const out: { ian: number; device: number }[] = [];
  for (let v = 0; v < spec.scheme.ians; v++)
    for (let i = 0; i < spec.scheme.devicesPerIan; i++) out.push({ ian: v, device: i });
  return count === undefined ? out : out.slice(0, count);
}

/** The OEM side: one query over HTTP. */
export async function runQuery(
  rt: Pick<SharedRuntime, 'spec'>,
  ledgerUrl: string,
  q: { oem?: number; number: number; startRound: number; endRound: number; dimensions?: number[] },
): Promise<{ ok: boolean; status: number; body: unknown }> {
  const dep = deploymentFor(rt.spec);
  const dims = q.dimensions ?? dep.params.dimensions.map((_, j) => j);
  const bytes = buildQuery(dep.params, dep.registry.oemKey(q.oem ?? 0), {
    number: q.number,
    startRound: q.startRound,
    endRound: q.endRound,
    dimensionMask: dimensionMask(dims),
    timestamp: Date.now(),
  });
  const res = await postBinary(`${ledgerUrl}/v1/queries`, bytes, {
    deadlineMs: Date.now() + 10_000,
  });
  return res.ok
    ? { ok: true, status: res.status, body: res.body }
    : { ok: false, status: res.status, body: res };
}
