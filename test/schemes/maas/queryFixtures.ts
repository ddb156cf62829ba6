import { PrivacyAccountant } from '../../../src/dp/accountant.js';
import { type RandomSource, seededRandom } from '../../../src/math/random.js';
import { createMaasDeployment, type MaasDeployment } from '../../../src/schemes/maas/deployment.js';
import type { OemGrant } from '../../../src/schemes/maas/keys.js';
import {
  MaasLedgerContract,
  type RestoreOutcome,
} from '../../../src/schemes/maas/ledgerContract.js';
import {
  DEFAULT_MODES,
  defaultMaasParams,
  type MaasModes,
} from '../../../src/schemes/maas/params.js';
import {
  buildQuery,
  dimensionMask,
  MaasQueryEngine,
  type QueryResult,
} from '../../../src/schemes/maas/query.js';

/**
 * A query engine over restored outcomes the test chooses, without running devices and
 * gateways: outcomes are what the codec decodes from sums of encoded readings, exactly
 * as Restore stores them. Hundreds of rounds cost milliseconds, so the statistical tests
 * of the query noise can use many noise draws (one per round: cells are per IAN-round).
 */
export const T0 = Date.UTC(2026, 0, 1);

export type Restored = Extract<RestoreOutcome, { status: 'restored' }>;

/** A contract whose final outcomes are set by the test. */
export class InjectedContract extends MaasLedgerContract {
  private readonly outcomes = new Map<string, RestoreOutcome>();
  private latest = -1;

  set(outcome: RestoreOutcome): void {
    this.outcomes.set(`${outcome.ian}/${outcome.round}`, outcome);
    if (outcome.status !== 'reconcile' && outcome.round > this.latest) this.latest = outcome.round;
  }

  override restoredOf(ian: number, round: number): Restored | undefined {
    const o = this.outcomes.get(`${ian}/${round}`);
    return o?.status === 'restored' ? o : undefined;
  }

  override finalOutcomeOf(ian: number, round: number): RestoreOutcome | undefined {
    const o = this.outcomes.get(`${ian}/${round}`);
    return o && o.status !== 'reconcile' ? o : undefined;
  }

  override get latestFinalRound(): number {
    return this.latest;
  }
}

export interface Fixture {
  dep: MaasDeployment;
  contract: InjectedContract;
  queries: MaasQueryEngine;
  /** Field sums of the given per-device readings (LDP applied with `rng` when on). */
  sums(readings: readonly (readonly number[])[], rng: RandomSource): bigint[];
  /** Stores IAN v's restored outcome for `round` from field sums over n devices. */
  restore(v: number, round: number, sums: readonly bigint[], n?: number): Restored;
  fail(v: number, round: number): void;
  ask(
    oem: number,
    q: { number: number; startRound: number; endRound: number; dims?: number[] },
    rng?: RandomSource,
  ): QueryResult;
}

let clock = 0;

export function fixture(opts: {
  ians: number;
  devices: number;
  maxReading: number[];
  ldp: { epsilon: number; delta: number } | null;
  oems: OemGrant[];
  modes?: Partial<MaasModes>;
  /** The TA's master secret (so two fixtures can share the ledger's noise key). */
  secret?: string;
  accountant?: PrivacyAccountant;
}): Fixture {
  const params = defaultMaasParams({
    deployment: 'query-noise',
    ians: opts.ians,
    devicesPerIan: opts.devices,
    dimensions: opts.maxReading.map((_, j) => `d${j}`),
    maxReading: opts.maxReading,
    ldp: opts.ldp,
    modes: { ...DEFAULT_MODES, ...opts.modes },
  });
  const dep = createMaasDeployment(params, {
    oems: opts.oems,
    registeredAtMs: T0,
    rng: seededRandom(`master/${opts.secret ?? 'one'}`),
  });
  const key = dep.registry.ledgerKey();
  const contract = new InjectedContract(key, params, dep.shamir, dep.codec);
  const queries = new MaasQueryEngine(
    contract,
    key,
    params,
    opts.accountant ?? new PrivacyAccountant(),
  );
  const { field } = params;
  return {
    dep,
    contract,
    queries,
    sums(readings, rng) {
      const total = params.dimensions.map(() => 0n);
      for (const r of readings) {
        const enc = dep.codec.encode(r, rng);
        for (let j = 0; j < total.length; j++) total[j] = (total[j]! + enc[j]!) % field.p;
      }
      return total;
    },
    restore(v, round, sums, n = params.devicesPerIan) {
      const outcome: Restored = {
        status: 'restored',
        ian: v,
        round,
        attempt: 0,
        contributors: Array.from({ length: n }, (_, i) => i),
        gateways: [1, 2, 3, 4, 5],
        liars: [],
        excluded: [],
        crossChecked: true,
        estimates: dep.codec.decode(sums, n),
      };
      contract.set(outcome);
      return outcome;
    },
    fail(v, round) {
      contract.set({ status: 'failed', ian: v, round, reason: 'no partial arrived' });
    },
    ask(oem, q, rng = seededRandom('fresh')) {
      clock++;
      const bytes = buildQuery(params, dep.registry.oemKey(oem), {
        number: q.number,
        startRound: q.startRound,
        endRound: q.endRound,
        dimensionMask: dimensionMask(q.dims ?? [0]),
        timestamp: T0 + clock,
      });
      return queries.query(bytes, T0 + clock, rng);
    },
  };
}

/** An OEM allowed every one of `w` dimensions at ε_j = `epsilon`, with room for many windows. */
export function grant(name: string, epsilon: number, w = 1): OemGrant {
  return {
    name,
    dimensions: Array.from({ length: w }, (_, j) => j),
    budget: { epsilon: 1_000_000, delta: 0 },
    epsilonPerDimension: Array.from({ length: w }, () => epsilon),
  };
}

/** Pearson's r. */
export function pearson(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  const ma = a.reduce((s, x) => s + x, 0) / n;
  const mb = b.reduce((s, x) => s + x, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}
