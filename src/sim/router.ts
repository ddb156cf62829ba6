import type { RandomSource } from '../math/random.js';
import {
  type Address,
  type AggregatorRole,
  type Answer,
  addressKey,
  type CenterRole,
  type DeviceRole,
  type Envelope,
  type Inbound,
  type Verdict,
} from '../schemes/scheme.js';

/**
 * How envelopes travel between roles, whatever carries them: in memory (memoryRouter.ts)
 * or over a broker. The fault model sits here, for every scheme alike: an envelope can be
 * dropped, held back (delivered late, at `release`), have its bytes changed on the way, or
 * meet a role that is down.
 */
export interface RouterFaults {
  /** True: the envelope is lost. */
  drop?(from: Address, e: Envelope): boolean;
  /** True: the envelope is held until `release()` (late, after its round's deadline). */
  delay?(from: Address, e: Envelope): boolean;
  /** New bytes for the envelope (an outsider's tampering), or undefined to leave it. */
  tamper?(from: Address, e: Envelope): Uint8Array | undefined;
  /** True: the role is down and neither receives nor sends. */
  down?(who: Address): boolean;
}

export interface Delivery {
  readonly from: Address;
  readonly envelope: Envelope;
  /** The bytes the addressee got (the envelope's, unless tampered with). */
  readonly bytes: Uint8Array;
  readonly verdict: Verdict | 'dropped' | 'delayed' | 'down' | 'no such role';
}

export interface Router {
  faults: RouterFaults;
  /** Rejections by code, over every role. */
  readonly rejections: Record<string, number>;
  /** Sends `envelopes` from `from`; what they cause goes on by itself. */
  send(from: Address, envelopes: readonly Envelope[]): void | Promise<void>;
  /** Delivers what was held back, in the order it was sent. */
  release(): void | Promise<void>;
  /** Resolves once everything sent so far, and everything it caused, has been delivered. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/** Builds the router a run's roles talk through. */
export type RouterFactory = (
  roles: RoleSet,
  ctx: { rng: RandomSource; now: () => number; onDelivery?: (d: Delivery) => void },
) => Router | Promise<Router>;

/**
 * The roles a router delivers to, by address: every role of a run (the simulator, the demo),
 * or one process's own (a role process of `privagg up`, which holds no center unless it is
 * the center's).
 */
export interface RoleSet {
  readonly devices: ReadonlyMap<string, DeviceRole>;
  readonly aggregators: ReadonlyMap<string, AggregatorRole>;
  readonly center?: CenterRole;
}

/** The addressee's answer, or undefined when no such role (or it takes nothing). */
export function deliverTo(
  roles: RoleSet,
  to: Address,
  m: Inbound,
  nowMs: number,
  rng: RandomSource,
): Answer | undefined {
  if (to.role === 'center') return roles.center?.receive(m, nowMs);
  const k = addressKey(to);
  if (to.role === 'aggregator') return roles.aggregators.get(k)?.receive(m, nowMs, rng);
  if (to.role === 'device') return roles.devices.get(k)?.receive?.(m, nowMs, rng);
  return undefined;
}
