import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { ed25519PrivateKey } from '../crypto/ed25519.js';
import { ErrorCode, PrivaggError } from '../errors.js';
import type { RoundStatusRecord } from '../ledger/embeddedLedger.js';
import { httpPostBinary as postBinary } from '../net/httpPost.js';
import { connectMqtt } from '../net/mqttClient.js';
import type { MqttLink } from '../net/mqttLink.js';
import { createMaasDeployment, type MaasDeployment } from '../schemes/maas/deployment.js';
import { buildQuery, dimensionMask } from '../schemes/maas/query.js';
import { watchEpoch } from './controlPlane.js';
import { type BundleOf, type CredentialBundle, loadBundle } from './credentials/bundle.js';
import { registryFromBundles } from './credentials/bundleRegistry.js';
import { identityOf, type Role } from './credentials/identities.js';
import { credentialsDir } from './credentials/issue.js';
import type { ParsedDeploymentSpec } from './deploymentFile.js';
import { toMaasParams, workloadFor } from './deploymentFile.js';
import { DeviceFleet, type DeviceFleetOptions, warmUpReports } from './deviceFleet.js';
import { type CompromisedGateway, GatewayService } from './gatewayService.js';
import { type HealthServer, startHealthServer } from './healthServer.js';
import { type LedgerServer, startLedgerServer } from './ledgerServer.js';
import { loadOrCreateMasterSecret, loadRegistration } from './masterSecret.js';
import { RoundClock } from './roundClock.js';
import { assertLedgerFileFree } from './stateLock.js';
import { warmUpValidity } from './validityWarmUp.js';

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
  /** Where this host's credential bundles are (default <stateDir>/credentials). */
  credentialsDir?: string;
}

export function loggerFor(name: string, level = process.env.PRIVAGG_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level }, pino.destination(2));
}

/**
 * The TA's full view of the deployment (every role's keys, derived from the master
 * secret). Only the TA calls this — `privagg up` and the demo's harness, which plays the
 * TA and the attackers of its run. Role processes never do: they load their own bundle
 * (`roleDeployment`) and never read master.key.
 */
export function taDeployment(spec: ParsedDeploymentSpec, create = false): MaasDeployment {
  const secret = loadOrCreateMasterSecret(spec.stateDir, { create, deployment: spec.name });
  const { registeredAtMs } = loadRegistration(spec.stateDir, spec.name);
  return createMaasDeployment(toMaasParams(spec), {
    oems: spec.oems,
    registeredAtMs,
    masterSecret: secret,
  });
}

/** A role's credential bundle from this host's credentials directory, checked against the spec. */
export function bundleOf<R extends Role>(
  rt: Pick<SharedRuntime, 'spec' | 'credentialsDir'>,
  identity: string,
  role: R,
): BundleOf<R> {
  const dir = rt.credentialsDir ?? credentialsDir(rt.spec);
  const bundle = loadBundle(join(dir, `${identity}.json`), role);
  if (bundle.deployment !== rt.spec.name || bundle.identity !== identity) {
    throw new PrivaggError(
      ErrorCode.BAD_KEY,
      `the bundle for ${identity} belongs to ${bundle.identity} of deployment "${bundle.deployment}"`,
    );
  }
  if (!rt.spec.security.insecure && !bundle.tls) {
    throw new PrivaggError(
      ErrorCode.BAD_KEY,
      `the bundle for ${identity} has no TLS credentials, and the deployment is secure (security.insecure is false): issue the credentials again`,
    );
  }
  return bundle;
}

/** The scheme's roles, able to build only what the given bundles hold keys for. */
export function roleDeployment(
  spec: ParsedDeploymentSpec,
  bundles: readonly CredentialBundle[],
): MaasDeployment {
  return createMaasDeployment(toMaasParams(spec), {
    oems: spec.oems,
    registeredAtMs: bundles[0]?.registeredAtMs ?? 0,
    registry: registryFromBundles(bundles, spec.oems),
  });
}

/** One warning line in every process of an insecure deployment. */
export function warnIfInsecure(spec: ParsedDeploymentSpec, logger: Logger): void {
  if (spec.security.insecure) {
    logger.warn(
      { deployment: spec.name },
      'INSECURE: security.insecure is set — plaintext MQTT and HTTP, anonymous broker, open ledger endpoints; for experiments on one machine only',
    );
  }
}

/** The round clock, once the epoch is known (given, or the ledger's signed retained epoch). */
async function clockOf(
  rt: SharedRuntime,
  l: MqttLink,
  bundle: CredentialBundle,
  logger: Logger,
): Promise<RoundClock> {
  if (rt.epochMs !== undefined) return new RoundClock(rt.epochMs, rt.spec.rounds.durationMs);
  return watchEpoch(l, {
    deployment: rt.spec.name,
    ledgerPublicKey: Buffer.from(bundle.ledgerPublicKey, 'hex'),
    roundMs: rt.spec.rounds.durationMs,
    onInvalid: (code: string) => logger.warn({ code }, 'epoch message refused'),
  });
}

/** An MQTT connection as `bundle`'s identity: client id = certificate CN (the broker checks it). */
async function link(
  rt: SharedRuntime,
  bundle: CredentialBundle,
  logger: Logger,
  clientId = bundle.identity,
): Promise<MqttLink> {
  return connectMqtt(rt.brokerUrl, {
    clientId,
    logger,
    waitForBroker: true,
    ...(bundle.tls ? { tls: bundle.tls } : {}),
  });
}

export async function runLedger(
  rt: SharedRuntime,
  opts: { port?: number; onStatus?: (s: RoundStatusRecord) => void } = {},
): Promise<LedgerServer & { link: MqttLink }> {
  const logger = rt.logger ?? loggerFor('ledger');
  warnIfInsecure(rt.spec, logger);
  // Refused before it connects as the ledger: a second connection under the ledger's
  // client id would push the live ledger off the broker before the file lock refused it.
  assertLedgerFileFree(rt.spec.ledger.file);
  const bundle = bundleOf(rt, identityOf.ledger(rt.spec.name), 'ledger');
  const dep = roleDeployment(rt.spec, [bundle]);
  const warm = warmUpValidity(dep.params, 'ledger');
  if (warm.reports > 0)
    logger.info({ reports: warm.reports, ms: Math.round(warm.ms) }, 'validity checks warmed up');
  const l = await link(rt, bundle, logger);
  const signingKey = Buffer.from(bundle.keys.signingKey, 'hex');
  const server = await startLedgerServer({
    file: rt.spec.ledger.file,
    config: { params: dep.params, oems: dep.oems },
    ledgerKey: dep.registry.ledgerKey(),
    signingKey,
    controlKey: ed25519PrivateKey(signingKey),
    batchSize: rt.spec.ledger.batchSize,
    batchDelayMs: rt.spec.ledger.batchDelayMs,
    link: l,
    ...(rt.epochMs !== undefined ? { epochMs: rt.epochMs } : {}),
    restoreDelayMs: rt.spec.rounds.restoreDelayMs,
    rounds: rt.spec.rounds.count,
    host: rt.spec.ledger.host,
    port: opts.port ?? rt.spec.ledger.port,
    logger,
    roundMs: rt.spec.rounds.durationMs,
    api: bundle.tls ? { tls: bundle.tls } : { insecure: true },
    ...(opts.onStatus ? { onStatus: opts.onStatus } : {}),
  });
  signingKey.fill(0);
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
  const g = await runGateways(rt, [{ ian, gateway }], ledgerUrl, {
    ...(opts.healthPort !== undefined ? { healthPort: opts.healthPort } : {}),
    ...(opts.compromised ? { compromised: () => opts.compromised } : {}),
    flatHealth: true,
  });
  return { started: g.started.then((s) => s[0]!), health: g.health, close: g.close };
}

/**
 * One or several gateways in one process (`privagg gateway --ian all --gateway l`): each
 * keeps its own bundle, its own MaasGateway and its own MQTT connection (client id = its
 * certificate's identity), exactly as if it ran alone; only the process (event loop, heap,
 * health endpoint) is shared. `privagg up` groups gateway l of every IAN in one process
 * (`gatewayProcesses: 'per-index'`), so a process holds at most one share of any device —
 * below the threshold k whatever it leaks. GET /metrics labels every counter with its
 * gateway's IAN and index (a single gateway's, with `flatHealth`, are unlabelled and its
 * /health flat, as operators and the fault tests read them).
 */
export async function runGateways(
  rt: SharedRuntime,
  gateways: readonly { ian: number; gateway: number }[],
  ledgerUrl: string,
  /** `compromised`: fault injection, per hosted gateway (a lying gateway, for the demo and tests). */
  opts: {
    healthPort?: number;
    compromised?: (ian: number, gateway: number) => CompromisedGateway | undefined;
    flatHealth?: boolean;
  } = {},
): Promise<{ started: Promise<GatewayService[]>; health: HealthServer; close(): Promise<void> }> {
  const name = gateways.length === 1 ? `${gateways[0]!.ian}-${gateways[0]!.gateway}` : 'group';
  const logger = rt.logger ?? loggerFor(`gateway-${name}`);
  warnIfInsecure(rt.spec, logger);
  const bundles = gateways.map((g) =>
    bundleOf(rt, identityOf.gateway(rt.spec.name, g.ian, g.gateway), 'gateway'),
  );
  // Once per process: the hosted gateways share the code the warm-up compiles.
  const warm = warmUpValidity(toMaasParams(rt.spec), 'gateway');
  if (warm.reports > 0)
    logger.info({ reports: warm.reports, ms: Math.round(warm.ms) }, 'validity checks warmed up');
  const links = await Promise.all(
    gateways.map((g, at) =>
      link(rt, bundles[at]!, logger.child({ ian: g.ian, gateway: g.gateway })),
    ),
  );
  const services: (GatewayService | undefined)[] = gateways.map(() => undefined);
  const subscribed: boolean[] = gateways.map(() => false);
  const started = Promise.all(
    gateways.map(async (g, at) => {
      const bundle = bundles[at]!;
      const glog = logger.child({ ian: g.ian, gateway: g.gateway });
      const clock = await clockOf(rt, links[at]!, bundle, glog);
      const dep = roleDeployment(rt.spec, [bundle]);
      const compromised = opts.compromised?.(g.ian, g.gateway);
      const service = new GatewayService({
        key: dep.registry.gatewayKey(g.ian, g.gateway),
        params: dep.params,
        link: links[at]!,
        ledgerUrl,
        ledgerPublicKey: Buffer.from(bundle.ledgerPublicKey, 'hex'),
        ...(bundle.tls ? { tls: bundle.tls } : {}),
        clock,
        logger: glog,
        ...(compromised ? { compromised } : {}),
      });
      services[at] = service;
      await service.start();
      subscribed[at] = true;
      return service;
    }),
  );
  const single = opts.flatHealth && gateways.length === 1;
  const health = await startHealthServer({
    port: opts.healthPort ?? 0,
    prefix: 'privagg_gateway',
    health: () =>
      single
        ? {
            ok: links[0]!.connected,
            ian: gateways[0]!.ian,
            gateway: gateways[0]!.gateway,
            mqttConnected: links[0]!.connected,
            started: subscribed[0],
            lastRoundClosed: services[0]?.lastRoundClosed ?? -1,
          }
        : {
            ok: links.every((l) => l.connected),
            gateways: gateways.map((g, at) => ({
              ian: g.ian,
              gateway: g.gateway,
              mqttConnected: links[at]!.connected,
              started: subscribed[at],
              lastRoundClosed: services[at]?.lastRoundClosed ?? -1,
            })),
          },
    metrics: () => {
      if (single) return services[0]?.metrics() ?? {};
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

/**
 * A device fleet: the devices of fleet bundle `fleet` (default 0; `privagg up` issues one
 * fleet holding every device), or the given subset of them.
 */
export async function runDevices(
  rt: SharedRuntime,
  devices: readonly { ian: number; device: number }[] | undefined,
  opts: Pick<DeviceFleetOptions, 'silent' | 'spreadMs' | 'compromised'> & { fleet?: number } = {},
): Promise<{ started: Promise<DeviceFleet>; close(): Promise<void> }> {
  const logger = rt.logger ?? loggerFor('devices');
  warnIfInsecure(rt.spec, logger);
  const bundle = bundleOf(rt, identityOf.devices(rt.spec.name, opts.fleet ?? 0), 'devices');
  const held = bundle.keys.devices.map((d) => ({ ian: d.ian, device: d.device }));
  const chosen = devices ?? held;
  const dep = roleDeployment(rt.spec, [bundle]);
  const workload = workloadFor(rt.spec);
  const warm = warmUpReports(dep, workload, chosen);
  logger.info({ reports: warm.reports, ms: Math.round(warm.ms) }, 'report path warmed up');
  const l = await link(rt, bundle, logger);
  let fleet: DeviceFleet | undefined;
  const started = clockOf(rt, l, bundle, logger).then((clock) => {
    fleet = new DeviceFleet({
      deployment: dep,
      workload,
      devices: chosen,
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

/** The OEM side: one query over HTTP(S), as OEM `oem` with its own bundle. */
export async function runQuery(
  rt: Pick<SharedRuntime, 'spec' | 'credentialsDir'>,
  ledgerUrl: string,
  q: { oem?: number; number: number; startRound: number; endRound: number; dimensions?: number[] },
): Promise<{ ok: boolean; status: number; body: unknown }> {
  const oem = q.oem ?? 0;
  const bundle = bundleOf(rt, identityOf.oem(rt.spec.name, oem), 'oem');
  const dep = roleDeployment(rt.spec, [bundle]);
  const dims = q.dimensions ?? dep.params.dimensions.map((_, j) => j);
  const bytes = buildQuery(dep.params, dep.registry.oemKey(oem), {
    number: q.number,
    startRound: q.startRound,
    endRound: q.endRound,
    dimensionMask: dimensionMask(dims),
    timestamp: Date.now(),
  });
  const res = await postBinary(`${ledgerUrl}/v1/queries`, bytes, {
    deadlineMs: Date.now() + 10_000,
    ...(bundle.tls ? { tls: bundle.tls } : {}),
  });
  return res.ok
    ? { ok: true, status: res.status, body: res.body }
    : { ok: false, status: res.status, body: res };
}
