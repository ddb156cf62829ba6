import type { OemGrant } from '../schemes/maas/keys.js';
import type { MaasModes } from '../schemes/maas/params.js';

/**
 * A deployment as the networked runtime runs it: what `privagg up <file>` reads and every
 * role process (`privagg gateway|ledger|devices|query --deployment <file>`) shares.
 * Parsed and validated by `deploymentFile.ts` (YAML or JSON; errors name the field).
 */
export interface DeploymentSpec {
  /** Deployment name: an MQTT topic level, bound into identities and keys. */
  name: string;
  /** Directory for state (master secret, ledger file, logs); relative paths resolve against the file's directory. */
  stateDir: string;
  scheme: {
    /** The registered scheme (`privagg schemes`); 'maas' (default) runs on its own runtime. */
    id: string;
    /** Another scheme's parameters, as its own schema validated them (absent for maas). */
    params?: Record<string, unknown>;
    ians: number;
    devicesPerIan: number;
    gateways: number;
    threshold: number;
    /**
     * f: gateways per IAN that may lie (0 ≤ f ≤ m − k). A restore needs k + f partials and
     * corrects min(⌊(r − k)/2⌋, r − k − f) liars; absent: min(k − 1, m − k).
     */
    maxLyingGateways?: number;
    /** 'ai4i' (dimensions TWF…RNF, data/ai4i2020.csv) or 'synthetic'. */
    workload: 'ai4i' | 'synthetic';
    /** Path to the AI4I CSV (default: the copy in data/). */
    data?: string;
    /** null: LDP off. */
    ldp: { epsilon: number; delta: number } | null;
    /**
     * Range proofs on every report (docs/VALIDITY.md); null or absent: off.
     */
    inputValidity?: { proofs: number } | null;
    modes: MaasModes;
  };
  rounds: {
    /** Rounds to run (`up` stops after them; 0 = until SIGINT). */
    count: number;
    /** Round length in ms: devices report at its start, gateways close at its end. */
    durationMs: number;
    /** Wall-clock start of round 0 (ms since the epoch); `up` sets it to "now + startup". */
    epochMs?: number;
    /** After a round ends, how long the ledger waits for partials before restoring. */
    restoreDelayMs: number;
    /** Freshness window of every receiver (≥ durationMs). */
    freshnessWindowMs: number;
  };
  broker: {
    /** 'embedded' (aedes started by `up` on a free loopback port) or an MQTT URL (mqtt://127.0.0.1:1883). */
    url: string;
  };
  ledger: {
    /** SQLite block-store file (relative to stateDir). */
    file: string;
    host: string;
    /** HTTP port of the ledger API (0 = any free port; `up` passes the chosen one on). */
    port: number;
    batchSize: number;
    batchDelayMs: number;
  };
  /**
   * Each gateway process's health endpoint: basePort + ian·m + (l − 1) (per-index
   * processes: basePort + l − 1); 0 = any free port.
   */
  gatewayHealthBasePort: number;
  /**
   * How `privagg up` maps gateways to processes: 'per-gateway' (one process per gateway)
   * or 'per-index' (process l hosts GW_l of every IAN, each gateway with its own keys and
   * MQTT connection; m processes instead of z·m, and no process holds k shares of a device).
   */
  gatewayProcesses: 'per-gateway' | 'per-index';
  oems: OemGrant[];
  security: {
    /**
     * false (default): TLS with mutual authentication on MQTT and HTTPS, broker ACLs,
     * role-checked ledger endpoints, per-role credential bundles. true: plaintext,
     * anonymous broker, open endpoints — for experiments on one machine only; every
     * process says so when it starts. Control messages stay signed either way.
     */
    insecure: boolean;
  };
}
