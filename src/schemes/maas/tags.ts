import { constantTimeEqual, lengthPrefixed, sha256 } from '../../crypto/bytes.js';
import {
  ED25519_SIGNATURE_BYTES,
  type Ed25519PrivateKey,
  type Ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
} from '../../crypto/ed25519.js';
import { MAC_TAG_BYTES, type MacKey, macTag, macVerify } from '../../crypto/mac.js';
import type { MaasModes } from './params.js';

/**
 * How a MaaS message is authenticated.
 *
 * Device → gateway reports ('link' tags):
 *   'hmac': HMAC-SHA256(K_link, bytes) — only the two ends of the link hold K_link.
 *   'paper-hash': H2(bytes ‖ ID_sender) with H2 = SHA-256 — the paper's "mac" (eq. 6, 8):
 *   everything in it is public to every gateway, so it authenticates nothing against an
 *   insider. Kept for comparison only.
 *
 * Gateway → ledger partials and OEM → ledger queries ('evidence' tags): in the sound mode
 * ('hmac') an Ed25519 signature under the sender's own key, which the ledger can check
 * but not make (it holds only public keys). A MAC here would let the ledger forge the
 * partial it judges, and a liar it names would be evidence to nobody else; a signature is
 * evidence anyone with the public key checks. The paper's mode keeps its hash.
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

/** A sender's key for evidence tags: its signing key, and its identity for the paper's mode. */
export interface SignerKey {
  signer: Ed25519PrivateKey;
  identity: Uint8Array;
}

/** What a verifier of evidence tags holds about a sender: public material only. */
export interface VerifierKey {
  publicKey: Ed25519PublicKey;
  identity: Uint8Array;
}

/** Length of a partial's or a query's tag: 64 (Ed25519) in the sound mode, 32 in the paper's. */
export function evidenceTagBytes(mode: MaasModes['mac']): number {
  return mode === 'hmac' ? ED25519_SIGNATURE_BYTES : MAC_TAG_BYTES;
}

export function signEvidence(mode: MaasModes['mac'], key: SignerKey, bytes: Uint8Array): Buffer {
  return mode === 'hmac' ? ed25519Sign(key.signer, bytes) : paperHash(key.identity, bytes);
}

export function verifyEvidence(
  mode: MaasModes['mac'],
  key: VerifierKey,
  bytes: Uint8Array,
  tag: Uint8Array,
): boolean {
  return mode === 'hmac'
    ? ed25519Verify(key.publicKey, bytes, tag)
    : constantTimeEqual(paperHash(key.identity, bytes), tag);
}
