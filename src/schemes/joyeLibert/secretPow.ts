import { createDiffieHellman } from 'node:crypto';
import { bitLength, modPow, toBytesBE } from './modArith.js';

/**
 * base^exp mod m for a secret exponent (a device's s_i, the center's key sum), computed by
 * OpenSSL through node:crypto: a Diffie–Hellman "public key" is exactly g^x mod p, and
 * OpenSSL computes it with its constant-time Montgomery exponentiation (the private key is
 * flagged BN_FLG_CONSTTIME). That closes the timing leak of bigint square-and-multiply on
 * the device, and is ~4× faster at 2048-bit N (a 4096-bit modulus: ~35 ms against ~140).
 * p here is N², not a prime: OpenSSL flags the group (verifyError) but computes the power
 * for any odd modulus, which N² is. What OpenSSL cannot take (an exponent wider than the
 * modulus is split first; a base below 2, an even modulus) falls back to the bigint path,
 * which gives the same value.
 */
export function secretPow(base: bigint, exp: bigint, m: bigint): bigint {
  const b = ((base % m) + m) % m;
  if (m % 2n === 0n || m < 3n || b < 2n || exp <= 0n) return modPow(b, exp, m);
  // OpenSSL takes a private key no wider than the modulus: the center's key sum S (n keys
  // of up to |N²| bits) is split as S = q·m + r, and b^S = (b^m)^q · b^r.
  if (bitLength(exp) > bitLength(m))
    return (secretPow(secretPow(b, m, m), exp / m, m) * secretPow(b, exp % m, m)) % m;
  const width = Math.ceil(bitLength(m) / 8);
  try {
    const dh = createDiffieHellman(toBytesBE(m, width), toBytesBE(b, width));
    dh.setPrivateKey(toBytesBE(exp, Math.ceil(bitLength(exp) / 8)));
    dh.generateKeys();
    const out = dh.getPublicKey();
    return out.length === 0 ? 0n : BigInt(`0x${out.toString('hex')}`);
  } catch {
    return modPow(b, exp, m);
  }
}
