import { lengthPrefixed, sha256, utf8 } from '../../crypto/bytes.js';

/**
 * The paper's identities ID = H1(id ‖ service ‖ t_reg) (§V.B), with SHA-256 as H1 and
 * length-prefixed fields so that no two (id, service, t) triples collide by concatenation.
 * Identities are public labels, not secrets: the paper's MAC keyed only by ID is what
 * makes its MAC forgeable (see keys.ts for what privagg keys MACs with instead).
 */
export type Role = 'DS' | 'GW' | 'OEM' | 'BC';

export const SERVICE: Record<Role, string> = {
  DS: 'send collected data to GW',
  GW: 'send aggregated data to BC',
  OEM: 'make a query transaction to BC',
  BC: 'store, restore and answer queries',
};

export function roleIdentity(role: Role, realId: string, registeredAtMs: number): Buffer {
  return sha256(
    lengthPrefixed(utf8(role), utf8(realId), utf8(SERVICE[role]), utf8(String(registeredAtMs))),
  );
}

/** Real ids used by the simulator's roster: stable, human-readable. */
export function deviceRealId(deployment: string, ian: number, device: number): string {
  return `${deployment}/ian-${ian}/ds-${device}`;
}

export function gatewayRealId(deployment: string, ian: number, gateway: number): string {
  return `${deployment}/ian-${ian}/gw-${gateway}`;
}
