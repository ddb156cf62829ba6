import { join } from 'node:path';
import type { Logger } from 'pino';
import { seededRandom } from '../../math/random.js';
import { BrokerPolicy } from '../../net/brokerPolicy.js';
import { type EmbeddedBroker, startEmbeddedBroker } from '../../net/embeddedBroker.js';
import { connectMqtt } from '../../net/mqttClient.js';
import type { MqttLink } from '../../net/mqttLink.js';
import type { BundleOf, CredentialBundle } from '../credentials/bundle.js';
import { identityOf, type Role } from '../credentials/identities.js';
import { issueCredentials } from '../credentials/issue.js';
import { DeviceFleet } from '../deviceFleet.js';
import { GatewayService } from '../gatewayService.js';
import { startManagedMosquitto } from '../managedMosquitto.js';
import { RoundClock } from '../roundClock.js';
import { bundleOf, roleDeployment, runLedger } from '../runtime.js';
import { lyingGateway, silentDevices } from './faultHooks.js';
import { type DemoContext, isListed, type RolesRunning } from './roles.js';

/**
 * The demo's roles in the demo's own process, each on its own MQTT connection as its own
 * identity: the ledger server (SQLite chain, HTTP(S) API, round driver), one
 * `GatewayService` per live gateway and the honest devices' `DeviceFleet` — with the
 * broker (embedded, or a Mosquitto of this run's) secure unless the deployment says
 * insecure. Quick to start, and every counter is at hand.
 */
export async function startInProcessRoles(c: DemoContext): Promise<RolesRunning> {
  const { spec, faults, log } = c;
  const params = c.dep.params;
  const secure = !spec.security.insecure;
  // The TA's part: this run's credentials, one bundle per identity; every role below loads
  // its own and connects as that identity (client id = certificate CN), as `privagg up`'s
  // processes do.
  const issued = issueCredentials(spec, { tls: secure, fleets: c.fleets });
  const bundle = <R extends Role>(identity: string, role: R) => bundleOf({ spec }, identity, role);
  const ledgerPublicKey = Buffer.from(
    bundle(identityOf.gateway(spec.name, 0, 1), 'gateway').ledgerPublicKey,
    'hex',
  );
  const brokerBundle = bundle(identityOf.broker(spec.name), 'broker');
  const policy = new BrokerPolicy(spec.name, params.gateways, issued.grants);
  const embedded: EmbeddedBroker | undefined =
    spec.broker.url === 'embedded'
      ? await startEmbeddedBroker(
          brokerBundle.tls ? { tls: brokerBundle.tls, policy } : { insecure: true },
        )
      : undefined;
  const mosquitto =
    spec.broker.url === 'mosquitto'
      ? await startManagedMosquitto({
          dir: join(spec.stateDir, 'mosquitto'),
          policy,
          devicesPerIan: params.devicesPerIan,
          ...(brokerBundle.tls ? { tls: brokerBundle.tls } : {}),
        })
      : undefined;
  const brokerUrl = embedded?.url ?? mosquitto?.url ?? spec.broker.url;
  const links: MqttLink[] = [];
  const connect = async (who: CredentialBundle, logger: Logger) => {
    const l = await connectMqtt(brokerUrl, {
      clientId: who.identity,
      logger,
      ...(who.tls ? { tls: who.tls } : {}),
    });
    links.push(l);
    return l;
  };
  const gateways: { ian: number; gateway: number; service: GatewayService; link: MqttLink }[] = [];
  let fleet: DeviceFleet | undefined;
  let ledger: Awaited<ReturnType<typeof runLedger>> | undefined;
  const stop = async () => {
    fleet?.stop();
    for (const g of gateways) g.service.stop();
    await ledger?.close();
    for (const l of links) await l.close().catch(() => undefined);
    await embedded?.close();
    await mosquitto?.close();
  };
  try {
    ledger = await runLedger(
      { spec, brokerUrl, logger: log.child({ role: 'ledger' }) },
      { onStatus: c.onStatus },
    );
    const gatewayLinks: {
      ian: number;
      gateway: number;
      bundle: BundleOf<'gateway'>;
      link: MqttLink;
      logger: Logger;
    }[] = [];
    for (let v = 0; v < params.ians; v++) {
      for (let l = 1; l <= params.gateways; l++) {
        if (isListed(faults.failedGateways, v, l)) continue; // down for the run: never started
        const logger = log.child({ role: 'gateway', ian: v, gateway: l });
        const own = bundle(identityOf.gateway(spec.name, v, l), 'gateway');
        gatewayLinks.push({
          ian: v,
          gateway: l,
          bundle: own,
          link: await connect(own, logger),
          logger,
        });
      }
    }
    const fleetLogger = log.child({ role: 'devices' });
    const fleetBundle = bundle(identityOf.devices(spec.name, 0), 'devices');
    const fleetLink = await connect(fleetBundle, fleetLogger);
    await c.connectAttacker(brokerUrl);
    // Keys derived before the epoch is fixed: what is left below takes milliseconds.
    const gatewayKeys = gatewayLinks.map((g) =>
      roleDeployment(spec, [g.bundle]).registry.gatewayKey(g.ian, g.gateway),
    );

    // Everyone is connected: round 0 starts shortly, announced as `privagg up` does. (The
    // services below subscribe in a few ms; one that started after a quarter of round 0
    // would sit the round out, and the log would say so.)
    const epochMs = Date.now() + 500;
    const clock = new RoundClock(epochMs, c.durationMs);
    for (const [at, g] of gatewayLinks.entries()) {
      const lying = isListed(faults.lyingGateways, g.ian, g.gateway);
      const service = new GatewayService({
        key: gatewayKeys[at]!,
        params,
        link: g.link,
        ledgerUrl: ledger.url,
        ledgerPublicKey,
        ...(g.bundle.tls ? { tls: g.bundle.tls } : {}),
        clock,
        logger: g.logger,
        ...(lying
          ? {
              compromised: lyingGateway(
                params,
                seededRandom(`fault/${c.seed}/lie/${g.ian}/${g.gateway}`),
              ),
            }
          : {}),
      });
      await service.start();
      gateways.push({ ian: g.ian, gateway: g.gateway, service, link: g.link });
    }
    await c.startAttacker(clock);
    // The ledger signs the epoch and publishes it, as `privagg up` has it do.
    await ledger.startEpoch(epochMs);
    if (Date.now() > epochMs)
      log.warn({ lateByMs: Date.now() - epochMs }, 'the roles were ready after round 0 began');

    const failed = new Set(faults.failedDevices.map((d) => `${d.ian}:${d.device}`));
    fleet = new DeviceFleet({
      deployment: roleDeployment(spec, [fleetBundle]),
      workload: c.workload,
      devices: fleetBundle.keys.devices.map((d) => ({ ian: d.ian, device: d.device })),
      link: fleetLink,
      clock,
      rounds: spec.rounds.count,
      logger: fleetLogger,
      // Reports spread over the first quarter of the round, as real sensors would.
      spreadMs: Math.round(c.durationMs / 4),
      silent: silentDevices(
        failed,
        faults.deviceFailureProbability,
        seededRandom(`fault/${c.seed}/loss`),
      ),
    });
    const running = ledger;
    const runningFleet = fleet;
    return {
      brokerUrl,
      brokerLabel: embedded
        ? `embedded aedes at ${brokerUrl}`
        : mosquitto
          ? `Mosquitto at ${brokerUrl} (started for this run, generated configuration)`
          : brokerUrl,
      ledgerUrl: running.url,
      clock,
      ...(embedded ? { brokerStats: () => embedded.stats() } : {}),
      processes:
        "every role in the demo's process, each with its own MQTT connection (the default runs them as child processes, as privagg up does)",
      finished: running.finished,
      async collect() {
        return {
          gateways: gateways.map((g) => ({
            ian: g.ian,
            gateway: g.gateway,
            received: g.service.counters.reportsReceived,
            accepted: g.service.counters.reportsAccepted,
            rejected: { ...g.service.counters.rejected } as Record<string, number>,
            partialsPosted: g.service.counters.partialsPosted,
            reconnects: g.link.reconnects,
          })),
          ledgerRejected: { ...running.service.counters().rejected } as Record<string, number>,
          fleet: {
            silent: runningFleet.counters.silent,
            published: runningFleet.counters.messagesPublished,
          },
        };
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
