import type { PrimeField } from './field.js';

/**
 * Polynomials over a prime field as coefficient arrays, lowest degree first:
 * [c0, c1, c2] is c0 + c1·x + c2·x². The zero polynomial is []. Functions return
 * trimmed arrays (no trailing zero coefficients) so `degree` is length − 1.
 */
export type Polynomial = readonly bigint[];

export function trimPolynomial(a: readonly bigint[]): bigint[] {
  let n = a.length;
  while (n > 0 && a[n - 1] === 0n) n--;
  return a.slice(0, n);
}

/** Degree, with deg(0) = −1. */
export function degree(a: Polynomial): number {
  return trimPolynomial(a).length - 1;
}

/** Horner evaluation, reduced every step (shamir.ts has a lazier one for small x). */
export function evaluatePolynomial(field: PrimeField, a: Polynomial, x: bigint): bigint {
  const p = field.p;
  const xr = field.reduce(x);
  let acc = 0n;
  for (let i = a.length - 1; i >= 0; i--) acc = (acc * xr + a[i]!) % p;
  return acc;
}

export function addPolynomials(field: PrimeField, a: Polynomial, b: Polynomial): bigint[] {
  const n = Math.max(a.length, b.length);
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) out.push(field.add(a[i] ?? 0n, b[i] ?? 0n));
  return trimPolynomial(out);
}

export function subtractPolynomials(field: PrimeField, a: Polynomial, b: Polynomial): bigint[] {
  const n = Math.max(a.length, b.length);
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) out.push(field.sub(a[i] ?? 0n, b[i] ?? 0n));
  return trimPolynomial(out);
}

export function multiplyPolynomials(field: PrimeField, a: Polynomial, b: Polynomial): bigint[] {
  if (a.length === 0 || b.length === 0) return [];
  const out = new Array<bigint>(a.length + b.length - 1).fill(0n);
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < b.length; j++) out[i + j] = out[i + j]! + a[i]! * b[j]!;
  }
  return trimPolynomial(out.map((c) => c % field.p));
}

/** Long division: a = q·b + r with deg r < deg b. Division by the zero polynomial throws NOT_INVERTIBLE. */
export function dividePolynomials(
  field: PrimeField,
  a: Polynomial,
  b: Polynomial,
): { quotient: bigint[]; remainder: bigint[] } {
  const den = trimPolynomial(b);
  const rem = trimPolynomial(a);
  const lead = field.inv(den[den.length - 1] ?? 0n);
  const dd = den.length - 1;
  if (rem.length - 1 < dd) return { quotient: [], remainder: rem };
  const quotient = new Array<bigint>(rem.length - dd).fill(0n);
  for (let i = rem.length - 1; i >= dd; i--) {
    const c = field.mul(rem[i]!, lead);
    quotient[i - dd] = c;
    if (c === 0n) continue;
    for (let j = 0; j <= dd; j++)
      rem[i - dd + j] = field.sub(rem[i - dd + j]!, field.mul(c, den[j]!));
  }
  return { quotient: trimPolynomial(quotient), remainder: trimPolynomial(rem.slice(0, dd)) };
}
