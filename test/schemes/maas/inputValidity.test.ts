import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/errors.js';
import { MaasLedgerNode } from '../../../src/ledger/embeddedLedger.js';
import { SqliteBlockStore } from '../../../src/ledger/sqliteStore.js';
import { verifyChain } from '../../../src/ledger/verifyChain.js';
import { seededRandom } from '../../../src/math/random.js';
import { createMaasDeployment, type MaasDeployment } from '../../../src/schemes/maas/deployment.js';
import {
  type AddressedMessage,
  type DeviceContext,
  devicePlainReport,
  deviceProvenReport,
} from '../../../src/schemes/maas/device.js';
import type { RestoreOutcome } from '../../../src/schemes/maas/ledgerContract.js';
import {
  DEFAULT_MODES,
  DEFAULT_VALIDITY,
  defaultMaasParams,
  type MaasParams,
  PAPER_MODES,
} from '../../../src/schemes/maas/params.js';
import {
  reportValidityContext,
  reportValidityFor,
} from '../../../src/schemes/maas/reportValidity.js';

/**
 * Input validity wired through device, gateways and ledger (issue 10, finding 6: "one
 * keyed device inflates its IAN"). The audit's attack: a device with valid keys shares a
 * consistent polynomial whose value is far outside its range — 100 where readings lie in
 * 0..5 with LDP off, and estimates of 196–293 against a true 0 with LDP on. Without input
 * validity it moves its IAN's total by that much; with it (the default), the ledger
 * refuses the device before interpolating any sum that contains it, names it with the
 * reason, and restores the others exactly.
 */
const T0 = Date.UTC(2026, 0, 1);
const N = 8;
/** Readings of devices 0..7 in two dimensions, each in 0..5. Device 7 is the attacker. */
const READINGS = [
  [3, 1],
  [0, 4],
  [5, 2],
  [1, 1],
  [2, 0],
  [4, 3],
  [1, 5],
  [0, 0],
];
const ATTACKER = 7;

function deployment(overrides: Partial<MaasParams> = {}): MaasDeployment {
  const params = defaultMaasParams({
    deployment: 'input-validity',
    ians: 1,
    devicesPerIan: N,
    gateways: 5,
    threshold: 3,
    maxLyingGateways: 1,
    dimensions: ['a', 'b'],
    maxReading: [5, 5],
    ldp: null,
    validity: DEFAULT_VALIDITY,
    ...overrides,
  });
  return createMaasDeployment(params, { oems: [], registeredAtMs: T0, rng: seededRandom('iv') });
}

function contextOf(dep: MaasDeployment, device: number): DeviceContext {
  return {
    key: dep.registry.deviceKey(0, device),
    params: dep.params,
    shamir: dep.shamir,
    codec: dep.codec,
  };
}

/**
 * The attacker's report: its honest encoding with `delta` added to the lowest bit of
 * dimension 0 — a consistent sharing whose value is its reading + delta — proved by the
 * honest prover (no proof of a false statement exists to forge; the soundness tests of
 * validity/ try cheating provers).
 */
function inflatedReport(dep: MaasDeployment, round: number, delta: bigint): AddressedMessage[] {
  const scheme = reportValidityFor(dep.params)!;
  const ctx = contextOf(dep, ATTACKER);
  const rng = seededRandom(`attacker-${round}`);
  const x = scheme.circuit.encode(dep.codec.encode(READINGS[ATTACKER]!, rng));
  const at = scheme.circuit.dimensions[0]!.start;
  x[at] = dep.params.field.add(x[at]!, delta);
  const report = scheme.shareEncoded(x, reportValidityContext(dep.params, 0, ATTACKER, round), rng);
  return deviceProvenReport(ctx, round, report, T0);
}

/** One round: honest devices 0..6, the attacker's messages as given; restored with re-sums. */
function runRound(dep: MaasDeployment, round: number, attacker: AddressedMessage[]) {
  const gateways = Array.from({ length: dep.params.gateways }, (_, l) => dep.gateway(0, l + 1));
  for (const g of gateways) g.beginRound(round);
  const rng = seededRandom(`round-${round}`);
  const verdicts: { code?: ErrorCode }[] = [];
  for (let i = 0; i < N; i++) {
    const messages =
      i === ATTACKER ? attacker : dep.device(0, i).report(round, READINGS[i]!, T0, rng);
    for (const m of messages) {
      const v = gateways[m.gateway - 1]!.ingest(m.bytes, T0);
      if (i === ATTACKER) verdicts.push(v.ok ? {} : { code: v.code });
    }
  }
  const closed = gateways.map((g) => g.closeRound(T0));
  const { contract } = dep.ledger();
  for (const c of closed) expect(contract.add(c.partial, T0)).toMatchObject({ ok: true });
  let out: RestoreOutcome = contract.restore(0, round);
  while (out.status === 'reconcile') {
    for (const l of out.gateways) {
      const partial = gateways[l - 1]!.reaggregate(round, out.contributors, out.attempt, T0);
      expect(partial).not.toBeNull();
      expect(contract.add(partial!, T0)).toMatchObject({ ok: true });
    }
    out = contract.restore(0, round);
  }
  return { out, closed, verdicts };
}

const sumOver = (devices: readonly number[], j: number) =>
  devices.reduce((a, d) => a + READINGS[d]![j]!, 0);

describe('one keyed device inflates its IAN (LDP off, readings in 0..5)', () => {
  // +20 keeps the total (16 + 20) within 8 · 5 = 40, so the strict decoding, which
  // refuses a total no 8 in-range readings could give, cannot see it.
  it("without input validity the attack works: a consistent sharing of reading + 20 (four times the device's range) moves the total by exactly +20", () => {
    const dep = deployment({ validity: null });
    const x = dep.codec.encode(READINGS[ATTACKER]!, seededRandom('a'));
    x[0] = dep.params.field.add(x[0]!, 20n);
    const attacker = devicePlainReport(contextOf(dep, ATTACKER), 0, x, T0, seededRandom('b'));
    const { out } = runRound(dep, 0, attacker);
    expect(out.status).toBe('restored');
    if (out.status !== 'restored') return;
    expect(out.contributors).toContain(ATTACKER);
    expect(out.estimates[0]!.estimate).toBe(sumOver(out.contributors, 0) + 20);
  });

  it('with input validity on the +20 device (and a +100 one) is refused by the ledger (proof-refused), named, and the total is the exact sum of the devices kept', () => {
    const dep = deployment();
    expect(dep.params.validity).toEqual({ proofs: 3 });
    const { out, closed, verdicts } = runRound(dep, 0, inflatedReport(dep, 0, 20n));
    // The gateways cannot tell: the proof is checked on shares and decided by the ledger.
    expect(verdicts.every((v) => v.code === undefined)).toBe(true);
    for (const c of closed) expect(c.contributors).toContain(ATTACKER);
    expect(out.status).toBe('restored');
    if (out.status !== 'restored') return;
    expect(out.refused).toEqual([
      { device: ATTACKER, reason: expect.stringMatching(/^proof-refused/) },
    ]);
    expect(out.contributors).not.toContain(ATTACKER);
    // The no-differencing rule withholds one more device (minDifference = 2): never one alone.
    expect(out.contributors.length).toBe(N - 2);
    for (const j of [0, 1]) expect(out.estimates[j]!.estimate).toBe(sumOver(out.contributors, j));
    const again = deployment();
    const hundred = runRound(again, 1, inflatedReport(again, 1, 100n)).out;
    expect(hundred).toMatchObject({ status: 'restored', refused: [{ device: ATTACKER }] });
  });

  it('a value inside the bits but outside the range (7 where the maximum is 5) is refused too', () => {
    const dep = deployment();
    // Reading 0 + 7 in dimension 1 via its bits 0..2: the second decomposition cannot match.
    const scheme = reportValidityFor(dep.params)!;
    const rng = seededRandom('seven');
    const x = scheme.circuit.encode([0n, 0n]);
    const d1 = scheme.circuit.dimensions[1]!;
    for (let i = 0; i < d1.bits; i++) x[d1.start + i] = 1n;
    const report = scheme.shareEncoded(x, reportValidityContext(dep.params, 0, ATTACKER, 0), rng);
    const { out } = runRound(dep, 0, deviceProvenReport(contextOf(dep, ATTACKER), 0, report, T0));
    expect(out).toMatchObject({ status: 'restored', refused: [{ device: ATTACKER }] });
  });

  it('an honest round refuses nobody and restores all eight devices exactly', () => {
    const dep = deployment();
    const honest = dep.device(0, ATTACKER).report(0, READINGS[ATTACKER]!, T0, seededRandom('h'));
    const { out } = runRound(dep, 0, honest);
    expect(out.status).toBe('restored');
    if (out.status !== 'restored') return;
    expect(out.refused).toBeUndefined();
    expect(out.contributors).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(out.estimates.map((e) => e.estimate)).toEqual([16, 16]);
  });
});

describe('one keyed device inflates its IAN with LDP on (ε = 1; the audit saw estimates 196–293 against a true 0)', () => {
  const ldpDeployment = (validity: boolean) =>
    deployment({
      ldp: { epsilon: 1, delta: 1e-3 },
      ...(validity ? {} : { validity: null }),
    });
  // An output 6 where outputs lie in [−b, 1 + b] ≈ [−0.26, 1.26]: small enough that the
  // restored sum still looks like a sum of 8 outputs, so the strict decoding lets it in.
  const shift = (dep: MaasDeployment) => BigInt(Math.round(6 * dep.params.scale));

  it("without validity: an encoded output 6 above its own moves dimension 0's estimate by more than the whole honest range 8 · 5 = 40 (same noise, with and without the shift)", () => {
    const estimateWith = (delta: bigint) => {
      const dep = ldpDeployment(false);
      const x = dep.codec.encode(READINGS[ATTACKER]!, seededRandom('a'));
      x[0] = dep.params.field.add(x[0]!, delta);
      const { out } = runRound(
        dep,
        0,
        devicePlainReport(contextOf(dep, ATTACKER), 0, x, T0, seededRandom('b')),
      );
      expect(out.status).toBe('restored');
      return out.status === 'restored' ? out.estimates[0]!.estimate : Number.NaN;
    };
    const dep = ldpDeployment(false);
    expect(estimateWith(shift(dep)) - estimateWith(0n)).toBeGreaterThan(40);
  });

  it('with validity: the device is refused and the estimate stays within the honest range plus 6 standard errors', () => {
    const dep = ldpDeployment(true);
    const { out } = runRound(dep, 0, inflatedReport(dep, 0, shift(dep)));
    expect(out.status).toBe('restored');
    if (out.status !== 'restored') return;
    expect(out.refused?.map((r) => r.device)).toEqual([ATTACKER]);
    const e = out.estimates[0]!;
    expect(e.estimate).toBeLessThan(5 * out.contributors.length + 6 * e.standardError);
    expect(e.estimate).toBeGreaterThan(-6 * e.standardError);
  });
});

describe('reports the gateways refuse themselves (INVALID_PROOF)', () => {
  it('a report without a proof in a deployment that requires one is refused at ingest', () => {
    const dep = deployment();
    const plainParams = { ...dep.params, validity: null };
    const plainCtx = { ...contextOf(dep, ATTACKER), params: plainParams };
    const x = dep.codec.encode(READINGS[ATTACKER]!, seededRandom('a'));
    const messages = devicePlainReport(plainCtx, 0, x, T0, seededRandom('b'));
    const { verdicts, out } = runRound(dep, 0, messages);
    expect(verdicts.map((v) => v.code)).toEqual(Array(5).fill(ErrorCode.INVALID_PROOF));
    expect(out.status === 'restored' && out.contributors.includes(ATTACKER)).toBe(false);
  });

  it('parts that do not match the shares a gateway received: that gateway refuses the device (INVALID_PROOF); the four others hold a valid sharing and restore it, gateway 2 left out', () => {
    const dep = deployment();
    const scheme = reportValidityFor(dep.params)!;
    const rng = seededRandom('parts');
    const report = scheme.shareReport(
      [0n, 0n],
      reportValidityContext(dep.params, 0, ATTACKER, 0),
      rng,
    );
    // Gateway 2's share is changed after the parts were computed.
    const s2 = report.shares[1]!;
    const tampered = {
      ...report,
      shares: report.shares.map((s) =>
        s === s2
          ? {
              ...s2,
              measurement: [
                dep.params.field.add(s2.measurement[0]!, 1n),
                ...s2.measurement.slice(1),
              ],
            }
          : s,
      ),
    };
    const messages = deviceProvenReport(contextOf(dep, ATTACKER), 0, tampered, T0);
    const { closed, out } = runRound(dep, 0, messages);
    expect(closed[1]!.rejected).toContainEqual(
      expect.objectContaining({ code: ErrorCode.INVALID_PROOF, device: ATTACKER }),
    );
    expect(closed[1]!.contributors).not.toContain(ATTACKER);
    expect(out.status).toBe('restored');
    if (out.status !== 'restored') return;
    expect(out.excluded).toEqual([2]);
    expect(out.refused).toBeUndefined();
    expect(out.contributors).toContain(ATTACKER);
    for (const j of [0, 1]) expect(out.estimates[j]!.estimate).toBe(sumOver(out.contributors, j));
  });
});

describe('input validity on the embedded ledger (SQLite chain)', () => {
  it('the refusal is recorded on the chain, and the replay of verifyChain reaches the same outcome (contents checked)', () => {
    const dep = deployment();
    const dir = mkdtempSync(join(tmpdir(), 'privagg-validity-'));
    const file = join(dir, 'ledger.sqlite');
    const ledgerKey = dep.registry.ledgerKey();
    const node = new MaasLedgerNode({
      file,
      config: { params: dep.params, oems: [] },
      ledgerKey,
      batchSize: 2,
    });
    const gateways = Array.from({ length: dep.params.gateways }, (_, l) => dep.gateway(0, l + 1));
    for (const g of gateways) g.beginRound(0);
    const rng = seededRandom('chain');
    for (let i = 0; i < N; i++) {
      const messages =
        i === ATTACKER
          ? inflatedReport(dep, 0, 20n)
          : dep.device(0, i).report(0, READINGS[i]!, T0, rng);
      for (const m of messages) gateways[m.gateway - 1]!.ingest(m.bytes, T0);
    }
    for (const g of gateways) expect(node.add(g.closeRound(T0).partial, T0).ok).toBe(true);
    let out = node.restore(0, 0, T0);
    while (out.status === 'reconcile') {
      for (const l of out.gateways)
        expect(
          node.add(gateways[l - 1]!.reaggregate(0, out.contributors, out.attempt, T0)!, T0).ok,
        ).toBe(true);
      out = node.restore(0, 0, T0);
    }
    expect(out).toMatchObject({ status: 'restored', refused: [{ device: ATTACKER }] });
    node.close();
    const store = new SqliteBlockStore(file, { readonly: true });
    const report = verifyChain(store, { contentKey: ledgerKey.chainContentKey! });
    store.close();
    expect(report).toMatchObject({ ok: true, contentsChecked: true });
  });
});

describe("input validity and the paper's modes", () => {
  it('asked for by name with the paper layout or restore: refused; spread into them: dropped, and the deployment says so', () => {
    for (const modes of [PAPER_MODES, { ...DEFAULT_MODES, restore: 'paper' as const }])
      expect(() => defaultMaasParams({ modes, validity: { proofs: 3 } })).toThrow(
        /input validity needs the 'vector' layout and the 'reconcile' restore/,
      );
    // Spread from defaults (validity on) into the paper's modes: the deployment's params
    // carry no validity, so no role believes reports are proven.
    const spread = { ...defaultMaasParams(), modes: PAPER_MODES };
    const dep = createMaasDeployment(spread, { oems: [], registeredAtMs: T0 });
    expect(dep.params.validity).toBeNull();
    expect(reportValidityFor(dep.params)).toBeNull();
    expect(defaultMaasParams({ modes: PAPER_MODES }).validity).toBeNull();
  });
});
