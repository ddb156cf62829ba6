import { diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { ErrorCode, PrivaggError } from '../errors.js';
import { exportRawPrivate, exportRawPublic, importRawPrivate, importRawPublic } from './rawKeys.js';

/** X25519 (RFC 7748) key agreement via node:crypto; keys are 32 raw bytes. */
export interface X25519KeyPair {
  readonly publicKey: Buffer;
  readonly privateKey: Buffer;
}

/** A fresh key pair from node:crypto's CSPRNG. */
export function x25519KeyPair(): X25519KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return { publicKey: exportRawPublic(publicKey), privateKey: exportRawPrivate(privateKey) };
}

/** A private key imported once (the import derives the public half and costs ~0.3 ms). */
export interface X25519PrivateKey {
  readonly algorithm: 'x25519';
  readonly keyObject: KeyObject;
  readonly publicKey: Buffer;
}

export function x25519PrivateKey(raw: Uint8Array): X25519PrivateKey {
  const keyObject = importRawPrivate('X25519', raw);
  return { algorithm: 'x25519', keyObject, publicKey: exportRawPublic(keyObject) };
}

export function x25519PublicFromPrivate(privateKey: Uint8Array): Buffer {
  return x25519PrivateKey(privateKey).publicKey;
}

/**
 * The shared secret. An all-zero result means the peer sent a low-order point
 * (RFC 7748 §6.1): refuse it rather than derive keys from a value anyone knows.
 * Feed the result through HKDF; never use it as a key directly.
 */
export function x25519Agree(
  privateKey: X25519PrivateKey | Uint8Array,
  peerPublicKey: Uint8Array,
): Buffer {
  const priv =
    privateKey instanceof Uint8Array
      ? importRawPrivate('X25519', privateKey)
      : privateKey.keyObject;
  const pub = importRawPublic('X25519', peerPublicKey);
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: priv, publicKey: pub });
  } catch {
    // OpenSSL itself refuses an all-zero result (a low-order point).
    throw new PrivaggError(ErrorCode.BAD_KEY, 'X25519 peer key is a low-order point');
  }
  if (shared.every((b) => b === 0)) {
    throw new PrivaggError(ErrorCode.BAD_KEY, 'X25519 peer key is a low-order point');
  }
  return shared;
}
