import { checkPrimeSync } from 'node:crypto';
import { ErrorCode, PrivaggError } from '../../errors.js';
import type { RandomSource } from '../../math/random.js';
import { bitLength, fromBytesBE } from './modArith.js';

/**
 * The TA's modulus N = p·q. Candidates come from the caller's RandomSource, so a seeded
 * source gives the same N every time (test vectors need that); primality is OpenSSL's
 * (`checkPrimeSync`, Miller–Rabin with the round count OpenSSL picks for an error below
 * 2^-128) rather than a test of our own.
 *
 * Each candidate has its two top bits set, so p·q has exactly |N| bits, and its low bit set.
 * The factors are dropped once N is formed: no role needs them, and nobody should hold
 * them (they are the trapdoor of N, and Joye–Libert's security rests on no one knowing it).
 */
export function randomPrime(bits: number, rng: RandomSource): bigint {
  if (!Number.isInteger(bits) || bits < 16 || bits % 8 !== 0)
    throw new PrivaggError(
      ErrorCode.INVALID_ARGUMENT,
      `a prime of ${bits} bits: use a multiple of 8 ≥ 16`,
    );
  const candidate = new Uint8Array(bits / 8);
  for (;;) {
    rng.fill(candidate);
    candidate[0]! |= 0xc0;
    candidate[candidate.length - 1]! |= 1;
    if (checkPrimeSync(candidate)) return fromBytesBE(candidate);
  }
}

export function generateModulus(modulusBits: number, rng: RandomSource): bigint {
  const p = randomPrime(modulusBits / 2, rng);
  let q = randomPrime(modulusBits / 2, rng);
  while (q === p) q = randomPrime(modulusBits / 2, rng);
  const n = p * q;
  // Two top bits set in each factor put p·q in [2^(bits−1), 2^bits).
  if (bitLength(n) !== modulusBits)
    throw new PrivaggError(
      ErrorCode.INVALID_ARGUMENT,
      `N has ${bitLength(n)} bits, not ${modulusBits}`,
    );
  return n;
}
