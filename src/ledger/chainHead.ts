import { z } from 'zod';
import { lengthPrefixed, utf8 } from '../crypto/bytes.js';
import { type Ed25519PrivateKey, ed25519Sign, ed25519Verify } from '../crypto/ed25519.js';
import { ErrorCode, PrivaggError } from '../errors.js';
import { GENESIS_PREVIOUS } from './blockCodec.js';

/**
 * A signed chain head: the ledger's statement "my chain of `deployment` holds `height`
 * blocks and the newest one hashes to `headHash`". Gateways, OEMs and auditors keep the
 * newest head they were given (every accepted partial and query carries one, and
 * GET /v1/head serves it); the ledger keeps its own beside its file (`<file>.head`). A
 * chain that is shorter than a kept head, or holds another block at its height, has lost
 * or rewritten acknowledged transactions, and `privagg ledger verify --head` says so.
 *
 * `height` counts blocks (as GET /v1/blocks' `height` does): the head's block is the one at
 * height − 1, and the empty chain's head is height 0 with 32 zero bytes as its hash.
 * `atMs` is that block's time (0 for the empty chain), so a head is a function of its
 * block: no two valid heads name the same height with different hashes unless the chain forked.
 *
 * Signed message (Ed25519, the ledger's node key):
 *   "privagg/v1/chain-head" ‖ lengthPrefixed(deployment, u64 height, headHash, u64 atMs, publicKey)
 * The domain string keeps it apart from block signatures (which sign a bare header hash)
 * and from control messages; the public key inside binds the head to the key that signed it.
 */
export const CHAIN_HEAD_FORMAT = 'privagg-chain-head/1';
const DOMAIN = utf8('privagg/v1/chain-head');

export interface ChainHead {
  deployment: string;
  height: number;
  headHash: Buffer;
  atMs: number;
}

export interface SignedChainHead extends ChainHead {
  publicKey: Buffer;
  signature: Buffer;
}

/** The JSON form (head files, API responses): hashes, keys and signatures as lowercase hex. */
export const ChainHeadJson = z.strictObject({
  format: z.literal(CHAIN_HEAD_FORMAT),
  deployment: z.string().min(1).max(64),
  height: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
  headHash: z.string().regex(/^[0-9a-f]{64}$/),
  atMs: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
  publicKey: z.string().regex(/^[0-9a-f]{64}$/),
  signature: z.string().regex(/^[0-9a-f]{128}$/),
});
export type ChainHeadJson = z.output<typeof ChainHeadJson>;

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

export function chainHeadMessage(head: ChainHead, publicKey: Uint8Array): Buffer {
  return Buffer.concat([
    DOMAIN,
    lengthPrefixed(
      utf8(head.deployment),
      u64(head.height),
      head.headHash,
      u64(head.atMs),
      publicKey,
    ),
  ]);
}

export function signChainHead(signer: Ed25519PrivateKey, head: ChainHead): SignedChainHead {
  return {
    ...head,
    publicKey: signer.publicKey,
    signature: ed25519Sign(signer, chainHeadMessage(head, signer.publicKey)),
  };
}

/** The head of an empty chain. */
export function emptyChainHead(deployment: string): ChainHead {
  return { deployment, height: 0, headHash: GENESIS_PREVIOUS, atMs: 0 };
}

/**
 * Whether the signature verifies under the head's own key and, when `publicKey` is given,
 * that key is the expected one (a head signed by anyone else proves nothing).
 */
export function verifyChainHead(head: SignedChainHead, publicKey?: Uint8Array): boolean {
  if (publicKey && !Buffer.from(publicKey).equals(head.publicKey)) return false;
  return ed25519Verify(head.publicKey, chainHeadMessage(head, head.publicKey), head.signature);
}

export function chainHeadToJson(head: SignedChainHead): ChainHeadJson {
  return {
    format: CHAIN_HEAD_FORMAT,
    deployment: head.deployment,
    height: head.height,
    headHash: head.headHash.toString('hex'),
    atMs: head.atMs,
    publicKey: head.publicKey.toString('hex'),
    signature: head.signature.toString('hex'),
  };
}

/** Parses (does not verify) a head's JSON; MALFORMED_DATA when it is not one. */
export function chainHeadFromJson(value: unknown): SignedChainHead {
  const res = ChainHeadJson.safeParse(value);
  if (!res.success) {
    const issue = res.error.issues[0];
    throw new PrivaggError(
      ErrorCode.MALFORMED_DATA,
      `not a signed chain head (${issue ? `${issue.path.join('.') || 'value'}: ${issue.message}` : 'invalid'})`,
    );
  }
  const j = res.data;
  return {
    deployment: j.deployment,
    height: j.height,
    headHash: Buffer.from(j.headHash, 'hex'),
    atMs: j.atMs,
    publicKey: Buffer.from(j.publicKey, 'hex'),
    signature: Buffer.from(j.signature, 'hex'),
  };
}
