import { hkdfSync } from 'node:crypto';
import { ensure } from '../errors.js';

/**
 * HKDF-SHA256 (RFC 5869) via node:crypto. privagg derives every per-link key from a
 * role's master secret with an `info` that names the link, so compromising one
 * link key reveals nothing about another.
 */
export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length = 32): Buffer {
  ensure(
    Number.isInteger(length) && length >= 1 && length <= 255 * 32,
    'HKDF output length must be 1..8160',
    {
      length,
    },
  );
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, length));
}
