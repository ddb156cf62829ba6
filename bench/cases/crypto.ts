import { createCipheriv, createHmac, randomFillSync, timingSafeEqual } from 'node:crypto';
import { aeadKey, aeadOpen, aeadSeal } from '../../src/crypto/aead.js';
import {
  ed25519KeyPair,
  ed25519PrivateKey,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
} from '../../src/crypto/ed25519.js';
import { hkdf } from '../../src/crypto/kdf.js';
import { macKey, macTag, macVerify } from '../../src/crypto/mac.js';
import { x25519Agree, x25519KeyPair, x25519PrivateKey } from '../../src/crypto/x25519.js';
import type { BenchCase } from '../harness.js';

// 64-byte messages: about the size of one device report's authenticated fields.
const msg = Buffer.alloc(64, 0x5a);
const keyBytes = randomFillSync(Buffer.alloc(32));
const mk = macKey(keyBytes);
const ak = aeadKey(keyBytes);
const nonce = randomFillSync(Buffer.alloc(12));
const tag = macTag(mk, msg);
const sealed = aeadSeal(ak, msg, { nonce });
const alice = x25519KeyPair();
const bob = x25519KeyPair();
const signer = ed25519KeyPair();
const signature = ed25519Sign(signer.privateKey, msg);
const signerKey = ed25519PrivateKey(signer.privateKey);
const signerPublic = ed25519PublicKey(signer.publicKey);
const alicePrivate = x25519PrivateKey(alice.privateKey);

export const cases: BenchCase[] = [
  {
    group: 'crypto',
    name: 'raw node:crypto HMAC-SHA256 64 B',
    run: () => createHmac('sha256', keyBytes).update(msg).digest(),
  },
  {
    group: 'crypto',
    name: 'macTag HMAC-SHA256 64 B',
    run: () => macTag(mk, msg),
    baseline: 'raw node:crypto HMAC-SHA256 64 B',
    target: { maxRatio: 1.1 },
  },
  {
    group: 'crypto',
    name: 'raw node:crypto HMAC verify 64 B',
    run: () => timingSafeEqual(createHmac('sha256', keyBytes).update(msg).digest(), tag),
  },
  {
    group: 'crypto',
    name: 'macVerify HMAC-SHA256 64 B',
    run: () => macVerify(mk, tag, msg),
    baseline: 'raw node:crypto HMAC verify 64 B',
    target: { maxRatio: 1.1 },
  },
  {
    group: 'crypto',
    name: 'raw node:crypto AES-256-GCM seal 64 B',
    run: () => {
      const c = createCipheriv('aes-256-gcm', keyBytes, nonce);
      const body = c.update(msg);
      c.final();
      return Buffer.concat([nonce, body, c.getAuthTag()]);
    },
  },
  {
    group: 'crypto',
    name: 'aeadSeal AES-256-GCM 64 B (given nonce)',
    run: () => aeadSeal(ak, msg, { nonce }),
    baseline: 'raw node:crypto AES-256-GCM seal 64 B',
    target: { maxRatio: 1.1 },
  },
  {
    group: 'crypto',
    name: 'aeadSeal AES-256-GCM 64 B (random nonce)',
    run: () => aeadSeal(ak, msg),
    baseline: 'raw node:crypto AES-256-GCM seal 64 B',
  },
  {
    group: 'crypto',
    name: 'aeadOpen AES-256-GCM 64 B',
    run: () => aeadOpen(ak, sealed),
  },
  {
    group: 'crypto',
    name: 'hkdf SHA-256 32 B',
    run: () => hkdf(keyBytes, nonce, msg),
  },
  {
    group: 'crypto',
    name: 'x25519Agree (raw keys)',
    run: () => x25519Agree(alice.privateKey, bob.publicKey),
  },
  {
    group: 'crypto',
    name: 'x25519Agree (imported private key)',
    run: () => x25519Agree(alicePrivate, bob.publicKey),
  },
  {
    group: 'crypto',
    name: 'ed25519Sign 64 B (imported private key)',
    run: () => ed25519Sign(signerKey, msg),
  },
  {
    group: 'crypto',
    name: 'ed25519Verify 64 B',
    run: () => ed25519Verify(signer.publicKey, msg, signature),
  },
  {
    // How the ledger checks partials and queries: each sender's key imported once.
    group: 'crypto',
    name: 'ed25519Verify 64 B (imported public key)',
    run: () => ed25519Verify(signerPublic, msg, signature),
    baseline: 'ed25519Verify 64 B',
  },
  {
    // What a partial's signature costs its gateway against the HMAC it replaced.
    group: 'crypto',
    name: 'ed25519Sign 64 B, against macTag',
    run: () => ed25519Sign(signerKey, msg),
    baseline: 'macTag HMAC-SHA256 64 B',
  },
];
