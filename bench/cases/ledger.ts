import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MaasLedgerNode, openEmbeddedLedger } from '../../src/ledger/embeddedLedger.js';
import { removeLedgerFiles } from '../../src/ledger/headFile.js';
import { SqliteBlockStore } from '../../src/ledger/sqliteStore.js';
import { verifyChain } from '../../src/ledger/verifyChain.js';
import { seededRandom, systemRandom } from '../../src/math/random.js';
import { createMaasDeployment } from '../../src/schemes/maas/deployment.js';
import type { OemGrant } from '../../src/schemes/maas/keys.js';
import { defaultMaasParams } from '../../src/schemes/maas/params.js';
import { buildQuery, dimensionMask } from '../../src/schemes/maas/query.js';
import type { BenchCase } from '../harness.js';

/**
 * The embedded ledger (issue 4): Add throughput in-process with group commit, the
 * latency a submission waits for its block, a query through the node, and the time to
 * verify a chain of 10^5 transactions. The paper's Fabric figures (Table IV) for
 * comparison: 2.36 ms average upload latency, 29.74 ms query latency.
 */
const T0 = Date.UTC(2026, 0, 1);
const IANS = 50;
const GRANT: OemGrant = {
  name: 'oem',
  dimensions: [0, 1, 2, 3, 4],
  budget: { epsilon: 1e9, delta: 0 },
  epsilonPerDimension: [1, 1, 1, 1, 1],
};

function lazy<T>(make: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= make());
}

/** Real gateway partials (LDP on, AEAD on, n = 2 devices per IAN), `rounds` rounds of 50 IANs × 5 gateways. */
function makePartials(rounds: number) {
  const params = defaultMaasParams({ deployment: 'bench-ledger', ians: IANS, devicesPerIan: 2 });
  const dep = createMaasDeployment(params, {
    oems: [GRANT],
    registeredAtMs: T0,
    rng: seededRandom('bench-ledger'),
  });
  const rng = seededRandom('bench-ledger-shares');
  const out: { bytes: Buffer; now: number; ian: number; round: number }[] = [];
  const gws = Array.from({ length: IANS }, (_, v) =>
    Array.from({ length: 5 }, (_, l) => dep.gateway(v, l + 1)),
  );
  for (let rd = 0; rd < rounds; rd++) {
    const now = T0 + rd * 1000;
    for (let v = 0; v < IANS; v++) {
      for (const g of gws[v]!) g.beginRound(rd);
      for (let i = 0; i < 2; i++) {
        for (const m of dep.device(v, i).report(rd, [1, 0, 2, 1, 0], now, rng))
          gws[v]![m.gateway - 1]!.ingest(m.bytes, now);
      }
      for (const g of gws[v]!)
        out.push({ bytes: g.closeRound(now).partial, now, ian: v, round: rd });
    }
  }
  return { dep, params, partials: out };
}

const fixture = lazy(() => makePartials(8)); // 2,000 partials
const VERIFY_ROUNDS = 334; // 83,500 partials + 16,700 restores = 100,200 transactions
const big = lazy(() => makePartials(VERIFY_ROUNDS));
const dir = mkdtempSync(join(tmpdir(), 'privagg-bench-ledger-'));
let fileNo = 0;
const freshFile = () => join(dir, `l${fileNo++}.sqlite`);

function nodeOn(file: string, batchSize: number, f = fixture()) {
  return new MaasLedgerNode({
    file,
    config: { params: f.params, oems: [GRANT] },
    ledgerKey: f.dep.registry.ledgerKey(),
    nodeKey: Buffer.alloc(32, 1),
    batchSize,
  });
}

/** A file with 100,200 transactions (83,500 partials, 16,700 restores) in blocks of 256. */
const verifyFile = lazy(() => {
  const file = freshFile();
  const f = big();
  const node = nodeOn(file, 256, f);
  let txs = 0;
  for (const p of f.partials) {
    if (node.add(p.bytes, p.now).ok) txs++;
  }
  for (let rd = 0; rd < VERIFY_ROUNDS; rd++) {
    for (let v = 0; v < IANS; v++) node.restore(v, rd, T0 + rd * 1000 + 500);
  }
  txs += VERIFY_ROUNDS * IANS;
  node.close();
  if (txs !== 100_200) throw new Error(`bench: expected 100,200 transactions, built ${txs}`);
  return { file, txs };
});

/** Every window [start, end] of the 8 restored rounds (36 of them). */
const WINDOWS: [number, number][] = [];
for (let a = 0; a < 8; a++) for (let b = a; b < 8; b++) WINDOWS.push([a, b]);

export const cases: BenchCase[] = [
  {
    group: 'ledger',
    name: 'ledger add in-process, batch 256 (tx/s incl. fsync per block)',
    setup: () => void fixture(),
    opsPerCall: 2000,
    run: () => {
      const file = freshFile();
      const node = nodeOn(file, 256);
      for (const p of fixture().partials) node.add(p.bytes, p.now);
      node.close();
      removeLedgerFiles(file);
      return node;
    },
    target: { minOpsPerSec: 5000 },
    minMillis: 1500,
  },
  {
    group: 'ledger',
    name: 'ledger add in-process, batch 1 (a block and fsync per tx)',
    setup: () => void fixture(),
    opsPerCall: 200,
    run: () => {
      const file = freshFile();
      const node = nodeOn(file, 1);
      for (const p of fixture().partials.slice(0, 200)) node.add(p.bytes, p.now);
      node.close();
      removeLedgerFiles(file);
      return node;
    },
    minMillis: 1500,
  },
  (() => {
    // Per-submission latency through the async service: from addPartial() to the promise
    // resolving, i.e. until its block is on disk. 256 submissions in flight per call.
    let latencies: number[] = [];
    const pct = (q: number) => {
      const xs = [...latencies].sort((a, b) => a - b);
      return xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? Number.NaN;
    };
    return {
      group: 'ledger',
      name: 'ledger add via async service, 256 in flight, batch delay 2 ms (p50/p99 = time until on disk)',
      setup: () => {
        fixture();
        latencies = [];
      },
      opsPerCall: 256,
      run: async () => {
        const f = fixture();
        const file = freshFile();
        const ledger = openEmbeddedLedger({
          file,
          config: { params: f.params, oems: [GRANT] },
          ledgerKey: f.dep.registry.ledgerKey(),
          nodeKey: Buffer.alloc(32, 1),
          batchSize: 1024,
          batchDelayMs: 2,
          clock: () => T0,
        });
        await Promise.all(
          f.partials.slice(0, 256).map(async (p) => {
            const t = performance.now();
            await ledger.addPartial(p.bytes);
            latencies.push(performance.now() - t);
          }),
        );
        await ledger.close();
        removeLedgerFiles(file);
      },
      extra: () => ({ p50Ms: pct(0.5), p99Ms: pct(0.99) }),
      minMillis: 1500,
    } satisfies BenchCase;
  })(),
  {
    group: 'ledger',
    name: 'ledger verify a chain of 100,200 transactions (whole chain per op)',
    setup: () => void verifyFile(),
    run: () => {
      const { file } = verifyFile();
      const store = new SqliteBlockStore(file);
      const r = verifyChain(store);
      store.close();
      if (!r.ok) throw new Error(`bench: chain does not verify: ${r.firstBad?.reason}`);
      return r;
    },
    minMillis: 1,
  },
  {
    group: 'ledger',
    name: 'ledger query through the node, 50 IANs × 5 dims × 8 rounds (uncached window)',
    setup: () => void fixture(),
    run: (() => {
      let node: MaasLedgerNode | undefined;
      let k = 0;
      return () => {
        const f = fixture();
        if (!node) {
          node = nodeOn(freshFile(), 256);
          for (const p of f.partials) node.add(p.bytes, p.now);
          for (let rd = 0; rd < 8; rd++)
            for (let v = 0; v < IANS; v++) node.restore(v, rd, T0 + rd * 1000 + 500);
        }
        // A distinct window each call — (number, start, end) walks 50 × 36 combinations —
        // so no answer comes from the cache.
        const number = 1 + (k % IANS);
        const [start, end] = WINDOWS[Math.floor(k / IANS) % WINDOWS.length]!;
        k++;
        const q = buildQuery(f.params, f.dep.registry.oemKey(0), {
          number,
          startRound: start,
          endRound: end,
          dimensionMask: dimensionMask([0, 1, 2, 3, 4]),
          timestamp: T0 + 8000 + k,
        });
        const res = node.query(q, T0 + 8000 + k, systemRandom);
        if (!res.ok && res.code !== 'REPLAY') throw new Error(`bench: ${res.code}`);
        return res;
      };
    })(),
    minMillis: 1000,
  },
];
