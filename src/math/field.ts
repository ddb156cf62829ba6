import { ErrorCode, ensure, PrivaggError } from '../errors.js';
import type { RandomSource } from './random.js';

/**
 * Prime fields on native bigint.
 *
 * Why 2^61 − 1 is the default: it is the largest Mersenne prime below 2^64, so an
 * element is one 64-bit word on the wire (8 bytes per share), a product fits in 122
 * bits, and an element splits into two 32-bit limbs that plain JS numbers can add
 * exactly: a float64 holds integers up to 2^53, so 2^21 limbs of 32 bits can be summed
 * before one bigint reduction (`sumPacked`). That makes a gateway's sum of 10k shares a
 * tight loop over a Uint32Array instead of 10k bigint allocations.
 *
 * When a caller needs a larger prime: whenever n · ⌈bound · scale⌉ > (p − 1)/2 for the
 * fixed-point range it aggregates (see `assertNoWrap` in fixedPoint.ts) — e.g. 10^6
 * devices × readings up to 10^6 at scale 10^6 is 10^18 > 2^60. Then use `MERSENNE_127`
 * (2^127 − 1): every function here works for any odd prime, only slower (four limbs).
 */
export const MERSENNE_61 = (1n << 61n) - 1n;
/** 2^127 − 1, for wide fixed-point ranges or very many summands. */
export const MERSENNE_127 = (1n << 127n) - 1n;

/** Limbs are 32 bits: the widest integer a Uint32Array holds and float64 adds exactly. */
const LIMB_BITS = 32;
/** 2^21 limbs < 2^32 sum to < 2^53, the last integer float64 represents exactly. */
const MAX_LIMB_TERMS = 2 ** 21;

export function bitLength(n: bigint): number {
  return n <= 0n ? 0 : n.toString(2).length;
}

/** Miller–Rabin with the first 13 prime bases: deterministic below 3.3·10^24, and a
 * 4^-13 false-positive bound above (p is configuration, not adversarial input). */
export function isProbablePrime(n: bigint): boolean {
  if (n < 2n) return false;
  const bases = [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n, 31n, 37n, 41n];
  for (const b of bases) {
    if (n === b) return true;
    if (n % b === 0n) return false;
  }
  let d = n - 1n;
  let s = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    s++;
  }
  outer: for (const a of bases) {
    let x = powMod(a, d, n);
    if (x === 1n || x === n - 1n) continue;
    for (let i = 1; i < s; i++) {
      x = (x * x) % n;
      if (x === n - 1n) continue outer;
    }
    return false;
  }
  return true;
}

function powMod(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return result;
}

/**
 * The field Z_p for an odd prime p. Elements are bigints in [0, p). The arithmetic
 * methods use `%`, so they return the right residue for any non-negative input (and
 * `reduce` for any bigint), but only [0, p) is an element: check untrusted values
 * with `assertElement` at the boundary.
 *
 * Measured (bench/cases/field.ts): a Mersenne shift-add reduction of a 122-bit product
 * is *slower* than V8's `%` on these machines, so `mul` has no special path; the
 * 2^61 − 1 speed comes from lazy reduction where it measurably helps: one `%` per
 * Shamir Horner evaluation or Lagrange combination (values stay ~128 bits), and the
 * split-limb sum.
 */
export class PrimeField {
  readonly p: bigint;
  /** Bit length of p. */
  readonly bits: number;
  /** 32-bit limbs per element in the packed (split-limb) representation. */
  readonly limbsPerElement: number;
  /** (p − 1)/2: values above it are negative in the signed view. */
  readonly halfP: bigint;
  private readonly mask: bigint;
  private readonly draws: number;

  constructor(p: bigint) {
    ensure(typeof p === 'bigint' && p > 2n && (p & 1n) === 1n, 'p must be an odd prime', {
      p: String(p),
    });
    ensure(isProbablePrime(p), 'p is not prime', { p: p.toString() });
    this.p = p;
    this.bits = bitLength(p);
    this.limbsPerElement = Math.ceil(this.bits / LIMB_BITS);
    this.halfP = (p - 1n) / 2n;
    this.mask = (1n << BigInt(this.bits)) - 1n;
    this.draws = Math.ceil(this.bits / 64);
  }

  isElement(x: bigint): boolean {
    return typeof x === 'bigint' && x >= 0n && x < this.p;
  }

  /** Throws VALUE_OUT_OF_FIELD (or `code`) unless 0 ≤ x < p. */
  assertElement(x: bigint, code: ErrorCode = ErrorCode.VALUE_OUT_OF_FIELD, what = 'value'): bigint {
    if (typeof x !== 'bigint' || x < 0n || x >= this.p) {
      throw new PrivaggError(code, `${what} is not in [0, p)`, {
        value: String(x),
        p: this.p.toString(),
      });
    }
    return x;
  }

  /** Any bigint → its residue in [0, p). */
  reduce(x: bigint): bigint {
    const r = x % this.p;
    return r < 0n ? r + this.p : r;
  }

  add(a: bigint, b: bigint): bigint {
    return (a + b) % this.p;
  }

  sub(a: bigint, b: bigint): bigint {
    const r = (a - b) % this.p;
    return r < 0n ? r + this.p : r;
  }

  neg(a: bigint): bigint {
    const r = a % this.p;
    return r === 0n ? 0n : this.p - r;
  }

  mul(a: bigint, b: bigint): bigint {
    return (a * b) % this.p;
  }

  /** a^e for e ≥ 0 (square-and-multiply). */
  pow(a: bigint, e: bigint): bigint {
    ensure(e >= 0n, 'exponent must be ≥ 0', { e: e.toString() });
    return powMod(this.reduce(a), e, this.p);
  }

  /** a^{-1} by the extended Euclidean algorithm; 0 throws NOT_INVERTIBLE. */
  inv(a: bigint): bigint {
    let r0 = this.reduce(a);
    if (r0 === 0n) throw new PrivaggError(ErrorCode.NOT_INVERTIBLE, '0 has no inverse mod p');
    let r1 = this.p;
    let s0 = 1n;
    let s1 = 0n;
    while (r1 !== 0n) {
      const q = r0 / r1;
      [r0, r1] = [r1, r0 - q * r1];
      [s0, s1] = [s1, s0 - q * s1];
    }
    return s0 < 0n ? s0 + this.p : s0;
  }

  div(a: bigint, b: bigint): bigint {
    return this.mul(a, this.inv(b));
  }

  /** Uniform element: draw `bits` random bits, reject ≥ p (no modulo bias; < 2 draws expected). */
  random(rng: RandomSource): bigint {
    for (;;) {
      let x = rng.nextBigUint64();
      for (let i = 1; i < this.draws; i++) x = (x << 64n) | rng.nextBigUint64();
      x &= this.mask;
      if (x < this.p) return x;
    }
  }

  /** Signed view: values above (p − 1)/2 are x − p. */
  toSigned(x: bigint): bigint {
    return x > this.halfP ? x - this.p : x;
  }

  /**
   * Σ xs mod p for any bigints (the residue of the integer sum, so no input can make it
   * wrong). The reduction strategy is the measured one (bench/cases/field.ts, 10k terms):
   * - p < 2^62: a `%` per add. Deferring it is ~3× *slower* on V8: the accumulator
   *   outgrows 64 bits and each add allocates a wider bigint, while `%` of a ~62-bit
   *   value stays on V8's fast path.
   * - wider p: lazy, one `%` at the end (~3.7× faster than a `%` per add for 2^127 − 1).
   * The fastest path for both is `sumPacked` (float64 limbs, ~5–15× faster than this).
   */
  sum(xs: readonly bigint[]): bigint {
    const p = this.p;
    let acc = 0n;
    if (this.bits <= 62) {
      for (let i = 0; i < xs.length; i++) acc = (acc + xs[i]!) % p;
    } else {
      for (let i = 0; i < xs.length; i++) acc += xs[i]!;
      acc %= p;
    }
    return acc < 0n ? acc + p : acc;
  }

  /**
   * Packs elements into 32-bit little-endian limbs (`limbsPerElement` per element):
   * the split-limb form `sumPacked` adds with float64 arithmetic. A wire codec can
   * produce this layout straight from the bytes of a share message.
   */
  pack(xs: readonly bigint[]): Uint32Array {
    const L = this.limbsPerElement;
    const out = new Uint32Array(xs.length * L);
    for (let i = 0; i < xs.length; i++) {
      let x = this.assertElement(xs[i]!);
      for (let j = 0; j < L; j++) {
        out[i * L + j] = Number(x & 0xffffffffn);
        x >>= 32n;
      }
    }
    return out;
  }

  unpack(limbs: Uint32Array): bigint[] {
    const L = this.limbsPerElement;
    ensure(limbs.length % L === 0, 'packed length is not a multiple of limbsPerElement', {
      length: limbs.length,
      limbsPerElement: L,
    });
    const out: bigint[] = [];
    for (let i = 0; i < limbs.length; i += L) {
      let x = 0n;
      for (let j = L - 1; j >= 0; j--) x = (x << 32n) | BigInt(limbs[i + j]!);
      out.push(this.assertElement(x));
    }
    return out;
  }

  /**
   * Σ of packed elements mod p, adding limbs as float64 (exact for up to 2^21 terms per
   * limb) and reducing once per 2^21 elements. Elements are range-checked against p
   * (VALUE_OUT_OF_FIELD), so untrusted limbs cannot smuggle in a value ≥ p: the loop
   * only tracks the largest top limb (a per-element branch measured 3× slower), and
   * only a chunk whose top limb reaches p's gets the exact per-element check. For
   * 2^61 − 1 that second pass runs with probability ~2^-29 per honest element.
   */
  sumPacked(limbs: Uint32Array): bigint {
    const L = this.limbsPerElement;
    ensure(limbs.length % L === 0, 'packed length is not a multiple of limbsPerElement', {
      length: limbs.length,
      limbsPerElement: L,
    });
    const n = limbs.length / L;
    const topLimb = Number(this.p >> BigInt(LIMB_BITS * (L - 1)));
    let total = 0n;
    for (let start = 0; start < n; start += MAX_LIMB_TERMS) {
      const end = Math.min(n, start + MAX_LIMB_TERMS);
      const { sum, maxTop } =
        L === 2 ? sumTwoLimbs(limbs, start, end) : sumLimbs(limbs, L, start, end);
      if (maxTop >= topLimb) {
        for (let i = start; i < end; i++) this.checkPackedElement(limbs, i * L);
      }
      total += sum;
    }
    return total % this.p;
  }

  private checkPackedElement(limbs: Uint32Array, at: number): void {
    let x = 0n;
    for (let j = this.limbsPerElement - 1; j >= 0; j--) x = (x << 32n) | BigInt(limbs[at + j]!);
    this.assertElement(x);
  }
}

/** The hot loop for 2^61 − 1 (and any p < 2^64): two limbs per element. */
function sumTwoLimbs(
  limbs: Uint32Array,
  start: number,
  end: number,
): { sum: bigint; maxTop: number } {
  let lo = 0;
  let hi = 0;
  let maxTop = 0;
  for (let i = 2 * start, e = 2 * end; i < e; i += 2) {
    const h = limbs[i + 1]!;
    maxTop = Math.max(maxTop, h);
    lo += limbs[i]!;
    hi += h;
  }
  return { sum: (BigInt(hi) << 32n) + BigInt(lo), maxTop };
}

function sumLimbs(
  limbs: Uint32Array,
  L: number,
  start: number,
  end: number,
): { sum: bigint; maxTop: number } {
  const acc = new Float64Array(L);
  let maxTop = 0;
  for (let i = start; i < end; i++) {
    const at = i * L;
    maxTop = Math.max(maxTop, limbs[at + L - 1]!);
    for (let j = 0; j < L; j++) acc[j]! += limbs[at + j]!;
  }
  let sum = 0n;
  for (let j = L - 1; j >= 0; j--) sum += BigInt(acc[j]!) << BigInt(LIMB_BITS * j);
  return { sum, maxTop };
}

/** The default field, p = 2^61 − 1. */
export const field61 = new PrimeField(MERSENNE_61);
/** p = 2^127 − 1, for wide fixed-point ranges. */
export const field127 = new PrimeField(MERSENNE_127);
export const defaultField = field61;

/**
 * x mod (2^q − 1) by shift-and-add folding, for x ≥ 0. Kept (and benchmarked against
 * `%` in bench/cases/field.ts) so the choice of `%` in `mul` stays a measured one.
 */
export function reduceMersenne(x: bigint, q: bigint): bigint {
  const m = (1n << q) - 1n;
  let r = x;
  while (r > m) r = (r & m) + (r >> q);
  return r === m ? 0n : r;
}
