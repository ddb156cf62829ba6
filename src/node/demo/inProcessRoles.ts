import type { Logger } from 'pino';
import { seededRandom } from '../../math/random.js';
import { type EmbeddedBroker, startEmbeddedBroker } from '../../net/embeddedBroker.js';
import { connectMqtt } from '../../net/mqttClient.js';
import type { MqttLink } from '../../net/mqttLink.js';
import { identityOf } from '../credentials/identities.js';
import { issueCredentials } from '../credentials/issue.js';
import { DeviceFleet } from '../deviceFleet.js';
import { GatewayService } from '../gatewayService.js';
import { RoundClock } from '../roundClock.js';
import { allDevices, bundleOf, runLedger } from '../runtime.js';
import { lyingGateway, outOfRangeDevice, silentDevices } from './faultHooks.js';
import { type DemoContext, isListed, type RolesRunning } from './roles.js';

/**
 * The demo's roles in the demo's own process, each on its own MQTT connection: the
 * ledger server (SQLite chain, HTTP API, round driver), one `GatewayService` per live
 * gateway and the `DeviceFleet`. Quick to start, and every counter is at hand.
 */
export async function startInProcessRoles(c: DemoContext): Promise<RolesRunning> {
  const { spec, dep, faults, log } = c;
  const params = dep.params;
  // The TA's part: this run's credentials (the roles below load the ledger's and read the
  // ledger's public key from a gateway's bundle). The in-process demo runs insecure
  // (plaintext, anonymous broker): it says so in its summary.
  issueCredentials(spec, { tls: !spec.security.insecure });
  const ledgerPublicKey = Buffer.from(
    bundleOf({ spec }, identityOf.gateway(spec.name, 0, 1), 'gateway').ledgerPublicKey,
    'hex',
  );
  const broker: EmbeddedBroker | undefined =
    spec.broker.url === 'embedded' ? await startEmbeddedBroker({ insecure: true }) : undefined;
  const brokerUrl = broker?.url ?? spec.broker.url;
  const links: MqttLink[] = [];
  const connect = async (clientId: string, logger: Logger) => {
    const l = await connectMqtt(brokerUrl, { clientId: `${spec.name}-${clientId}`, logger });
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
    await broker?.close();
  };
  try {
    ledger = await runLedger(
      { spec, brokerUrl, logger: log.child({ role: 'ledger' }) },
      { onStatus: c.onStatus },
    );
    const gatewayLinks: { ian: number; gateway: number; link: MqttLink; logger: Logger }[] = [];
    for (let v = 0; v < params.ians; v++) {
      for (let l = 1; l <= params.gateways; l++) {
        if (isListed(faults.failedGateways, v, l)) continue; // down for the run: never started
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

    // Everyone is connected: round 0 starts shortly, announced as `privagg up` does. (The
    // services below subscribe in a few ms; one that started after a quarter of round 0
    // would sit the round out, and the log would say so.)
    const epochMs = Date.now() + 500;
    const clock = new RoundClock(epochMs, c.durationMs);
    for (const g of gatewayLinks) {
      const lying = isListed(faults.lyingGateways, g.ian, g.gateway);
      const service = new GatewayService({
        key: dep.registry.gatewayKey(g.ian, g.gateway),
        params,
        link: g.link,
        ledgerUrl: ledger.url,
        ledgerPublicKey,
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
    await c.beforeRoundZero(brokerUrl, clock);
    // The ledger signs the epoch and publishes it, as `privagg up` has it do.
    await ledger.startEpoch(epochMs);
    if (Date.now() > epochMs)
      log.warn({ lateByMs: Date.now() - epochMs }, 'the roles were ready after round 0 began');

    const failed = new Set(faults.failedDevices.map((d) => `${d.ian}:${d.device}`));
    fleet = new DeviceFleet({
      deployment: dep,
      workload: c.workload,
      devices: allDevices(spec),
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
      ...(c.outOfRangeTargets.size > 0
        ? { compromised: outOfRangeDevice(dep, c.outOfRangeTargets) }
        : {}),
    });
    const running = ledger;
    const runningFleet = fleet;
    return {
      brokerUrl,
      brokerLabel: broker ? `embedded aedes at ${brokerUrl}` : brokerUrl,
      ledgerUrl: running.url,
      clock,
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
