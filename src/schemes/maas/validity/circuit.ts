import { ErrorCode, ensure, PrivaggError } from '../../../errors.js';
import { bitLength, type PrimeField } from '../../../math/field.js';

/**
 * The validity circuit of a MaaS reading: every dimension's fixed-point integer lies in
 * its public range [min, max]. A SumVec-style range circuit (the shape of Prio3SumVec in
 * draft-irtf-cfrg-vdaf): each value is encoded as bits, every bit is checked with
 * b·(b − 1) = 0 by a Mul gadget, and the checks are folded into one output with joint
 * randomness. The circuit is *affine* in (input, the constant 1, gadget outputs) for fixed
 * joint randomness, which is what lets the FLP verifier run it on Shamir shares.
 */

/**
 * A gadget: a low-degree polynomial G: F^arity → F. The FLP proves the circuit's calls to
 * it; everything else the circuit does must be affine.
 */
export interface Gadget {
  readonly arity: number;
  /** Total degree of G. */
  readonly degree: number;
  /** G(values[offset], values[offset + stride], …, values[offset + (arity − 1)·stride]). */
  evaluate(values: readonly bigint[], offset: number, stride: number): bigint;
}

/**
 * ParallelSum(Mul, chunk): G(a_0, b_0, …, a_{c−1}, b_{c−1}) = Σ_t a_t·b_t, degree 2,
 * arity 2c. One call checks c bits, so the number of calls (and the proof) shrinks by c.
 */
export class ParallelSumMul implements Gadget {
  readonly arity: number;
  readonly degree = 2;

  constructor(
    readonly field: PrimeField,
    readonly chunk: number,
  ) {
    ensure(Number.isSafeInteger(chunk) && chunk >= 1 && chunk <= 1024, 'chunk must be 1..1024', {
      chunk,
    });
    this.arity = 2 * chunk;
  }

  evaluate(values: readonly bigint[], offset: number, stride: number): bigint {
    // c products of < 2^(2·bits) summed, one reduction.
    let acc = 0n;
    for (let t = 0, at = offset; t < this.chunk; t++, at += 2 * stride) {
      acc += values[at]! * values[at + stride]!;
    }
    return acc % this.field.p;
  }
}

/**
 * A validity circuit over a linear secret sharing. `evaluate` computes C(x) — or, given a
 * share of x, a share of C(x) — calling `call` exactly `gadgetCalls` times. `one` is the
 * share of the constant 1 (1 for the prover, and for every Shamir share: the constant
 * polynomial). The circuit must be affine in (x, one, gadget outputs) once the joint
 * randomness is fixed; Valid(x) ⇔ C(x) = 0 for (almost) every joint randomness.
 */
export interface ValidityCircuit {
  readonly field: PrimeField;
  /** Length of the encoded input x. */
  readonly inputLength: number;
  /** Joint-randomness elements one evaluation consumes. */
  readonly jointRandLength: number;
  readonly gadget: Gadget;
  readonly gadgetCalls: number;
  /**
   * `call(inputs, k)` receives a reused buffer of `gadget.arity` elements for call k
   * (0-based) and returns the gadget's output (or its share). The caller must copy the
   * inputs if it keeps them.
   */
  evaluate(
    x: readonly bigint[],
    jointRand: readonly bigint[],
    one: bigint,
    call: (inputs: bigint[], k: number) => bigint,
  ): bigint;
}

/** One dimension's public range of signed integers (fixed-point values), min ≤ max. */
export interface DimensionRange {
  readonly min: bigint;
  readonly max: bigint;
}

/** Where one dimension's bits sit in the encoded input. */
export interface DimensionLayout {
  readonly min: bigint;
  readonly max: bigint;
  /** b = bit length of max − min (at least 1). */
  readonly bits: number;
  /** Index of the first bit of v − min. */
  readonly start: number;
  /**
   * When max − min + 1 is not a power of two: offset = 2^b − 1 − (max − min), and a
   * second b-bit decomposition of v − min + offset follows the first (at start + b). Both
   * being b-bit numbers that differ by `offset` is exactly v ∈ [min, max] (the Prio3 Sum
   * construction with max_measurement). Null for a power-of-two range (one decomposition).
   */
  readonly offset: bigint | null;
}

export interface RangeCircuitOptions {
  /**
   * Bits per gadget call (the ParallelSum chunk). Default: the chunk that minimises
   * proof + verifier length (ties: fewer gadget calls), ≈ √(bits).
   */
  readonly chunk?: number;
}

/**
 * Proof + verifier elements per proof for N bits at chunk c: the FLP sends the 2c wire
 * seeds and the gadget polynomial at 2M + 1 points (M = ⌈N/c⌉ calls), and the verifier is
 * 1 + 2c + 1 elements.
 */
function elementsPerProof(bits: number, chunk: number): number {
  const calls = Math.ceil(bits / chunk);
  return 2 * chunk + 2 * calls + 1 + 2 * chunk + 2;
}

/** The chunk with the fewest proof + verifier elements for `bits` checked bits. */
export function defaultChunk(bits: number): number {
  let best = 1;
  for (let c = 2; c <= bits; c++) {
    const cost = elementsPerProof(bits, c);
    const bestCost = elementsPerProof(bits, best);
    if (cost < bestCost || (cost === bestCost && Math.ceil(bits / c) < Math.ceil(bits / best))) {
      best = c;
    }
  }
  return best;
}

/**
 * The range circuit: x is the concatenation, per dimension, of the bits of v − min (and,
 * for a range that is not a power of two, the bits of v − min + offset). C(x) =
 * Σ_j Σ_t ρ_j^(t+1)·x_(jc+t)·(x_(jc+t) − 1) + Σ_d σ_d·(A_d + offset_d − B_d), where A_d and
 * B_d are the two decompositions' values and (ρ_j, σ_d) the joint randomness. For honest
 * gadget outputs this is a polynomial in the joint randomness of total degree ≤ c that is
 * identically zero exactly when x is valid.
 */
export class RangeCircuit implements ValidityCircuit {
  readonly field: PrimeField;
  readonly dimensions: readonly DimensionLayout[];
  readonly inputLength: number;
  readonly chunk: number;
  readonly gadget: ParallelSumMul;
  readonly gadgetCalls: number;
  readonly jointRandLength: number;
  /** Dimensions with a second decomposition (an affine check each), in order. */
  private readonly offsetDimensions: readonly DimensionLayout[];
  /** 2^i mod p for i < max bits. */
  private readonly powersOfTwo: readonly bigint[];
  private readonly buffer: bigint[];

  constructor(
    field: PrimeField,
    ranges: readonly DimensionRange[],
    options: RangeCircuitOptions = {},
  ) {
    ensure(ranges.length >= 1 && ranges.length <= 4096, 'between 1 and 4096 dimensions', {
      dimensions: ranges.length,
    });
    this.field = field;
    const layout: DimensionLayout[] = [];
    let at = 0;
    let maxBits = 1;
    for (const [d, r] of ranges.entries()) {
      ensure(
        typeof r.min === 'bigint' && typeof r.max === 'bigint' && r.min <= r.max,
        'a range needs bigint min ≤ max',
        { dimension: d, min: String(r.min), max: String(r.max) },
      );
      ensure(-field.halfP <= r.min && r.max <= field.halfP, 'range bounds must be in (−p/2, p/2)', {
        dimension: d,
      });
      const span = r.max - r.min;
      const bits = Math.max(1, bitLength(span));
      // a, b < 2^b and a + offset − b = 0 must be exact over the integers: 2^(b+1) < p.
      ensure(bits + 2 <= field.bits, 'range too wide for the field', { dimension: d, bits });
      const full = span + 1n === 1n << BigInt(bits);
      const offset = full ? null : (1n << BigInt(bits)) - 1n - span;
      layout.push({ min: r.min, max: r.max, bits, start: at, offset });
      at += full ? bits : 2 * bits;
      maxBits = Math.max(maxBits, bits);
    }
    this.dimensions = layout;
    this.inputLength = at;
    this.chunk = options.chunk ?? defaultChunk(at);
    ensure(
      Number.isSafeInteger(this.chunk) && this.chunk >= 1 && this.chunk <= at,
      'chunk must be 1..(number of bits)',
      { chunk: this.chunk, bits: at },
    );
    this.gadget = new ParallelSumMul(field, this.chunk);
    this.gadgetCalls = Math.ceil(at / this.chunk);
    this.offsetDimensions = layout.filter((d) => d.offset !== null);
    this.jointRandLength = this.gadgetCalls + this.offsetDimensions.length;
    this.powersOfTwo = Array.from({ length: maxBits }, (_, i) => (1n << BigInt(i)) % field.p);
    this.buffer = new Array<bigint>(2 * this.chunk).fill(0n);
  }

  /**
   * The honest device's encoding of field elements (fixed-point integers, negative as
   * p − |v|): bits of v − min, and of v − min + offset where the range needs it. A value
   * outside its range throws FIXED_POINT_OUT_OF_RANGE: an honest device cannot prove it.
   */
  encode(values: readonly bigint[]): bigint[] {
    ensure(values.length === this.dimensions.length, 'one value per dimension', {
      given: values.length,
      dimensions: this.dimensions.length,
    });
    const out = new Array<bigint>(this.inputLength).fill(0n);
    for (const [d, dim] of this.dimensions.entries()) {
      const v = this.field.toSigned(this.field.assertElement(values[d]!));
      if (v < dim.min || v > dim.max) {
        throw new PrivaggError(ErrorCode.FIXED_POINT_OUT_OF_RANGE, 'value outside its range', {
          dimension: d,
          value: v.toString(),
          min: dim.min.toString(),
          max: dim.max.toString(),
        });
      }
      const a = v - dim.min;
      writeBits(out, dim.start, dim.bits, a);
      if (dim.offset !== null) writeBits(out, dim.start + dim.bits, dim.bits, a + dim.offset);
    }
    return out;
  }

  /**
   * Prio3's "truncate": the value of each dimension, min + Σ 2^i·bit_i, from (a share of)
   * the encoded input. Linear in the shares, so a gateway turns its bit shares into a share
   * of the reading, and the sum of truncated shares is a share of the sum of readings.
   * `one` is the share of 1 (1 for Shamir shares).
   */
  truncate(x: readonly bigint[], one = 1n): bigint[] {
    ensure(x.length === this.inputLength, 'input has the wrong length', {
      given: x.length,
      expected: this.inputLength,
    });
    const p = this.field.p;
    const oneR = one % p;
    return this.dimensions.map((dim) => {
      let acc = this.field.reduce(dim.min) * oneR;
      acc += this.weightedSum(x, dim.start, dim.bits);
      return acc % p;
    });
  }

  /** Σ 2^i·x[start + i] mod p. */
  private weightedSum(x: readonly bigint[], start: number, bits: number): bigint {
    const pw = this.powersOfTwo;
    let acc = 0n;
    for (let i = 0; i < bits; i++) acc += pw[i]! * x[start + i]!;
    return acc % this.field.p;
  }

  evaluate(
    x: readonly bigint[],
    jointRand: readonly bigint[],
    one: bigint,
    call: (inputs: bigint[], k: number) => bigint,
  ): bigint {
    const p = this.field.p;
    const n = this.inputLength;
    const c = this.chunk;
    const buf = this.buffer;
    const oneR = one % p;
    let out = 0n;
    for (let j = 0; j < this.gadgetCalls; j++) {
      const rho = jointRand[j]!;
      let pw = rho;
      for (let t = 0; t < c; t++) {
        const i = j * c + t;
        if (i < n) {
          const xi = x[i]!;
          buf[2 * t] = (pw * xi) % p;
          buf[2 * t + 1] = (xi + p - oneR) % p;
          pw = (pw * rho) % p;
        } else {
          buf[2 * t] = 0n;
          buf[2 * t + 1] = 0n;
        }
      }
      out += call(buf, j);
    }
    const base = this.gadgetCalls;
    for (let q = 0; q < this.offsetDimensions.length; q++) {
      const dim = this.offsetDimensions[q]!;
      const a = this.weightedSum(x, dim.start, dim.bits);
      const b = this.weightedSum(x, dim.start + dim.bits, dim.bits);
      const check = (a + dim.offset! * oneR + p - b) % p;
      out += jointRand[base + q]! * check;
    }
    return out % p;
  }
}

function writeBits(out: bigint[], start: number, bits: number, value: bigint): void {
  for (let i = 0; i < bits; i++) out[start + i] = (value >> BigInt(i)) & 1n;
}
