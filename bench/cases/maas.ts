import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { AEAD_NONCE_BYTES, AEAD_TAG_BYTES } from '../../src/crypto/aead.js';
import { MAC_TAG_BYTES } from '../../src/crypto/mac.js';
import { PrivacyAccountant } from '../../src/dp/accountant.js';
import { seededRandom, systemRandom } from '../../src/math/random.js';
import { createMaasDeployment, type MaasDeployment } from '../../src/schemes/maas/deployment.js';
import { MaasGateway } from '../../src/schemes/maas/gateway.js';
import type { OemGrant } from '../../src/schemes/maas/keys.js';
import type { MaasLedgerContract } from '../../src/schemes/maas/ledgerContract.js';
import {
  DEFAULT_MODES,
  defaultMaasParams,
  type MaasParams,
} from '../../src/schemes/maas/params.js';
import { buildQuery, dimensionMask, MaasQueryEngine } from '../../src/schemes/maas/query.js';
import { REPORT_HEADER_BYTES } from '../../src/wire/maas.js';
import type { BenchCase } from '../harness.js';

/**
 * The MaaS pipeline against the targets, each as a ratio to the raw node:crypto
 * work it cannot avoid, measured alternately in the same run:
 *  - device report (w = 5, m = 5, LDP on) ≤ 2 × its own MAC (and AEAD) calls;
 *  - gateway verify + aggregate ≥ 0.7 × the HMAC-verify rate (ratio ≤ 1/0.7);
 *  - restore + query latency for z = 100 IANs × 5 dims × 100 rounds, query ≤ 5 ms.
 * Everything a case needs is built lazily once per process (setup runs per measurement).
 */

const T0 = Date.UTC(2026, 0, 1);
const ROUND_MS = 60_000;
const W = 5;
const READING = [1.5, 0.25, 4, 2.75, 3];
const OEM: OemGrant = {
  name: 'oem-bench',
  dimensions: [0, 1, 2, 3, 4],
  // Large enough for every distinct query a run makes.
  budget: { epsilon: 1e9, delta: 0 },
  epsilonPerDimension: [1, 1, 1, 1, 1],
};

function deployment(aead: boolean, ians: number, devicesPerIan: number): MaasDeployment {
  const params: MaasParams = defaultMaasParams({
    deployment: `bench-${aead ? 'aead' : 'clear'}-${ians}x${devicesPerIan}`,
    ians,
    devicesPerIan,
    gateways: 5,
    threshold: 3,
    modes: { ...DEFAULT_MODES, aead },
  });
  return createMaasDeployment(params, {
    oems: [OEM],
    registeredAtMs: T0 - 1,
    rng: seededRandom(`bench-maas-${aead}-${ians}-${devicesPerIan}`),
  });
}

function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
}

// ─── 1. Device report ────────────────────────────────────────────────────────────────

/** One device, its report and the raw crypto calls that report makes, per AEAD mode. */
const deviceFixture = (aead: boolean) =>
  lazy(() => {
    const dep = deployment(aead, 1, 25);
    const key = dep.registry.deviceKey(0, 0);
    const device = dep.device(0, 0);
    const messages = device.report(0, READING, T0, systemRandom);
    const macKeys = key.gatewayMac.map((k) => k.bytes);
    const aeadKeys = key.gatewayAead.map((k) => k.bytes);
    // The exact inputs of the report's calls: the authenticated part (header ‖ payload),
    // and with AEAD on the 24-byte header (AAD) and the 40-byte plaintext (5 × 8 bytes).
    const authenticated = messages.map((m) => m.bytes.subarray(0, m.bytes.length - MAC_TAG_BYTES));
    const headers = messages.map((m) => m.bytes.subarray(0, REPORT_HEADER_BYTES));
    const plain = Buffer.alloc(W * 8, 0x5a);
    const nonce = Buffer.alloc(AEAD_NONCE_BYTES, 7);
    return { device, macKeys, aeadKeys, authenticated, headers, plain, nonce };
  });
const clearDevice = deviceFixture(false);
const sealedDevice = deviceFixture(true);

let round = 0;
function deviceCases(aead: boolean): BenchCase[] {
  const fx = aead ? sealedDevice : clearDevice;
  const mode = aead ? 'AEAD on' : 'AEAD off';
  const base = `maas raw crypto of one report (${mode})`;
  return [
    {
      group: 'maas',
      name: base,
      setup: () => void fx(),
      // AEAD off: 5 HMAC-SHA256 over 64 bytes. AEAD on: 5 AES-256-GCM seals of 40 bytes
      // with a 24-byte AAD, then 5 HMAC-SHA256 over 92 bytes.
      run: () => {
        const f = fx();
        let last: Buffer | undefined;
        for (let l = 0; l < 5; l++) {
          if (aead) {
            const c = createCipheriv('aes-256-gcm', f.aeadKeys[l]!, f.nonce);
            c.setAAD(f.headers[l]!);
            c.update(f.plain);
            c.final();
            c.getAuthTag();
          }
          last = createHmac('sha256', f.macKeys[l]!).update(f.authenticated[l]!).digest();
        }
        return last;
      },
    },
    {
      group: 'maas',
      name: `maas device report w=5 m=5 LDP on (${mode})`,
      setup: () => void fx(),
      // Round numbers only go into the header; varying them keeps the work honest.
      run: () => fx().device.report(round++ & 0xffff, READING, T0, systemRandom),
      baseline: base,
      target: { maxRatio: 2 },
    },
  ];
}

// ─── 2. Gateway verify + aggregate ───────────────────────────────────────────────────

const BATCH = 1000;

/**
 * Gateway 1 of one IAN with BATCH devices, and the BATCH messages of round 0 addressed
 * to it. Each timed call builds a fresh MaasGateway from the already derived key (a
 * constructor of two empty maps: < 0.1% of a 1000-message call), so the same round's
 * messages are fresh to it; then ingests all of them and closes the round.
 */
const gatewayFixture = (aead: boolean) =>
  lazy(() => {
    const dep = deployment(aead, 1, BATCH);
    const key = dep.registry.gatewayKey(0, 1);
    const rng = seededRandom(`bench-maas-gw-${aead}`);
    const messages = Array.from({ length: BATCH }, (_, i) => {
      const m = dep
        .device(0, i)
        .report(0, READING, T0, rng)
        .find((x) => x.gateway === 1)!;
      return m.bytes;
    });
    const macKeys = messages.map((_, i) => key.deviceMac[i]!.bytes);
    const aeadKeys = messages.map((_, i) => key.deviceAead[i]!.bytes);
    const authenticated = messages.map((b) => b.subarray(0, b.length - MAC_TAG_BYTES));
    const tags = messages.map((b) => b.subarray(b.length - MAC_TAG_BYTES));
    const headers = messages.map((b) => b.subarray(0, REPORT_HEADER_BYTES));
    const payload = messages.map((b) => b.subarray(REPORT_HEADER_BYTES, b.length - MAC_TAG_BYTES));
    const check = new MaasGateway(key, dep.params);
    check.beginRound(0);
    for (const b of messages) check.ingest(b, T0);
    const res = check.closeRound(T0);
    if (res.contributors.length !== BATCH || res.rejected.length > 0)
      throw new Error('bench fixture: gateway rejected a message');
    return {
      key,
      params: dep.params,
      messages,
      macKeys,
      aeadKeys,
      authenticated,
      tags,
      headers,
      payload,
    };
  });
const clearGateway = gatewayFixture(false);
const sealedGateway = gatewayFixture(true);

function gatewayRound(fx: () => ReturnType<ReturnType<typeof gatewayFixture>>): () => unknown {
  return () => {
    const f = fx();
    const gw = new MaasGateway(f.key, f.params);
    gw.beginRound(0);
    for (let b = 0; b < f.messages.length; b++) gw.ingest(f.messages[b]!, T0);
    return gw.closeRound(T0).partial;
  };
}

function rawVerify(f: ReturnType<ReturnType<typeof gatewayFixture>>, open: boolean): unknown {
  let ok = true;
  let plain: Buffer | undefined;
  for (let b = 0; b < f.messages.length; b++) {
    const mac = createHmac('sha256', f.macKeys[b]!).update(f.authenticated[b]!).digest();
    ok = timingSafeEqual(mac, f.tags[b]!) && ok;
    if (open) {
      const box = f.payload[b]!;
      const d = createDecipheriv('aes-256-gcm', f.aeadKeys[b]!, box.subarray(0, AEAD_NONCE_BYTES));
      d.setAuthTag(box.subarray(box.length - AEAD_TAG_BYTES));
      d.setAAD(f.headers[b]!);
      plain = d.update(box.subarray(AEAD_NONCE_BYTES, box.length - AEAD_TAG_BYTES));
      d.final();
    }
  }
  return ok ? plain : undefined;
}

// Gateway rate ≥ 0.7 × the raw rate, i.e. time per message ≤ 1/0.7 ≈ 1.428 × the raw time.
const GW_RATIO = 1.428;

const gatewayCases: BenchCase[] = [
  {
    group: 'maas',
    name: 'maas raw HMAC verify ×1000 (AEAD off msgs)',
    opsPerCall: BATCH,
    setup: () => void clearGateway(),
    run: () => rawVerify(clearGateway(), false),
  },
  {
    group: 'maas',
    name: 'maas gateway verify+aggregate 1000 msgs (AEAD off)',
    opsPerCall: BATCH,
    setup: () => void clearGateway(),
    run: gatewayRound(clearGateway),
    baseline: 'maas raw HMAC verify ×1000 (AEAD off msgs)',
    target: { maxRatio: GW_RATIO },
  },
  {
    group: 'maas',
    name: 'maas raw HMAC verify ×1000 (AEAD on msgs)',
    opsPerCall: BATCH,
    setup: () => void sealedGateway(),
    run: () => rawVerify(sealedGateway(), false),
  },
  {
    // With AEAD on the gateway must also run one AES-256-GCM open per message, so the
    // HMAC-only limit is unreachable by construction: this row is the ratio to it, for
    // information, with no target. The target applies to the next row.
    group: 'maas',
    name: 'maas gateway verify+aggregate 1000 msgs (AEAD on) vs HMAC only',
    opsPerCall: BATCH,
    setup: () => void sealedGateway(),
    run: gatewayRound(sealedGateway),
    baseline: 'maas raw HMAC verify ×1000 (AEAD on msgs)',
  },
  {
    group: 'maas',
    name: 'maas raw HMAC verify + GCM open ×1000',
    opsPerCall: BATCH,
    setup: () => void sealedGateway(),
    run: () => rawVerify(sealedGateway(), true),
  },
  {
    group: 'maas',
    name: 'maas gateway verify+aggregate 1000 msgs (AEAD on)',
    opsPerCall: BATCH,
    setup: () => void sealedGateway(),
    run: gatewayRound(sealedGateway),
    baseline: 'maas raw HMAC verify + GCM open ×1000',
    target: { maxRatio: GW_RATIO },
  },
];

// ─── 3. Restore + query: z = 100 IANs × 5 dims × 100 rounds ─────────────────────────

const Z = 100;
const ROUNDS = 100;
const DEVICES_PER_IAN = 4;

/**
 * A ledger with every one of the 100 × 100 IAN-rounds added and restored (LDP on, AEAD
 * on, n = 4 devices per IAN), built through the real roles: devices report, the five
 * gateways of each IAN verify and aggregate, the contract adds and restores. ~seconds.
 */
const ledgerFixture = lazy(() => {
  const dep = deployment(true, Z, DEVICES_PER_IAN);
  const rng = seededRandom('bench-maas-ledger');
  // The ledger's own query engine derives each IAN-round's noise cells as it is restored.
  const { contract, queries } = dep.ledger();
  for (let v = 0; v < Z; v++) {
    const devices = Array.from({ length: DEVICES_PER_IAN }, (_, i) => dep.device(v, i));
    const gateways = Array.from({ length: 5 }, (_, l) => dep.gateway(v, l + 1));
    for (let rd = 0; rd < ROUNDS; rd++) {
      const now = T0 + rd * ROUND_MS;
      for (const g of gateways) g.beginRound(rd);
      for (const d of devices) {
        const reading = READING.map((x, j) => (x + v + rd + j + d.device) % 5);
        for (const m of d.report(rd, reading, now, rng))
          gateways[m.gateway - 1]!.ingest(m.bytes, now);
      }
      for (const g of gateways) {
        const added = contract.add(g.closeRound(now).partial, now);
        if (!added.ok) throw new Error(`bench fixture: ${added.reason}`);
      }
      if (contract.restore(v, rd).status !== 'restored')
        throw new Error('bench fixture: restore failed');
    }
  }
  const queryNow = T0 + ROUNDS * ROUND_MS;
  const oemKey = dep.registry.oemKey(0);
  const query = buildQuery(dep.params, oemKey, {
    number: Z,
    startRound: 0,
    endRound: ROUNDS - 1,
    dimensionMask: dimensionMask([0, 1, 2, 3, 4]),
    timestamp: queryNow,
  });
  const half = buildQuery(dep.params, oemKey, {
    number: Z / 2,
    startRound: 0,
    endRound: ROUNDS - 1,
    dimensionMask: dimensionMask([0, 1, 2, 3, 4]),
    timestamp: queryNow,
  });
  return {
    dep,
    contract,
    dp: queries.dp,
    ledgerKey: dep.registry.ledgerKey(),
    query,
    half,
    queryNow,
  };
});

/**
 * One IAN-round's partials, restored from r = 3, 4, 5 of them and from 5 with gateway 5
 * lying (Berlekamp–Welch corrects it). `restore` caches its outcome per IAN-round, so
 * each timed call first drops that cache entry: a Map.delete, negligible next to a
 * restore (this reaches into the contract's private map — bench only).
 */
const restoreFixture = lazy(() => {
  const dep = deployment(true, 1, DEVICES_PER_IAN);
  const rng = seededRandom('bench-maas-restore');
  const gateways = Array.from({ length: 5 }, (_, l) => dep.gateway(0, l + 1));
  for (const g of gateways) g.beginRound(0);
  for (let i = 0; i < DEVICES_PER_IAN; i++) {
    for (const m of dep.device(0, i).report(0, READING, T0, rng))
      gateways[m.gateway - 1]!.ingest(m.bytes, T0);
  }
  const results = gateways.map((g) => g.closeRound(T0));
  const contractOf = (partials: Buffer[]) => {
    const { contract } = dep.ledger();
    for (const p of partials) {
      const added = contract.add(p, T0);
      if (!added.ok) throw new Error(`bench fixture: ${added.reason}`);
    }
    return contract;
  };
  const honest = results.map((r) => r.partial);
  const liar = results[4]!;
  const p = dep.params.field.p;
  const lie = gateways[4]!.buildPartial(
    0,
    liar.contributors,
    liar.sums.map((s, j) => (j === 2 ? (s + 12_345n) % p : s)),
    0,
    T0,
  );
  const made = {
    r3: contractOf(honest.slice(0, 3)),
    r4: contractOf(honest.slice(0, 4)),
    r5: contractOf(honest),
    liar: contractOf([...honest.slice(0, 4), lie]),
  };
  const out = made.liar.restore(0, 0);
  if (out.status !== 'restored' || out.liars.join() !== '5')
    throw new Error('bench fixture: the liar was not found');
  return made;
});

function restoreAgain(contract: MaasLedgerContract): unknown {
  const cache = (contract as unknown as { restored?: unknown }).restored;
  if (!(cache instanceof Map))
    throw new Error('bench: MaasLedgerContract no longer caches outcomes in `restored`');
  cache.delete(0); // keyOf(ian 0, round 0)
  return contract.restore(0, 0);
}

/**
 * A fresh query engine (and accountant) per call, so no call is answered from the answer
 * cache of an earlier identical window: every call computes the full answer (100 IANs × 5
 * dims × 100 rounds). The engines share the ledger's noise cells, derived when each
 * IAN-round was restored (as in a deployment).
 */
function queryCase(name: string, pick: (f: ReturnType<typeof ledgerFixture>) => Buffer): BenchCase {
  return {
    group: 'maas',
    name,
    setup: () => void ledgerFixture(),
    run: () => {
      const f = ledgerFixture();
      const engine = new MaasQueryEngine(
        f.contract,
        f.ledgerKey,
        f.dep.params,
        new PrivacyAccountant(),
        f.dp,
      );
      const res = engine.query(pick(f), f.queryNow, systemRandom);
      if (!res.ok) throw new Error(res.reason);
      return res.answer;
    },
    target: { maxMicrosPerOp: 5000 },
    minMillis: 1000,
  };
}

const ledgerCases: BenchCase[] = [
  queryCase('maas query z=100 × 5 dims × 100 rounds (uncached)', (f) => f.query),
  // number = 50: the zero-sum noise does not cancel, so every cell is read.
  queryCase('maas query z=100 × 5 dims × 100 rounds, number=50 (uncached)', (f) => f.half),
  {
    group: 'maas',
    name: 'maas restore 1 IAN-round from k=3 partials',
    setup: () => void restoreFixture(),
    run: () => restoreAgain(restoreFixture().r3),
  },
  {
    group: 'maas',
    name: 'maas restore 1 IAN-round from 4 partials',
    setup: () => void restoreFixture(),
    run: () => restoreAgain(restoreFixture().r4),
  },
  {
    group: 'maas',
    name: 'maas restore 1 IAN-round from m=5 partials',
    setup: () => void restoreFixture(),
    run: () => restoreAgain(restoreFixture().r5),
  },
  {
    group: 'maas',
    name: 'maas restore 1 IAN-round, 5 partials, 1 liar (BW)',
    setup: () => void restoreFixture(),
    run: () => restoreAgain(restoreFixture().liar),
  },
];

export const cases: BenchCase[] = [
  ...deviceCases(false),
  ...deviceCases(true),
  ...gatewayCases,
  ...ledgerCases,
];
