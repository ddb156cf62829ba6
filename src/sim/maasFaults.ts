import { ensure } from '../errors.js';
import { type RandomSource, uniformInt } from '../math/random.js';

/**
 * Faults and attacks the MaaS runner injects. Placement is drawn from the scenario's
 * seeded source, so a seed names one reproducible scenario.
 */
export interface GatewayRef {
  ian: number;
  gateway: number;
}

export interface DeviceRef {
  ian: number;
  device: number;
}

export interface MaasFaults {
  /** Gateways down for the whole run. */
  failedGateways: GatewayRef[];
  /** Compromised gateways: they add a non-zero offset to their partial sums and tag the lie with their real key. */
  lyingGateways: GatewayRef[];
  /** Devices silent for the whole run. */
  failedDevices: DeviceRef[];
  /** Probability that a device is silent in a given round (the paper's DS failure). */
  deviceFailureProbability: number;
  /** Probability that one DS→GW message is lost (the paper's p1). */
  linkLossProbability: number;
  /** Probability that a live gateway fails to deliver its partial in a round (the paper's p2). */
  gatewayFailureProbability: number;
}

export const ATTACK_KINDS = [
  'forged',
  'tampered',
  'replayed',
  'stale',
  'malformed',
  'unknown-sender',
  'out-of-range-share',
  'wrong-round',
  'insider-forgery',
  'forged-partial',
  'replayed-partial',
  'forged-query',
  'replayed-query',
  'unauthorised-query',
  'over-budget-query',
] as const;
export type AttackKind = (typeof ATTACK_KINDS)[number];

export const NO_FAULTS: MaasFaults = {
  failedGateways: [],
  lyingGateways: [],
  failedDevices: [],
  deviceFailureProbability: 0,
  linkLossProbability: 0,
  gatewayFailureProbability: 0,
};

/**
 * Parses a placement spec: either a count ("2": that many distinct (IAN, index) pairs
 * chosen by the seed, spread over IANs round-robin from `firstIan` in `direction`), or an
 * explicit list ("0:1,2:4").
 */
export function parsePlacement(
  spec: string,
  ians: number,
  perIan: number,
  rng: RandomSource,
  opts: {
    firstIan: number;
    direction: 1 | -1;
    oneBased: boolean;
    avoid?: readonly { ian: number; index: number }[];
  },
): { ian: number; index: number }[] {
  const s = spec.trim();
  if (s === '' || s === '0' || s === 'none') return [];
  const lo = opts.oneBased ? 1 : 0;
  if (/^\d+$/.test(s)) {
    const count = Number(s);
    ensure(count <= ians * perIan, `cannot place ${count} in ${ians} × ${perIan}`, { count });
    const taken = new Set((opts.avoid ?? []).map((p) => `${p.ian}:${p.index}`));
    const out: { ian: number; index: number }[] = [];
    let v = ((opts.firstIan % ians) + ians) % ians;
    let guard = 0;
    while (out.length < count) {
      ensure(guard++ < 100 * ians * perIan, 'not enough free places for the requested count');
      const index = lo + uniformInt(rng, perIan);
      const key = `${v}:${index}`;
      if (!taken.has(key)) {
        taken.add(key);
        out.push({ ian: v, index });
        v = (((v + opts.direction) % ians) + ians) % ians;
      }
    }
    return out;
  }
  return s.split(',').map((part) => {
    const m = /^(\d+):(\d+)$/.exec(part.trim());
    ensure(m !== null, `expected a count or "ian:index,…", got "${part}"`);
    const ian = Number(m[1]);
    const index = Number(m[2]);
    ensure(
      ian < ians && index >= lo && index < lo + perIan,
      `"${part}" is outside ${ians} IANs × ${perIan}`,
    );
    return { ian, index };
  });
}
