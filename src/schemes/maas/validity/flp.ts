import { ensure } from '../../../errors.js';
import type { PrimeField } from '../../../math/field.js';
import { batchInverse } from '../../../math/lagrange.js';
import type { ValidityCircuit } from './circuit.js';

/**
 * A fully linear proof (Boneh, Boyle, Corrigan-Gibbs, Gilboa, Ishai, CRYPTO 2019; the
 * FLP of Prio3 in draft-irtf-cfrg-vdaf) for a circuit with one gadget G of degree D and
 * arity L, called M times. Every verifier operation on (x, π) is linear, so it runs
 * unchanged on Shamir shares and yields a Shamir share of the verifier message.
 *
 * Our layout works in the evaluation ("Lagrange") basis over the integer nodes 0, 1, 2, …
 * (2^61 − 1 has no large power-of-two roots of unity, and M is small):
 * - wire j is the polynomial w_j of degree ≤ M with w_j(0) = a random seed s_j and
 *   w_j(k) = the j-th input of call k (k = 1..M);
 * - the gadget polynomial g = G(w_1, …, w_L) has degree ≤ D·M; the proof is
 *   π = (s_1..s_L, g(0), g(1), …, g(D·M)): L + D·M + 1 elements;
 * - query at a random r ∉ {0..D·M}: run the circuit with g(k) as call k's output, giving
 *   v = C(x); then w_j(r) and g(r) by Lagrange weights at r. Verifier = (v, w_1(r) …
 *   w_L(r), g(r)): L + 2 elements;
 * - decide: v = 0 and G(w_1(r), …, w_L(r)) = g(r).
 * Several independent proofs (fresh seeds, joint and query randomness each) can be
 * concatenated to multiply the soundness error down (`proofs`).
 *
 * Soundness (one proof): if g ≠ G∘w as polynomials, their difference has degree ≤ D·M and
 * vanishes at r with probability ≤ D·M/(|F| − D·M − 1); otherwise g(k) are the true gadget
 * outputs, v = C(x), and an invalid x gives C(x) = 0 only with the circuit's
 * joint-randomness error. Zero knowledge: for r ∉ {1..M}, λ_0(r) ≠ 0, so each w_j(r) is
 * uniform (masked by the seed) and g(r) = G(w(r)), v = 0 for a valid x: the verifier is
 * simulatable. The seeds must be secret and uniform: they are the proof's randomness.
 */
export interface ProofFailure {
  readonly proof: number;
  /** 'circuit-output': v ≠ 0; 'gadget-mismatch': G(w(r)) ≠ g(r). */
  readonly reason: 'circuit-output' | 'gadget-mismatch';
}

export class Flp {
  readonly field: PrimeField;
  /** M: gadget calls per evaluation. */
  readonly calls: number;
  /** L: gadget arity (wires). */
  readonly arity: number;
  /** D: gadget degree. */
  readonly degree: number;
  /** D·M + 1: points the gadget polynomial is sent at. */
  readonly gadgetPoints: number;
  readonly proofLengthPerProof: number;
  readonly verifierLengthPerProof: number;
  /** Totals over `proofs` independent proofs. */
  readonly proofLength: number;
  readonly verifierLength: number;
  readonly jointRandLength: number;
  readonly queryRandLength: number;
  readonly proveRandLength: number;
  /** Query randomness must be ≥ this: r ∉ {0..D·M}, the interpolation nodes. */
  readonly queryRandMin: bigint;
  /** extrapolation[e][i] = λ_i(M + 1 + e) over nodes 0..M. */
  private readonly extrapolation: readonly (readonly bigint[])[];
  /** Barycentric weights 1/Π_{j≠i}(i − j) over nodes 0..M and 0..D·M. */
  private readonly wireWeights: readonly bigint[];
  private readonly gadgetWeights: readonly bigint[];

  constructor(
    readonly circuit: ValidityCircuit,
    readonly proofs = 1,
  ) {
    ensure(Number.isSafeInteger(proofs) && proofs >= 1 && proofs <= 16, 'proofs must be 1..16', {
      proofs,
    });
    const field = circuit.field;
    this.field = field;
    this.calls = circuit.gadgetCalls;
    this.arity = circuit.gadget.arity;
    this.degree = circuit.gadget.degree;
    ensure(this.calls >= 1, 'the circuit must call its gadget');
    this.gadgetPoints = this.degree * this.calls + 1;
    ensure(BigInt(this.gadgetPoints) < field.p / 2n, 'field too small for the circuit');
    this.proofLengthPerProof = this.arity + this.gadgetPoints;
    this.verifierLengthPerProof = this.arity + 2;
    this.proofLength = proofs * this.proofLengthPerProof;
    this.verifierLength = proofs * this.verifierLengthPerProof;
    this.jointRandLength = proofs * circuit.jointRandLength;
    this.queryRandLength = proofs;
    this.proveRandLength = proofs * this.arity;
    this.queryRandMin = BigInt(this.gadgetPoints);
    const M = this.calls;
    this.wireWeights = barycentricWeights(field, M + 1);
    this.gadgetWeights = barycentricWeights(field, this.gadgetPoints);
    this.extrapolation = Array.from({ length: this.gadgetPoints - M - 1 }, (_, e) =>
      lagrangeRow(field, this.wireWeights, BigInt(M + 1 + e)),
    );
  }

  /**
   * π for input x (not shared): `proveRand` holds the L wire seeds of each proof (uniform,
   * secret), `jointRand` the circuit's joint randomness of each proof. Runs on any x: an
   * invalid x gets a proof the verifier refuses.
   */
  prove(
    x: readonly bigint[],
    proveRand: readonly bigint[],
    jointRand: readonly bigint[],
  ): bigint[] {
    this.checkLengths(x, jointRand);
    ensure(proveRand.length === this.proveRandLength, 'wrong prove randomness length', {
      given: proveRand.length,
      expected: this.proveRandLength,
    });
    const { circuit, arity: L, calls: M, gadgetPoints: n } = this;
    const gadget = circuit.gadget;
    const p = this.field.p;
    const J = circuit.jointRandLength;
    const out = new Array<bigint>(this.proofLength);
    const wires = new Array<bigint>(L * n);
    for (let q = 0; q < this.proofs; q++) {
      const base = q * this.proofLengthPerProof;
      for (let j = 0; j < L; j++) {
        const s = this.field.assertElement(proveRand[q * L + j]!, undefined, 'prove randomness');
        wires[j * n] = s;
        out[base + j] = s;
      }
      const g = base + L;
      circuit.evaluate(x, jointRand.slice(q * J, (q + 1) * J), 1n, (inputs, k) => {
        for (let j = 0; j < L; j++) wires[j * n + k + 1] = inputs[j]!;
        const y = gadget.evaluate(inputs, 0, 1);
        out[g + k + 1] = y;
        return y;
      });
      // Extend each wire polynomial (degree ≤ M) from nodes 0..M to M+1..D·M.
      const rows = this.extrapolation;
      for (let j = 0; j < L; j++) {
        const w = j * n;
        for (let e = 0; e < rows.length; e++) {
          const row = rows[e]!;
          let acc = 0n;
          for (let i = 0; i <= M; i++) acc += row[i]! * wires[w + i]!;
          wires[w + M + 1 + e] = acc % p;
        }
      }
      // g = G(w) pointwise: node 0 (the seeds) and the extension nodes.
      out[g] = gadget.evaluate(wires, 0, n);
      for (let i = M + 1; i < n; i++) out[g + i] = gadget.evaluate(wires, i, n);
    }
    return out;
  }

  /**
   * The verifier message (or its share) for (a share of) x and π. Linear in (x, π, one):
   * `one` is the share of the constant 1 (1 for Shamir shares and for unshared input).
   * `queryRand` holds one r per proof, each ≥ queryRandMin.
   */
  query(
    x: readonly bigint[],
    proof: readonly bigint[],
    queryRand: readonly bigint[],
    jointRand: readonly bigint[],
    one = 1n,
  ): bigint[] {
    this.checkLengths(x, jointRand);
    ensure(proof.length === this.proofLength, 'wrong proof length', {
      given: proof.length,
      expected: this.proofLength,
    });
    ensure(queryRand.length === this.queryRandLength, 'wrong query randomness length', {
      given: queryRand.length,
      expected: this.queryRandLength,
    });
    const { circuit, arity: L, calls: M, gadgetPoints: n } = this;
    const p = this.field.p;
    const J = circuit.jointRandLength;
    const W = M + 1;
    const out = new Array<bigint>(this.verifierLength);
    const wires = new Array<bigint>(L * W);
    for (let q = 0; q < this.proofs; q++) {
      const base = q * this.proofLengthPerProof;
      const g = base + L;
      for (let j = 0; j < L; j++) wires[j * W] = proof[base + j]!;
      const v = circuit.evaluate(x, jointRand.slice(q * J, (q + 1) * J), one, (inputs, k) => {
        for (let j = 0; j < L; j++) wires[j * W + k + 1] = inputs[j]!;
        return proof[g + k + 1]!;
      });
      const r = queryRand[q]!;
      ensure(r >= this.queryRandMin && r < p, 'query randomness must avoid the nodes 0..D·M', {
        proof: q,
      });
      const { wire, gadget } = this.lagrangeAt(r);
      const o = q * this.verifierLengthPerProof;
      out[o] = v;
      for (let j = 0; j < L; j++) {
        let acc = 0n;
        for (let i = 0; i < W; i++) acc += wire[i]! * wires[j * W + i]!;
        out[o + 1 + j] = acc % p;
      }
      let acc = 0n;
      for (let i = 0; i < n; i++) acc += gadget[i]! * proof[g + i]!;
      out[o + 1 + L] = acc % p;
    }
    return out;
  }

  /** Which proofs the (reconstructed) verifier refuses; empty means valid. */
  check(verifier: readonly bigint[]): ProofFailure[] {
    ensure(verifier.length === this.verifierLength, 'wrong verifier length', {
      given: verifier.length,
      expected: this.verifierLength,
    });
    const failures: ProofFailure[] = [];
    const L = this.arity;
    for (let q = 0; q < this.proofs; q++) {
      const o = q * this.verifierLengthPerProof;
      if (verifier[o] !== 0n) {
        failures.push({ proof: q, reason: 'circuit-output' });
      } else if (this.circuit.gadget.evaluate(verifier, o + 1, 1) !== verifier[o + 1 + L]) {
        failures.push({ proof: q, reason: 'gadget-mismatch' });
      }
    }
    return failures;
  }

  decide(verifier: readonly bigint[]): boolean {
    return this.check(verifier).length === 0;
  }

  /**
   * λ_i(r) over nodes 0..M (wires) and 0..D·M (gadget). In barycentric form
   * λ_i(r) = w_i·Π_{j≠i}(r − j): prefix and suffix products, no field inversion.
   */
  lagrangeAt(r: bigint): { wire: bigint[]; gadget: bigint[] } {
    const p = this.field.p;
    const n = this.gadgetPoints;
    const W = this.calls + 1;
    const diffs = new Array<bigint>(n);
    for (let i = 0; i < n; i++) diffs[i] = (r - BigInt(i) + p) % p;
    // prefix[i] = Π_{j<i}(r − j), shared by both node sets.
    const prefix = new Array<bigint>(n);
    let acc = 1n;
    for (let i = 0; i < n; i++) {
      prefix[i] = acc;
      acc = (acc * diffs[i]!) % p;
    }
    const gadget = new Array<bigint>(n);
    let suffix = 1n;
    for (let i = n - 1; i >= 0; i--) {
      gadget[i] = (((this.gadgetWeights[i]! * prefix[i]!) % p) * suffix) % p;
      suffix = (suffix * diffs[i]!) % p;
    }
    const wire = new Array<bigint>(W);
    suffix = 1n;
    for (let i = W - 1; i >= 0; i--) {
      wire[i] = (((this.wireWeights[i]! * prefix[i]!) % p) * suffix) % p;
      suffix = (suffix * diffs[i]!) % p;
    }
    return { wire, gadget };
  }

  private checkLengths(x: readonly bigint[], jointRand: readonly bigint[]): void {
    ensure(x.length === this.circuit.inputLength, 'wrong input length', {
      given: x.length,
      expected: this.circuit.inputLength,
    });
    ensure(jointRand.length === this.jointRandLength, 'wrong joint randomness length', {
      given: jointRand.length,
      expected: this.jointRandLength,
    });
  }
}

/** λ_i(t) over the nodes 0..weights.length − 1 for a t outside them (barycentric form). */
function lagrangeRow(field: PrimeField, weights: readonly bigint[], t: bigint): bigint[] {
  const diffs = weights.map((_, i) => field.reduce(t - BigInt(i)));
  let prod = 1n;
  for (const d of diffs) prod = field.mul(prod, d);
  const inv = batchInverse(field, diffs);
  return weights.map((w, i) => field.mul(field.mul(prod, w), inv[i]!));
}

/** 1/Π_{j≠i}(i − j) = (−1)^(n−1−i) / (i!·(n−1−i)!) for the nodes 0..n−1. */
function barycentricWeights(field: PrimeField, n: number): bigint[] {
  const fact = [1n];
  for (let i = 1; i < n; i++) fact.push(field.mul(fact[i - 1]!, BigInt(i)));
  const dens = Array.from({ length: n }, (_, i) => {
    const d = field.mul(fact[i]!, fact[n - 1 - i]!);
    return (n - 1 - i) % 2 === 0 ? d : field.neg(d);
  });
  return batchInverse(field, dens);
}
