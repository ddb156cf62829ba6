import { expect } from 'vitest';
import { PrivacyAccountant } from '../../../src/dp/accountant.js';
import { canonicalJson } from '../../../src/ledger/canonicalJson.js';
import {
  encodeInitLedgerArgs,
  MASTER_SECRET_TRANSIENT_KEY,
} from '../../../src/ledger/fabric/stateLayout.js';
import { type RandomSource, seededRandom } from '../../../src/math/random.js';
import { createMaasDeployment, type MaasDeployment } from '../../../src/schemes/maas/deployment.js';
import type { MaasGateway } from '../../../src/schemes/maas/gateway.js';
import type { OemGrant } from '../../../src/schemes/maas/keys.js';
import type { MaasLedgerContract } from '../../../src/schemes/maas/ledgerContract.js';
import { defaultMaasParams, type MaasParams } from '../../../src/schemes/maas/params.js';
import type { MaasQueryEngine } from '../../../src/schemes/maas/query.js';
import {
  invoke,
  loadChaincode,
  MemoryWorldState,
  type TxOutcome,
  type TxSpec,
} from './memoryStub.js';

/** A small deployment whose partials and queries are produced by the real MaaS roles. */
export const T0 = Date.UTC(2026, 0, 1);
export const ROUND_MS = 60_000;
export const MASTER_SECRET = Buffer.alloc(32, 0x5a);
export const COLLECTION = 'privaggLedgerSecrets';

export const OEMS: OemGrant[] = [
  // Each distinct window over both dimensions costs ε = 4: two fit, the third does not.
  {
    name: 'oem-acme',
    dimensions: [0, 1],
    budget: { epsilon: 8, delta: 0 },
    epsilonPerDimension: [2, 2],
  },
  {
    name: 'oem-limited',
    dimensions: [0],
    budget: { epsilon: 10, delta: 0 },
    epsilonPerDimension: [1, 1],
  },
];

export function reading(ian: number, device: number, round: number): number[] {
  return [(ian + device + round) % 10, (2 * device + round + ian) % 10];
}

/** `maxLyingGateways` (f): absent, the default min(k − 1, m − k) = 2 at m = 5, k = 3. */
export function makeDeployment(
  ldp: MaasParams['ldp'] = null,
  maxLyingGateways?: number,
): MaasDeployment {
  const params = defaultMaasParams({
    deployment: 'fabric-test',
    ians: 2,
    devicesPerIan: 5,
    gateways: 5,
    threshold: 3,
    dimensions: ['a', 'b'],
    maxReading: [9, 9],
    ldp,
    ...(maxLyingGateways !== undefined ? { maxLyingGateways } : {}),
  });
  return createMaasDeployment(params, {
    oems: OEMS,
    registeredAtMs: T0 - 1,
    masterSecret: MASTER_SECRET,
  });
}

export function initArgs(
  dep: MaasDeployment,
  secretCollection: string | null = COLLECTION,
  operatorMspIds: string[] = ['Org1MSP'],
): string {
  return encodeInitLedgerArgs(
    { params: dep.params, oems: OEMS },
    { registeredAtMs: T0 - 1, secretCollection, operatorMspIds },
  );
}

export const masterTransient = { [MASTER_SECRET_TRANSIENT_KEY]: MASTER_SECRET };

/**
 * One round of one IAN through real devices and gateways. `skip(l, i)`: gateway l never
 * receives device i's report; `down`: gateways that send nothing.
 */
export function roundOf(
  dep: MaasDeployment,
  ian: number,
  round: number,
  rng: RandomSource,
  opts: { skip?: (gateway: number, device: number) => boolean; down?: number[] } = {},
): { gateways: MaasGateway[]; partials: Map<number, Buffer>; nowMs: number } {
  const nowMs = T0 + round * ROUND_MS;
  const { devicesPerIan: n, gateways: m } = dep.params;
  const gateways = Array.from({ length: m }, (_, l) => dep.gateway(ian, l + 1));
  for (const g of gateways) g.beginRound(round);
  for (let i = 0; i < n; i++) {
    for (const msg of dep.device(ian, i).report(round, reading(ian, i, round), nowMs, rng)) {
      if (opts.skip?.(msg.gateway, i)) continue;
      gateways[msg.gateway - 1]!.ingest(msg.bytes, nowMs + 100);
    }
  }
  const partials = new Map<number, Buffer>();
  for (let l = 1; l <= m; l++) {
    if (opts.down?.includes(l)) continue;
    partials.set(l, gateways[l - 1]!.closeRound(nowMs + 500).partial);
  }
  return { gateways, partials, nowMs };
}

export const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** The core's fresh-noise source in the derived mode must never be used, as in chaincode. */
export const NEVER: RandomSource = {
  fill() {
    throw new Error('fresh randomness used');
  },
  nextUint32() {
    throw new Error('fresh randomness used');
  },
  nextBigUint64() {
    throw new Error('fresh randomness used');
  },
};

export const deterministicRng = (label: string) => seededRandom(`fabric-test/${label}`);

/**
 * Runs every transaction on two independent in-memory ledgers (two "endorsers") and,
 * where the core has the same operation, on the sans-I/O core too; checks that both
 * ledgers produce the same response and the same write set byte for byte, and that the
 * response is the core's answer in canonical JSON.
 */
export class TwinLedgers {
  readonly chaincode = loadChaincode();
  readonly a = new MemoryWorldState();
  readonly b = new MemoryWorldState();
  readonly core: { contract: MaasLedgerContract; queries: MaasQueryEngine };
  private seq = 0;

  constructor(
    readonly dep: MaasDeployment,
    /** Values (partials, outcomes) in the private data collection, as initArgs makes by default. */
    readonly valuesInCollection = true,
  ) {
    this.core = dep.ledger(new PrivacyAccountant());
  }

  /** Both ledgers run the transaction; their outcomes must be identical. */
  async tx(
    args: string[],
    atMs: number,
    extra: Omit<TxSpec, 'txId' | 'timestampMs' | 'args'> = {},
  ): Promise<TxOutcome> {
    const spec: TxSpec = {
      txId: `tx${String(++this.seq).padStart(6, '0')}`,
      timestampMs: atMs,
      args,
      ...extra,
    };
    const ra = await invoke(this.chaincode, this.a, spec);
    const rb = await invoke(this.chaincode, this.b, spec);
    expect(rb.status, `${args[0]} status`).toBe(ra.status);
    expect(rb.payload, `${args[0]} payload`).toBe(ra.payload);
    expect(rb.message, `${args[0]} message`).toBe(ra.message);
    expect(hexWrites(rb), `${args[0]} write set`).toEqual(hexWrites(ra));
    return ra;
  }

  async add(bytes: Uint8Array, atMs: number) {
    const out = await this.tx(['Add', b64(bytes)], atMs);
    expect(out.status, out.message).toBe(200);
    const core = this.core.contract.add(bytes, atMs);
    expect(out.payload).toBe(canonicalJson(core));
    return { ...out, result: core };
  }

  async restore(ian: number, round: number, atMs: number) {
    const out = await this.tx(['Restore', String(ian), String(round)], atMs);
    expect(out.status, out.message).toBe(200);
    const core = this.core.contract.restore(ian, round);
    // What the block records: no estimates when they are kept in the collection.
    const receipt =
      this.valuesInCollection && core.status === 'restored' ? { ...core, estimates: [] } : core;
    expect(out.payload).toBe(canonicalJson(receipt));
    if (core.status !== 'reconcile') {
      // The operator reads the values by evaluation: the core's outcome, estimates and all.
      const read = await this.tx(['GetOutcome', String(ian), String(round)], atMs);
      expect(read.payload).toBe(canonicalJson(core));
      expect(read.writes).toHaveLength(0);
    }
    return { ...out, result: core };
  }

  async query(bytes: Uint8Array, atMs: number) {
    const out = await this.tx(['Query', b64(bytes)], atMs);
    expect(out.status, out.message).toBe(200);
    const core = this.core.queries.query(bytes, atMs, NEVER);
    expect(out.payload).toBe(canonicalJson(core));
    return { ...out, result: core };
  }

  /** Every committed write of both ledgers, as hex, in order. */
  histories(): { a: string[]; b: string[] } {
    const flat = (w: MemoryWorldState) =>
      w.history.flatMap((h) =>
        h.writes.map(
          (x) =>
            `${h.txId} ${x.collection ?? '-'} ${Buffer.from(x.key).toString('hex')} ${x.value?.toString('hex') ?? 'DELETE'}`,
        ),
      );
    return { a: flat(this.a), b: flat(this.b) };
  }
}

export function hexWrites(o: TxOutcome): string[] {
  return o.writes.map(
    (w) =>
      `${w.collection ?? '-'} ${Buffer.from(w.key).toString('hex')} ${w.value?.toString('hex') ?? 'DELETE'}`,
  );
}
