import { generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { ErrorCode, PrivaggError } from '../errors.js';
import { exportRawPrivate, exportRawPublic, importRawPrivate, importRawPublic } from './rawKeys.js';

/** Ed25519 (RFC 8032, pure) signatures via node:crypto; keys 32 bytes, signatures 64. */
export const ED25519_SIGNATURE_BYTES = 64;

/**
 * A private key imported once. Importing a raw Ed25519 key derives its public half
 * (~0.3 ms, ten times a signature), so a long-lived signer (the ledger node) holds
 * one of these instead of raw bytes.
 */
export interface Ed25519PrivateKey {
  readonly algorithm: 'ed25519';
  readonly keyObject: KeyObject;
  readonly publicKey: Buffer;
}

export interface Ed25519KeyPair {
  readonly publicKey: Buffer;
  /** The 32-byte seed of RFC 8032. */
  readonly privateKey: Buffer;
}

export function ed25519KeyPair(): Ed25519KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { publicKey: exportRawPublic(publicKey), privateKey: exportRawPrivate(privateKey) };
}

export function ed25519PrivateKey(raw: Uint8Array): Ed25519PrivateKey {
  const keyObject = importRawPrivate('Ed25519', raw);
  return { algorithm: 'ed25519', keyObject, publicKey: exportRawPublic(keyObject) };
}

export function ed25519PublicFromPrivate(privateKey: Uint8Array): Buffer {
  return ed25519PrivateKey(privateKey).publicKey;
}

export function ed25519Sign(
  privateKey: Ed25519PrivateKey | Uint8Array,
  message: Uint8Array,
): Buffer {
  const key = privateKey instanceof Uint8Array ? ed25519PrivateKey(privateKey) : privateKey;
  return sign(null, message, key.keyObject);
}

/**
 * A public key imported once: a verifier that checks many messages of one signer (the
 * ledger checking a gateway's partials) does not pay the import on every message.
 */
export interface Ed25519PublicKey {
  readonly algorithm: 'ed25519';
  readonly keyObject: KeyObject;
  readonly raw: Buffer;
}

/** Throws BAD_KEY for a key that is not 32 bytes or not a point. */
export function ed25519PublicKey(raw: Uint8Array): Ed25519PublicKey {
  return {
    algorithm: 'ed25519',
    keyObject: importRawPublic('Ed25519', raw),
    raw: Buffer.from(raw),
  };
}

/** False for a wrong signature, a wrong length, or a malformed public key. */
export function ed25519Verify(
  publicKey: Uint8Array | Ed25519PublicKey,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (signature.length !== ED25519_SIGNATURE_BYTES) return false;
  if (publicKey instanceof Uint8Array && publicKey.length !== 32) return false;
  try {
    const key =
      publicKey instanceof Uint8Array ? importRawPublic('Ed25519', publicKey) : publicKey.keyObject;
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

export function ed25519Check(
  publicKey: Uint8Array | Ed25519PublicKey,
  message: Uint8Array,
  signature: Uint8Array,
): void {
  if (!ed25519Verify(publicKey, message, signature)) {
    throw new PrivaggError(ErrorCode.BAD_SIGNATURE, 'Ed25519 signature does not verify');
  }
}
