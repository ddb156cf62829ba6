import { ensure } from '../errors.js';

/**
 * Exact rationals over bigint, for DP parameters (ε, Δ, σ², γ) and privacy budgets.
 *
 * Why not numbers: an exact sampler (CKS 2020) needs the parameter exactly, and a budget
 * that adds ten spends of ε = 0.1 must reach exactly 1, not 1.0000000000000002.
 *
 * A Rational is always in lowest terms with den > 0, so structural equality is equality.
 */
export interface Rational {
  readonly num: bigint;
  readonly den: bigint;
}

/**
 * What the public DP functions accept. A JS number is read as its shortest round-trip
 * decimal (`String(x)`: 0.1 → 1/10), i.e. the value the caller typed; this differs from
 * the binary double by less than half an ulp. Use `rationalFromNumber` for the exact
 * binary value. A string is a decimal ('0.25', '-1.5e-3') or a fraction ('1/3').
 */
export type RationalLike = Rational | number | bigint | string;

const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);
const MAX_DECIMAL_EXPONENT = 1000; // '1e1000000000' must not allocate a gigabyte.

function gcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a;
  if (b < 0n) b = -b;
  while (b !== 0n) {
    const r = a % b;
    a = b;
    b = r;
  }
  return a;
}

function reduced(num: bigint, den: bigint): Rational {
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  if (num === 0n) return { num: 0n, den: 1n };
  if (den === 1n) return { num, den };
  const g = gcd(num, den);
  return g === 1n ? { num, den } : { num: num / g, den: den / g };
}

/** num/den from integers (numbers must be safe integers); den ≠ 0. */
export function rational(num: bigint | number, den: bigint | number = 1n): Rational {
  if (typeof num === 'number') {
    ensure(Number.isSafeInteger(num), 'rational() needs a safe integer numerator', { num });
    num = BigInt(num);
  }
  if (typeof den === 'number') {
    ensure(Number.isSafeInteger(den), 'rational() needs a safe integer denominator', { den });
    den = BigInt(den);
  }
  ensure(den !== 0n, 'a rational needs a non-zero denominator');
  return reduced(num, den);
}

export function isRational(x: unknown): x is Rational {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as Rational).num === 'bigint' &&
    typeof (x as Rational).den === 'bigint'
  );
}

/** The exact value of a finite double, m·2^e, as a rational with a power-of-two denominator. */
export function rationalFromNumber(x: number): Rational {
  ensure(Number.isFinite(x), 'rationalFromNumber needs a finite number', { x });
  if (Number.isSafeInteger(x)) return { num: BigInt(x), den: 1n };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exponent: number;
  if (biased === 0) {
    exponent = -1074; // subnormal
  } else {
    mantissa |= 1n << 52n;
    exponent = biased - 1075;
  }
  if (hi >>> 31) mantissa = -mantissa;
  return exponent >= 0
    ? { num: mantissa << BigInt(exponent), den: 1n }
    : reduced(mantissa, 1n << BigInt(-exponent));
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const FRACTION = /^([+-]?\d+)\s*\/\s*(\d+)$/;

/** A decimal ('0.1', '-2.5e-3', '1e+21') or fraction ('3/4') string, exactly. */
export function rationalFromDecimal(s: string): Rational {
  const text = s.trim();
  const fraction = FRACTION.exec(text);
  if (fraction) {
    const den = BigInt(fraction[2]!);
    ensure(den !== 0n, 'a fraction needs a non-zero denominator', { value: s });
    return reduced(BigInt(fraction[1]!), den);
  }
  const m = DECIMAL.exec(text);
  const intPart = m?.[2] ?? '';
  const fracPart = m?.[3] ?? '';
  ensure(m !== null && intPart.length + fracPart.length > 0, 'not a decimal or fraction', {
    value: s,
  });
  const exp = Number(m[4] ?? '0') - fracPart.length;
  ensure(Math.abs(exp) <= MAX_DECIMAL_EXPONENT, 'decimal exponent out of range', { value: s });
  let num = BigInt(`${intPart}${fracPart}` || '0');
  if (m[1] === '-') num = -num;
  return exp >= 0 ? reduced(num * 10n ** BigInt(exp), 1n) : reduced(num, 10n ** BigInt(-exp));
}

/** Normalises a RationalLike (see its doc for how numbers are read). */
export function toRational(x: RationalLike, name = 'value'): Rational {
  if (typeof x === 'bigint') return { num: x, den: 1n };
  if (typeof x === 'number') {
    ensure(Number.isFinite(x), `${name} must be a finite number`, { [name]: x });
    if (Number.isSafeInteger(x)) return { num: BigInt(x), den: 1n };
    return rationalFromDecimal(String(x));
  }
  if (typeof x === 'string') return rationalFromDecimal(x);
  ensure(isRational(x) && x.den > 0n, `${name} must be a rational with a positive denominator`);
  return reduced(x.num, x.den);
}

export function addRational(a: Rational, b: Rational): Rational {
  return a.den === b.den
    ? reduced(a.num + b.num, a.den)
    : reduced(a.num * b.den + b.num * a.den, a.den * b.den);
}

export function subRational(a: Rational, b: Rational): Rational {
  return addRational(a, { num: -b.num, den: b.den });
}

export function mulRational(a: Rational, b: Rational): Rational {
  return reduced(a.num * b.num, a.den * b.den);
}

export function divRational(a: Rational, b: Rational): Rational {
  ensure(b.num !== 0n, 'division of a rational by zero');
  return reduced(a.num * b.den, a.den * b.num);
}

/** −1, 0 or 1 as a < b, a = b, a > b. */
export function compareRational(a: Rational, b: Rational): -1 | 0 | 1 {
  const d = a.num * b.den - b.num * a.den;
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

export function signRational(a: Rational): -1 | 0 | 1 {
  return a.num < 0n ? -1 : a.num > 0n ? 1 : 0;
}

/** ⌊a⌋. */
export function floorRational(a: Rational): bigint {
  const q = a.num / a.den; // truncates toward zero
  return a.num < 0n && q * a.den !== a.num ? q - 1n : q;
}

/** The nearest double (for display and floating-point formulas, never for sampling). */
export function rationalToNumber(a: Rational): number {
  if (a.num >= -MAX_SAFE_BIG && a.num <= MAX_SAFE_BIG && a.den <= MAX_SAFE_BIG) {
    return Number(a.num) / Number(a.den); // both exact, so one correctly rounded division
  }
  // Divide in bigint to a quotient of ≥ 64 bits with a sticky bit for the remainder, so that
  // Number() rounds it correctly; then scale by 2^−shift in two steps (each stays finite).
  const negative = a.num < 0n;
  const num = negative ? -a.num : a.num;
  const shift = 65 - (num.toString(2).length - a.den.toString(2).length);
  const scaledNum = shift >= 0 ? num << BigInt(shift) : num;
  const scaledDen = shift >= 0 ? a.den : a.den << BigInt(-shift);
  let q = scaledNum / scaledDen;
  if (q * scaledDen !== scaledNum) q |= 1n;
  const half = Math.trunc(shift / 2);
  const x = Number(q) * 2 ** -half * 2 ** -(shift - half);
  return negative ? -x : x;
}

/** 'p/q', or 'p' when q = 1: the form `rationalFromDecimal` reads back. */
export function formatRational(a: Rational): string {
  return a.den === 1n ? a.num.toString() : `${a.num}/${a.den}`;
}

/** A RationalLike as text for error details (bigints do not survive JSON). */
export function describeRationalLike(x: RationalLike): string {
  return isRational(x) ? formatRational(x) : String(x);
}
