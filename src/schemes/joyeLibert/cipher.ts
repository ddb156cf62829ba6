import { ErrorCode, PrivaggError } from '../../errors.js';
import { modInverse } from './modArith.js';
import { secretPow } from './secretPow.js';

/**
 * The algebra of Joye–Libert 2013 (FC 2013, §4), on bigints and for any modulus N: the
 * roles call these with the deployment's N, and the known-answer test with N = 35 so every
 * step can be checked by hand.
 *
 *   encrypt   y_i = (1 + x_i·N) · h^{s_i}             mod N²
 *   aggregate Y   = Π y_i                             mod N²
 *   decrypt   V   = h^{s_0} · Y = 1 + N·Σx_i          mod N²   with s_0 = −Σ s_i
 *             Σx  = (V − 1) / N
 *
 * (1 + N)^x = 1 + x·N mod N² is what makes the readings add in the exponent without a
 * discrete logarithm; the masks h^{s_i} cancel only when every s_i is in the product,
 * which is why the scheme tolerates no missing device. s_0 is negative, so h^{s_0} is
 * computed as the inverse of h^{S}, S = Σ s_i: no one needs the order of Z_{N²}^*
 * (which would reveal the factors of N).
 */

/** A device's ciphertext of x ∈ [0, N) under key s for base h = H(t). */
export function encryptValue(x: bigint, s: bigint, h: bigint, modulus: bigint): bigint {
  if (x < 0n || x >= modulus)
    throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, 'a Joye–Libert plaintext lies in [0, N)');
  const n2 = modulus * modulus;
  return (((1n + x * modulus) % n2) * secretPow(h, s, n2)) % n2;
}

/** The product of ciphertexts (the aggregator's whole job). */
export function multiplyCiphertexts(ys: Iterable<bigint>, modulus: bigint): bigint {
  const n2 = modulus * modulus;
  let acc = 1n;
  for (const y of ys) acc = (acc * y) % n2;
  return acc;
}

/**
 * Σx from the product Y and S = Σ s_i = −s_0, or undefined when h^{−S}·Y is not of the form
 * 1 + N·x: a product missing a device's ciphertext (or holding a foreign one) leaves a
 * random mask, which is of that form only with probability 1/N.
 */
export function decryptSum(
  product: bigint,
  sumOfKeys: bigint,
  h: bigint,
  modulus: bigint,
): bigint | undefined {
  const n2 = modulus * modulus;
  const v = (product * modInverse(secretPow(h, sumOfKeys, n2), n2)) % n2;
  if ((v - 1n) % modulus !== 0n) return undefined;
  return (v - 1n) / modulus;
}
