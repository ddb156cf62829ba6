import { createHmac } from 'node:crypto';
import { ErrorCode, PrivaggError } from '../errors.js';
import { constantTimeEqual } from './bytes.js';

/** HMAC-SHA256 with a per-link secret key (RFC 2104 via node:crypto). */
export const MAC_TAG_BYTES = 32;
export const MAC_KEY_BYTES = 32;

export interface MacKey {
  readonly algorithm: 'hmac-sha256';
  readonly bytes: Buffer;
}

export function macKey(bytes: Uint8Array): MacKey {
  // RFC 2104 allows any length, but a short key is a configuration mistake here.
  if (bytes.length < 16) {
    throw new PrivaggError(ErrorCode.BAD_KEY, 'an HMAC key must have at least 16 bytes', {
      length: bytes.length,
    });
  }
  return { algorithm: 'hmac-sha256', bytes: Buffer.from(bytes) };
}

/** The tag over the concatenation of `parts` (callers make the encoding unambiguous). */
export function macTag(key: MacKey, data: Uint8Array, ...more: Uint8Array[]): Buffer {
  const h = createHmac('sha256', key.bytes).update(data);
  // Indexed loop: the common one-part call stays as cheap as raw node:crypto.
  for (let i = 0; i < more.length; i++) h.update(more[i]!);
  return h.digest();
}

/** Constant-time check of a received tag; false on any length or content mismatch. */
export function macVerify(
  key: MacKey,
  tag: Uint8Array,
  data: Uint8Array,
  ...more: Uint8Array[]
): boolean {
  return constantTimeEqual(macTag(key, data, ...more), tag);
}

/** As macVerify, but throws BAD_MAC: for code paths where a bad tag ends processing. */
export function macCheck(
  key: MacKey,
  tag: Uint8Array,
  data: Uint8Array,
  ...more: Uint8Array[]
): void {
  if (!macVerify(key, tag, data, ...more)) {
    throw new PrivaggError(ErrorCode.BAD_MAC, 'HMAC-SHA256 tag does not verify');
  }
}
