import { constantTimeEqual, lengthPrefixed, sha256 } from '../../crypto/bytes.js';
import { type MacKey, macTag, macVerify } from '../../crypto/mac.js';
import type { MaasModes } from './params.js';

/**
 * The two ways a MaaS message is authenticated.
 *
 * 'hmac': HMAC-SHA256(K_link, bytes) — only the two ends of the link hold K_link.
 * 'paper-hash': H2(bytes ‖ ID_sender) with H2 = SHA-256 — the paper's "mac"
 * (eq. 6, 8): everything in it is public to every gateway, so it authenticates nothing
 * against an insider. Kept for comparison only.
 */
export interface TagKey {
  mac: MacKey;
  /** The sender's public identity (used by the paper's mode only). */
  identity: Uint8Array;
}

export function computeTag(mode: MaasModes['mac'], key: TagKey, bytes: Uint8Array): Buffer {
  return mode === 'hmac' ? macTag(key.mac, bytes) : paperHash(key.identity, bytes);
}

export function verifyTag(
  mode: MaasModes['mac'],
  key: TagKey,
  bytes: Uint8Array,
  tag: Uint8Array,
): boolean {
  return mode === 'hmac'
    ? macVerify(key.mac, tag, bytes)
    : constantTimeEqual(paperHash(key.identity, bytes), tag);
}

/** The paper's H2(fields ‖ ID): anyone who knows the (public) identity computes it. */
export function paperHash(identity: Uint8Array, bytes: Uint8Array): Buffer {
  return sha256(lengthPrefixed(bytes, identity));
}
