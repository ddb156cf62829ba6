import { ErrorCode, PrivaggError } from '../../errors.js';

/**
 * Modular arithmetic on bigint for Z_{N²}: exponentiation, inverse, gcd and the fixed-width
 * big-endian encoding the wire uses. JavaScript has no built-in modular exponentiation, and
 * `src/math/field.ts` keeps its square-and-multiply private and sized for 61-bit fields, so
 * the scheme carries its own, with a fixed window because its exponents are 1000–4000 bits
 * long (a 5-bit window saves about a fifth of the multiplications at 2048-bit N).
 *
 * Not constant-time: V8's bigint operations take data-dependent time. Secret exponents
 * therefore go through secretPow.ts (OpenSSL's constant-time path); this one is its
 * fallback for what OpenSSL refuses (a base below 2, an even modulus) and the
 * reference the tests hold it to.
 */

/** The window width for an exponent of `bits` bits: a table of 2^k entries pays off above. */
function windowBits(bits: number): number {
  if (bits <= 64) return 1;
  if (bits <= 256) return 3;
  if (bits <= 1024) return 4;
  return 5;
}

/** base^exp mod m for exp ≥ 0 and m ≥ 1 (left-to-right, fixed window). */
export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  if (m < 1n) throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, 'modPow needs a modulus ≥ 1');
  if (exp < 0n) throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, 'modPow needs an exponent ≥ 0');
  if (m === 1n) return 0n;
  const b = ((base % m) + m) % m;
  if (exp === 0n) return 1n;
  const bitString = exp.toString(2);
  const k = windowBits(bitString.length);
  // table[d] = b^d for every window value d.
  const table: bigint[] = [1n, b];
  for (let d = 2; d < 1 << k; d++) table.push((table[d - 1]! * b) % m);
  const padded = '0'.repeat((k - (bitString.length % k)) % k) + bitString;
  let r = 1n;
  for (let at = 0; at < padded.length; at += k) {
    for (let j = 0; j < k; j++) r = (r * r) % m;
    const d = Number.parseInt(padded.slice(at, at + k), 2);
    if (d !== 0) r = (r * table[d]!) % m;
  }
  return r;
}

export function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/** a^-1 mod m by the extended Euclidean algorithm; NOT_INVERTIBLE when gcd(a, m) ≠ 1. */
export function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [((a % m) + m) % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) throw new PrivaggError(ErrorCode.NOT_INVERTIBLE, 'no inverse modulo N²');
  return ((oldS % m) + m) % m;
}

export function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/** x as exactly `bytes` big-endian bytes (the wire's fixed-width elements). */
export function toBytesBE(x: bigint, bytes: number): Buffer {
  if (x < 0n || bitLength(x) > 8 * bytes) {
    throw new PrivaggError(
      ErrorCode.INVALID_ARGUMENT,
      `${bitLength(x)} bits do not fit ${bytes} bytes`,
    );
  }
  return Buffer.from(x.toString(16).padStart(2 * bytes, '0'), 'hex');
}

/** The unsigned big-endian integer of `b` (0 for no bytes). */
export function fromBytesBE(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b).toString('hex')}`);
}

/** The minimal big-endian bytes of x ≥ 0 (key blobs hold integers this way). */
export function minimalBytesBE(x: bigint): Buffer {
  return toBytesBE(x, Math.max(1, Math.ceil(bitLength(x) / 8)));
}
