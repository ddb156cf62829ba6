import type { Logger } from 'pino';
import { seededRandom } from '../../math/random.js';
import { connectMqtt } from '../../net/mqttClient.js';
import type { MqttLink } from '../../net/mqttLink.js';
import type { MaasDeployment } from '../../schemes/maas/deployment.js';
import type { AttackKind } from '../../sim/maasFaults.js';
import type { Workload } from '../../sim/workload.js';
import type { BundleOf } from '../credentials/bundle.js';
import { identityOf } from '../credentials/identities.js';
import type { ParsedDeploymentSpec } from '../deploymentFile.js';
import { DeviceFleet } from '../deviceFleet.js';
import type { RoundClock } from '../roundClock.js';
import { bundleOf, roleDeployment } from '../runtime.js';
import { outOfRangeDevice } from './faultHooks.js';
import { RogueClient } from './rogueClient.js';

/**
 * The demo's compromised devices — the last device of each IAN, issued as their own fleet
 * bundle — run by the attacker in the demo's process: they report every round (the
 * out-of-range share to one gateway when that attack is on) and the rogue client rides on
 * their connection. Everything here is built from that one bundle, as a thief of those
 * devices would have it: the devices' keys, certificate and MQTT identity.
 */
export interface CompromisedDevicesOptions {
  spec: ParsedDeploymentSpec;
  brokerUrl: string;
  /** Which fleet bundle (devices-<k>) holds the compromised devices. */
  fleet: number;
  workload: Workload;
  /** The TA's view: only the insider forgery reads from it (a colluding gateway's keys). */
  ta: MaasDeployment;
  attacks: ReadonlySet<AttackKind>;
  /** IAN → the gateway that gets the out-of-range share; empty: honest shares. */
  outOfRangeTargets: ReadonlyMap<number, number>;
  /** "ian:device" of devices down for the run (the rogue keeps its others reporting). */
  failed: ReadonlySet<string>;
  spreadMs: number;
  seed: string;
  targetGateway: (ian: number) => number;
  insiderTarget: (ian: number) => number;
  logger: Logger;
}

export interface CompromisedDevices {
  fleet: DeviceFleet;
  rogue: RogueClient;
  close(): Promise<void>;
}

/**
 * Two steps, so the slow one (loading the bundle, deriving keys, the TLS connection) is
 * done before the round epoch is fixed: `connect` now, `start(clock)` once the epoch is known.
 */
export async function connectCompromisedDevices(
  o: CompromisedDevicesOptions,
): Promise<{ start(clock: RoundClock): Promise<CompromisedDevices>; close(): Promise<void> }> {
  const bundle = bundleOf({ spec: o.spec }, identityOf.devices(o.spec.name, o.fleet), 'devices');
  const dep = roleDeployment(o.spec, [bundle]);
  const link: MqttLink = await connectMqtt(o.brokerUrl, {
    clientId: bundle.identity,
    logger: o.logger,
    ...(bundle.tls ? { tls: bundle.tls } : {}),
  });
  return {
    start: (clock) => startOn(o, bundle, dep, link, clock),
    close: () => link.close().catch(() => undefined),
  };
}

async function startOn(
  o: CompromisedDevicesOptions,
  bundle: BundleOf<'devices'>,
  dep: MaasDeployment,
  link: MqttLink,
  clock: RoundClock,
): Promise<CompromisedDevices> {
  try {
    const rogue = new RogueClient({
      link,
      deployment: o.ta,
      attacks: o.attacks,
      targetGateway: o.targetGateway,
      insiderTarget: o.insiderTarget,
      rounds: o.spec.rounds.count,
      rng: seededRandom(`fault/${o.seed}/rogue`),
      clock,
    });
    await rogue.tryEavesdropping();
    const outOfRange =
      o.outOfRangeTargets.size > 0 ? outOfRangeDevice(dep, o.outOfRangeTargets) : undefined;
    const fleet = new DeviceFleet({
      deployment: dep,
      workload: o.workload,
      devices: bundle.keys.devices.map((d) => ({ ian: d.ian, device: d.device })),
      link,
      clock,
      rounds: o.spec.rounds.count,
      logger: o.logger,
      spreadMs: o.spreadMs,
      silent: (v, i) => o.failed.has(`${v}:${i}`),
      compromised: (d, round, messages, nowMs) => {
        const out = outOfRange ? outOfRange(d, round, messages, nowMs) : messages;
        const toTarget = out.find((m) => m.gateway === o.targetGateway(d.ian));
        if (toTarget) rogue.observe(d.ian, d.device, round, toTarget.bytes);
        return out;
      },
    });
    return {
      fleet,
      rogue,
      async close() {
        fleet.stop();
        await fleet.finished.catch(() => undefined);
        await link.close().catch(() => undefined);
      },
    };
  } catch (e) {
    await link.close().catch(() => undefined);
    throw e;
  }
}
