import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time equality; unequal lengths are unequal (length is not secret). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

export function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** UTF-8 bytes of a string; the one place labels become bytes. */
export function utf8(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

/**
 * Unambiguous concatenation: each part is prefixed by its 4-byte big-endian length,
 * so ('ab','c') and ('a','bc') never encode alike. Used to build MAC inputs and
 * identities from several fields.
 */
export function lengthPrefixed(...parts: Uint8Array[]): Buffer {
  const total = parts.reduce((n, p) => n + 4 + p.length, 0);
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const p of parts) {
    out.writeUInt32BE(p.length, at);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}
