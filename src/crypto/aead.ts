import { createCipheriv, createDecipheriv } from 'node:crypto';
import { ErrorCode, PrivaggError } from '../errors.js';
import { type RandomSource, systemRandom } from '../math/random.js';

/**
 * AES-256-GCM (NIST SP 800-38D) via node:crypto. A sealed box is
 * nonce (12) ‖ ciphertext (|plaintext|) ‖ tag (16), i.e. 28 bytes of overhead.
 * Random 96-bit nonces are safe for ~2^32 messages per key; per-link keys are
 * derived per deployment, far below that.
 */
export const AEAD_KEY_BYTES = 32;
export const AEAD_NONCE_BYTES = 12;
export const AEAD_TAG_BYTES = 16;
export const AEAD_OVERHEAD_BYTES = AEAD_NONCE_BYTES + AEAD_TAG_BYTES;

export interface AeadKey {
  readonly algorithm: 'aes-256-gcm';
  readonly bytes: Buffer;
}

export function aeadKey(bytes: Uint8Array): AeadKey {
  if (bytes.length !== AEAD_KEY_BYTES) {
    throw new PrivaggError(ErrorCode.BAD_KEY, 'an AES-256-GCM key has exactly 32 bytes', {
      length: bytes.length,
    });
  }
  return { algorithm: 'aes-256-gcm', bytes: Buffer.from(bytes) };
}

export interface SealOptions {
  /** Authenticated, unencrypted context (sender, round, …). */
  aad?: Uint8Array;
  /** 12 bytes; drawn from `rng` when absent. Never reuse a nonce under one key. */
  nonce?: Uint8Array;
  rng?: RandomSource;
}

export function aeadSeal(key: AeadKey, plaintext: Uint8Array, opts: SealOptions = {}): Buffer {
  let nonce = opts.nonce;
  if (nonce === undefined) {
    nonce = Buffer.allocUnsafe(AEAD_NONCE_BYTES);
    (opts.rng ?? systemRandom).fill(nonce);
  } else if (nonce.length !== AEAD_NONCE_BYTES) {
    throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, 'AES-GCM nonce must be 12 bytes', {
      length: nonce.length,
    });
  }
  const out = Buffer.allocUnsafe(AEAD_OVERHEAD_BYTES + plaintext.length);
  out.set(nonce, 0);
  const cipher = createCipheriv('aes-256-gcm', key.bytes, nonce);
  if (opts.aad) cipher.setAAD(opts.aad);
  const body = cipher.update(plaintext);
  body.copy(out, AEAD_NONCE_BYTES);
  cipher.final(); // GCM emits no trailing bytes; final() computes the tag
  cipher.getAuthTag().copy(out, AEAD_NONCE_BYTES + plaintext.length);
  return out;
}

/** Opens a sealed box or throws DECRYPT_FAILED (wrong key, AAD, truncated, tampered). */
export function aeadOpen(key: AeadKey, sealed: Uint8Array, aad?: Uint8Array): Buffer {
  if (sealed.length < AEAD_OVERHEAD_BYTES) {
    throw new PrivaggError(ErrorCode.DECRYPT_FAILED, 'sealed box shorter than nonce + tag', {
      length: sealed.length,
    });
  }
  const nonce = sealed.subarray(0, AEAD_NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - AEAD_TAG_BYTES);
  const body = sealed.subarray(AEAD_NONCE_BYTES, sealed.length - AEAD_TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key.bytes, nonce);
  decipher.setAuthTag(tag);
  if (aad) decipher.setAAD(aad);
  const plain = decipher.update(body);
  try {
    decipher.final();
  } catch {
    throw new PrivaggError(ErrorCode.DECRYPT_FAILED, 'AES-GCM tag does not verify');
  }
  return plain;
}
