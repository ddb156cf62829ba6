import type { Flp } from '../../../../src/schemes/maas/validity/flp.js';
import type { ProveFunction } from '../../../../src/schemes/maas/validity/shares.js';

/**
 * The strongest simple cheat on an invalid x: run the honest prover, then lower the
 * gadget output of call 1 in every proof by the circuit output v, so the verifier's
 * v = 0. The gadget polynomial then no longer equals G(wires), which the query at a
 * random r must catch.
 */
export function zeroingProver(flp: Flp): ProveFunction {
  return (x, proveRand, jointRand) => {
    const proof = flp.prove(x, proveRand, jointRand);
    const qr = Array.from({ length: flp.queryRandLength }, () => flp.queryRandMin);
    const verifier = flp.query(x, proof, qr, jointRand);
    for (let q = 0; q < flp.proofs; q++) {
      const v = verifier[q * flp.verifierLengthPerProof]!;
      const at = q * flp.proofLengthPerProof + flp.arity + 1;
      proof[at] = flp.field.sub(proof[at]!, v);
    }
    return proof;
  };
}

/** A proof made for another input (and its joint randomness), replayed as is. */
export function replayProver(proof: readonly bigint[]): ProveFunction {
  return () => [...proof];
}

/**
 * The best cheat against the query: like `zeroingProver`, but the correction δ added to the
 * gadget polynomial is chosen to vanish at `roots` (points the verifier may draw) as well
 * as at the nodes 2..M (so v stays 0): δ(X) = −v·Π_{k=2..M}(X − k)·Π_z(X − z) / (same at
 * X = 1). The verifier accepts iff r ∈ roots. With deg δ ≤ D·M, at most D·M − M + 1 roots
 * are free: this cheat meets the bound D·M/(p − D·M − 1) up to the M − 1 forced roots.
 */
export function rootsProver(flp: Flp, roots: readonly bigint[]): ProveFunction {
  const field = flp.field;
  const M = flp.calls;
  const n = flp.gadgetPoints;
  if (roots.length > n - 1 - (M - 1)) throw new Error('too many roots for deg δ ≤ D·M');
  const zeros = [...Array.from({ length: M - 1 }, (_, i) => BigInt(i + 2)), ...roots];
  const at = (x: bigint) => zeros.reduce((acc, z) => field.mul(acc, field.sub(x, z)), 1n);
  const norm = field.inv(at(1n));
  const basis = Array.from({ length: n }, (_, i) => field.mul(at(BigInt(i)), norm));
  return (x, proveRand, jointRand) => {
    const proof = flp.prove(x, proveRand, jointRand);
    const qr = Array.from({ length: flp.queryRandLength }, () => flp.queryRandMin);
    const verifier = flp.query(x, proof, qr, jointRand);
    for (let q = 0; q < flp.proofs; q++) {
      const v = verifier[q * flp.verifierLengthPerProof]!;
      const g = q * flp.proofLengthPerProof + flp.arity;
      for (let i = 0; i < n; i++) proof[g + i] = field.sub(proof[g + i]!, field.mul(v, basis[i]!));
    }
    return proof;
  };
}
