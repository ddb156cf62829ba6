import { ShamirParams } from '../../../../src/crypto/shamir.js';
import { field61, type PrimeField } from '../../../../src/math/field.js';
import type { RandomSource } from '../../../../src/math/random.js';
import {
  type DimensionRange,
  RangeCircuit,
} from '../../../../src/schemes/maas/validity/circuit.js';
import { validityContext } from '../../../../src/schemes/maas/validity/randomness.js';
import {
  type DeviceValidityReport,
  type ValidityDecision,
  ValidityScheme,
  type VerifierShare,
} from '../../../../src/schemes/maas/validity/shares.js';

export const CONTEXT = validityContext({
  deployment: 'validity-tests',
  ian: 1,
  device: 7,
  round: 8,
});

export function makeScheme(
  ranges: readonly DimensionRange[],
  k: number,
  m: number,
  options: { proofs?: number; chunk?: number; field?: PrimeField } = {},
): ValidityScheme {
  const field = options.field ?? field61;
  const circuit = new RangeCircuit(
    field,
    ranges,
    options.chunk === undefined ? {} : { chunk: options.chunk },
  );
  return new ValidityScheme(
    circuit,
    new ShamirParams(k, m, field),
    options.proofs === undefined ? {} : { proofs: options.proofs },
  );
}

/** Every subset of 1..m with at least k elements (m ≤ 8). */
export function subsetsOfAtLeast(k: number, m: number): number[][] {
  const out: number[][] = [];
  for (let mask = 1; mask < 1 << m; mask++) {
    const s: number[] = [];
    for (let i = 0; i < m; i++) if (mask & (1 << i)) s.push(i + 1);
    if (s.length >= k) out.push(s);
  }
  return out;
}

/** Every gateway's query on an honest transport; throws if a gateway refused its part. */
export function allVerifierShares(
  scheme: ValidityScheme,
  report: DeviceValidityReport,
  context: Uint8Array = CONTEXT,
): VerifierShare[] {
  return report.shares.map((s) => {
    const r = scheme.query(s, report.parts, context);
    if (!r.ok) throw new Error(`gateway ${s.gateway} refused: ${r.reason}`);
    return r.share;
  });
}

/** The decision from the gateways in `subset` (1-based indices). */
export function decideWith(
  scheme: ValidityScheme,
  shares: readonly VerifierShare[],
  subset: readonly number[],
): ValidityDecision {
  return scheme.decide(subset.map((l) => shares[l - 1]!));
}

/** Signed integer → field element. */
export function fe(field: PrimeField, v: bigint | number): bigint {
  return field.reduce(BigInt(v));
}

export function randomSubset(rng: RandomSource, k: number, m: number): number[] {
  const all = Array.from({ length: m }, (_, i) => i + 1);
  for (let i = m - 1; i > 0; i--) {
    const j = rng.nextUint32() % (i + 1);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, k).sort((a, b) => a - b);
}
