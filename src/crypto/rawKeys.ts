import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { ErrorCode, PrivaggError } from '../errors.js';

/**
 * node:crypto speaks KeyObjects; privagg stores and sends the 32-byte raw keys of
 * RFC 7748 / RFC 8032. Raw keys are wrapped in the fixed DER prefixes of RFC 8410
 * (SubjectPublicKeyInfo / PKCS#8 with the curve's OID), which is exactly what
 * node:crypto exports for these curves.
 */
export type OkpCurve = 'X25519' | 'Ed25519';

const SPKI_PREFIX: Record<OkpCurve, Buffer> = {
  X25519: Buffer.from('302a300506032b656e032100', 'hex'),
  Ed25519: Buffer.from('302a300506032b6570032100', 'hex'),
};
const PKCS8_PREFIX: Record<OkpCurve, Buffer> = {
  X25519: Buffer.from('302e020100300506032b656e04220420', 'hex'),
  Ed25519: Buffer.from('302e020100300506032b657004220420', 'hex'),
};

function check32(bytes: Uint8Array, what: string): void {
  if (bytes.length !== 32) {
    throw new PrivaggError(ErrorCode.BAD_KEY, `${what} must be 32 bytes`, { length: bytes.length });
  }
}

export function importRawPublic(crv: OkpCurve, raw: Uint8Array): KeyObject {
  check32(raw, `${crv} public key`);
  return createPublicKey({
    key: Buffer.concat([SPKI_PREFIX[crv], raw]),
    format: 'der',
    type: 'spki',
  });
}

export function importRawPrivate(crv: OkpCurve, raw: Uint8Array): KeyObject {
  check32(raw, `${crv} private key`);
  return createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX[crv], raw]),
    format: 'der',
    type: 'pkcs8',
  });
}

/** The raw public key; given a private key, its public half. */
export function exportRawPublic(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const der = pub.export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(der.length - 32));
}

export function exportRawPrivate(key: KeyObject): Buffer {
  const der = key.export({ format: 'der', type: 'pkcs8' });
  return Buffer.from(der.subarray(der.length - 32));
}
