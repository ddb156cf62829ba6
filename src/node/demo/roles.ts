import type { Logger } from 'pino';
import type { RoundStatusRecord } from '../../ledger/embeddedLedger.js';
import type { EmbeddedBrokerStats } from '../../net/embeddedBroker.js';
import type { MaasDeployment } from '../../schemes/maas/deployment.js';
import type { MaasFaults } from '../../sim/maasFaults.js';
import type { Workload } from '../../sim/workload.js';
import type { ParsedDeploymentSpec } from '../deploymentFile.js';
import type { RoundClock } from '../roundClock.js';

/**
 * What the demo needs of its roles, however they run — in the demo's own process
 * (`inProcessRoles.ts`) or as `privagg up` child processes (`processRoles.ts`).
 */
export interface DemoContext {
  spec: ParsedDeploymentSpec;
  /** The file the spec was read from (child processes read it too). */
  specFile: string;
  dep: MaasDeployment;
  workload: Workload;
  faults: MaasFaults;
  /** The scenario seed: the faults' own random streams derive from it. */
  seed: string;
  /** IAN → the gateway its compromised device sends an out-of-range share; empty: no such attack. */
  outOfRangeTargets: ReadonlyMap<number, number>;
  durationMs: number;
  /**
   * How devices are split into fleet bundles: fleet 0 is run by the roles, the others
   * (the compromised devices) by the attacker in the demo's process. One fleet: no attacker.
   */
  fleets: { ian: number; device: number }[][];
  log: Logger;
  onStatus: (s: RoundStatusRecord) => void;
  /**
   * The attacker's devices: connected before the round epoch is fixed (it takes a TLS
   * handshake and key derivation), started once it is.
   */
  connectAttacker: (brokerUrl: string) => Promise<void>;
  startAttacker: (clock: RoundClock) => Promise<void>;
}

export interface GatewayStat {
  ian: number;
  gateway: number;
  received: number;
  accepted: number;
  rejected: Record<string, number>;
  partialsPosted: number;
  reconnects: number;
}

export interface RolesRunning {
  brokerUrl: string;
  /** How the broker is described in the summary. */
  brokerLabel: string;
  ledgerUrl: string;
  clock: RoundClock;
  /** The embedded broker's counters (refused connections, publishes, subscriptions), when it runs here. */
  brokerStats?: () => EmbeddedBrokerStats;
  /** One sentence: where the roles run. */
  processes: string;
  /** Resolves when the ledger has a status for every round. */
  finished: Promise<void>;
  /** The roles' own counters, once the rounds and the ledger-side traffic are over. */
  collect(): Promise<{
    gateways: GatewayStat[];
    ledgerRejected: Record<string, number>;
    fleet: { silent: number; published: number };
  }>;
  stop(): Promise<void>;
}

export const isListed = (
  list: readonly { ian: number; gateway: number }[],
  ian: number,
  gateway: number,
) => list.some((g) => g.ian === ian && g.gateway === gateway);
