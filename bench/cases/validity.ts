import { ShamirParams, ShamirReconstructor, splitVector } from '../../src/crypto/shamir.js';
import { field61 } from '../../src/math/field.js';
import { seededRandom, systemRandom } from '../../src/math/random.js';
import { RangeCircuit } from '../../src/schemes/maas/validity/circuit.js';
import { validityContext } from '../../src/schemes/maas/validity/randomness.js';
import {
  type DeviceValidityReport,
  ValidityScheme,
  type VerifierShare,
} from '../../src/schemes/maas/validity/shares.js';
import type { BenchCase } from '../harness.js';

/**
 * Input validity (docs/VALIDITY.md) at the size of the peer: a Prio3SumVec report of
 * length 5 with 8 bits per entry, m = 5 gateways, k = 3. Each defended step is measured
 * against the undefended step it adds to, in the same run:
 * - device: encode + prove + share (x ‖ π) + parts, vs a plain Shamir split of 5 values;
 * - gateway, per device: check own parts, derive the randomness, FLP query on its share,
 *   truncate and add to the running sum, vs adding the device's 5 plain shares;
 * - ledger, per device: interpolate the verifier from 3 (or 5, consistency-checked)
 *   gateways and decide, vs restoring 5 values from 3 partials (which the undefended
 *   ledger does once per IAN-round, not per device).
 * The peer (Divvi Up's TypeScript Prio3SumVec): client shard ~1.1 ms, each aggregator's
 * check ~0.7 ms; the targets are half of that.
 */

const K = 3;
const M = 5;
const shamir = new ShamirParams(K, M, field61);
const ranges = Array.from({ length: 5 }, () => ({ min: 0n, max: 255n }));
const circuit = new RangeCircuit(field61, ranges);
const scheme3 = new ValidityScheme(circuit, shamir, { proofs: 3 });
const scheme2 = new ValidityScheme(circuit, shamir, { proofs: 2 });
const context = validityContext({ deployment: 'bench', ian: 1, device: 42, round: 7 });
const reading = [17n, 255n, 0n, 128n, 99n];
const rng = seededRandom('bench-validity');

const DEVICES = 64;
function reportsFor(scheme: ValidityScheme): DeviceValidityReport[] {
  return Array.from({ length: DEVICES }, (_, i) =>
    scheme.shareReport(
      reading.map((v) => (v + BigInt(i)) % 256n),
      context,
      rng,
    ),
  );
}
const reports3 = reportsFor(scheme3);
const reports2 = reportsFor(scheme2);

function verifierSharesOf(
  scheme: ValidityScheme,
  reports: DeviceValidityReport[],
): VerifierShare[][] {
  return reports.map((r) =>
    r.shares.map((s) => {
      const q = scheme.query(s, r.parts, context);
      if (!q.ok) throw new Error(`bench setup: gateway ${s.gateway} refused`);
      return q.share;
    }),
  );
}
const verifiers3 = verifierSharesOf(scheme3, reports3);

// Undefended: gateway 1's share vector of a plain 5-value sharing per device.
const plainShares = Array.from(
  { length: DEVICES },
  (_, i) =>
    splitVector(
      shamir,
      reading.map((v) => (v + BigInt(i)) % 256n),
      rng,
    )[0]!.ys,
);
const restoreFrom3 = new ShamirReconstructor(shamir, [1, 2, 3]);
const partials = splitVector(shamir, reading, rng).slice(0, 3);

const p = field61.p;
const OPS = 16;

export const cases: BenchCase[] = [
  {
    name: 'validity.baseline device: Shamir split of 5 values k=3 m=5',
    group: 'validity',
    opsPerCall: OPS,
    run: () => {
      let last: unknown;
      for (let i = 0; i < OPS; i++) last = splitVector(shamir, reading, systemRandom);
      return last;
    },
  },
  {
    name: 'validity.device encode+prove+share 5×8 bits k=3 m=5, 3 proofs',
    group: 'validity',
    baseline: 'validity.baseline device: Shamir split of 5 values k=3 m=5',
    target: { maxMicrosPerOp: 550 },
    run: () => scheme3.shareReport(reading, context, systemRandom),
  },
  {
    name: 'validity.device encode+prove+share 5×8 bits k=3 m=5, 2 proofs',
    group: 'validity',
    baseline: 'validity.baseline device: Shamir split of 5 values k=3 m=5',
    run: () => scheme2.shareReport(reading, context, systemRandom),
  },
  {
    name: 'validity.baseline gateway: add one device’s 5 shares to the sum',
    group: 'validity',
    opsPerCall: DEVICES,
    run: () => {
      const acc = [0n, 0n, 0n, 0n, 0n];
      for (let i = 0; i < DEVICES; i++) {
        const ys = plainShares[i]!;
        for (let d = 0; d < 5; d++) acc[d] = (acc[d]! + ys[d]!) % p;
      }
      return acc;
    },
  },
  {
    name: 'validity.gateway query+truncate+add per device, 3 proofs',
    group: 'validity',
    opsPerCall: DEVICES,
    baseline: 'validity.baseline gateway: add one device’s 5 shares to the sum',
    target: { maxMicrosPerOp: 350 },
    run: () => {
      const acc = [0n, 0n, 0n, 0n, 0n];
      for (let i = 0; i < DEVICES; i++) {
        const r = reports3[i]!;
        const s = r.shares[0]!;
        const q = scheme3.query(s, r.parts, context);
        if (!q.ok) throw new Error('refused');
        const t = scheme3.truncate(s.measurement);
        for (let d = 0; d < 5; d++) acc[d] = (acc[d]! + t[d]!) % p;
      }
      return acc;
    },
  },
  {
    name: 'validity.gateway query+truncate+add per device, 2 proofs',
    group: 'validity',
    opsPerCall: DEVICES,
    baseline: 'validity.baseline gateway: add one device’s 5 shares to the sum',
    run: () => {
      let last: unknown;
      for (let i = 0; i < DEVICES; i++) {
        const r = reports2[i]!;
        last = scheme2.query(r.shares[0]!, r.parts, context);
        last = scheme2.truncate(r.shares[0]!.measurement);
      }
      return last;
    },
  },
  {
    name: 'validity.baseline ledger: restore 5 values from 3 partials',
    group: 'validity',
    opsPerCall: OPS,
    run: () => {
      let last: unknown;
      for (let i = 0; i < OPS; i++) last = restoreFrom3.reconstructVector(partials);
      return last;
    },
  },
  {
    name: 'validity.ledger decide per device from 3 verifier shares, 3 proofs',
    group: 'validity',
    opsPerCall: DEVICES,
    baseline: 'validity.baseline ledger: restore 5 values from 3 partials',
    run: () => {
      let ok = 0;
      for (let i = 0; i < DEVICES; i++) if (scheme3.decide(verifiers3[i]!.slice(0, 3)).valid) ok++;
      if (ok !== DEVICES) throw new Error('refused');
      return ok;
    },
  },
  {
    name: 'validity.ledger decide per device from 5 verifier shares (checked), 3 proofs',
    group: 'validity',
    opsPerCall: DEVICES,
    baseline: 'validity.baseline ledger: restore 5 values from 3 partials',
    run: () => {
      let ok = 0;
      for (let i = 0; i < DEVICES; i++) if (scheme3.decide(verifiers3[i]!).valid) ok++;
      if (ok !== DEVICES) throw new Error('refused');
      return ok;
    },
  },
];
