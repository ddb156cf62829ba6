import { ErrorCode, PrivaggError } from '../../errors.js';
import type { RandomSource } from '../../math/random.js';
import { uniformUnit } from '../../math/random.js';
import type { MaasDeployment } from '../../schemes/maas/deployment.js';
import type { MaasParams } from '../../schemes/maas/params.js';
import { lyingPartial, outOfRangeReport } from '../../sim/maasAttacks.js';
import type { DeviceFleetOptions } from '../deviceFleet.js';
import type { CompromisedGateway } from '../gatewayService.js';

/**
 * The demo's faults as the role services' fault-injection hooks, the same whether the
 * roles run in the demo's process or as `privagg gateway|devices` processes (which take
 * them as hidden `--fault-*` flags).
 */

/** A compromised gateway: honest sums plus a non-zero offset, tagged with its real key. */
export function lyingGateway(params: MaasParams, rng: RandomSource): CompromisedGateway {
  return (at) =>
    lyingPartial(at.core, at.honest, at.round, at.contributors, at.attempt, at.nowMs, rng, params);
}

/**
 * The compromised device of each IAN in `targets` (its last device) sends the gateway
 * named there a share ≥ p under a valid tag; the other gateways get honest shares.
 */
export function outOfRangeDevice(
  dep: MaasDeployment,
  targets: ReadonlyMap<number, number>,
): NonNullable<DeviceFleetOptions['compromised']> {
  const last = dep.params.devicesPerIan - 1;
  return (d, round, messages, nowMs) => {
    const target = targets.get(d.ian);
    if (d.device !== last || target === undefined) return messages;
    return messages.map((msg) =>
      msg.gateway === target
        ? { gateway: target, bytes: outOfRangeReport(dep, d.ian, d.device, target, round, nowMs) }
        : msg,
    );
  };
}

/** Devices down for the run ("ian:device") or silent in a round with `probability`. */
export function silentDevices(
  failed: ReadonlySet<string>,
  probability: number,
  rng: RandomSource,
): (ian: number, device: number, round: number) => boolean {
  return (v, i) => failed.has(`${v}:${i}`) || (probability > 0 && uniformUnit(rng) < probability);
}

/** "a:b,c:d" → [[a, b], [c, d]] (non-negative integers), for the --fault-* flags. */
export function parsePairs(list: string | undefined, flag: string): [number, number][] {
  if (!list) return [];
  return list.split(',').map((item) => {
    const [a, b, ...rest] = item.split(':').map(Number);
    if (rest.length > 0 || !Number.isInteger(a) || !Number.isInteger(b) || a! < 0 || b! < 0)
      throw new PrivaggError(
        ErrorCode.INVALID_ARGUMENT,
        `${flag}: expected "a:b,…" of non-negative integers, got "${list}"`,
      );
    return [a!, b!];
  });
}
