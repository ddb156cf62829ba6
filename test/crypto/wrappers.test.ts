import { createCipheriv, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aeadKey, aeadOpen, aeadSeal } from '../../src/crypto/aead.js';
import { constantTimeEqual, lengthPrefixed } from '../../src/crypto/bytes.js';
import {
  ed25519Check,
  ed25519KeyPair,
  ed25519PublicFromPrivate,
  ed25519Sign,
  ed25519Verify,
} from '../../src/crypto/ed25519.js';
import { hkdf } from '../../src/crypto/kdf.js';
import { macCheck, macKey, macTag, macVerify } from '../../src/crypto/mac.js';
import { x25519Agree, x25519KeyPair, x25519PublicFromPrivate } from '../../src/crypto/x25519.js';
import { ErrorCode } from '../../src/errors.js';

const hex = (s: string) => Buffer.from(s, 'hex');

function expectCode(fn: () => unknown, code: string): void {
  expect(fn).toThrowError(expect.objectContaining({ code }));
}

describe('HMAC-SHA256 (RFC 4231 vectors)', () => {
  it('test case 1', () => {
    const key = macKey(Buffer.alloc(20, 0x0b));
    expect(macTag(key, Buffer.from('Hi There')).toString('hex')).toBe(
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    );
  });
  it('test case 4, message given in parts', () => {
    const key = macKey(hex('0102030405060708090a0b0c0d0e0f10111213141516171819'));
    const msg = Buffer.alloc(50, 0xcd);
    expect(macTag(key, msg.subarray(0, 7), msg.subarray(7)).toString('hex')).toBe(
      '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
    );
  });
  it('verifies its own tags and rejects any flipped bit, wrong key or truncation', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 64 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.nat(255),
        (k, m, bit) => {
          const key = macKey(k);
          const tag = macTag(key, m);
          expect(macVerify(key, tag, m)).toBe(true);
          const bad = Buffer.from(tag);
          bad[bit % 32]! ^= 1 << (bit % 8);
          expect(macVerify(key, bad, m)).toBe(false);
          expect(macVerify(key, tag.subarray(0, 31), m)).toBe(false);
          const other = Buffer.from(k);
          other[0]! ^= 1;
          expect(macVerify(macKey(other), tag, m)).toBe(false);
        },
      ),
    );
  });
  it('matches raw node:crypto', () => {
    const k = Buffer.alloc(32, 9);
    const m = Buffer.from('privagg');
    expect(macTag(macKey(k), m)).toEqual(createHmac('sha256', k).update(m).digest());
  });
  it('throws BAD_MAC from macCheck and BAD_KEY for a short key', () => {
    const key = macKey(Buffer.alloc(32, 1));
    expectCode(() => macCheck(key, Buffer.alloc(32), Buffer.from('x')), ErrorCode.BAD_MAC);
    expectCode(() => macKey(Buffer.alloc(8)), ErrorCode.BAD_KEY);
  });
});

describe('HKDF-SHA256 (RFC 5869)', () => {
  it('test case 1', () => {
    const okm = hkdf(
      Buffer.alloc(22, 0x0b),
      hex('000102030405060708090a0b0c'),
      hex('f0f1f2f3f4f5f6f7f8f9'),
      42,
    );
    expect(okm.toString('hex')).toBe(
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
  });
  it('rejects an impossible length', () => {
    expectCode(
      () => hkdf(Buffer.alloc(32), Buffer.alloc(0), Buffer.alloc(0), 0),
      ErrorCode.INVALID_ARGUMENT,
    );
    expectCode(
      () => hkdf(Buffer.alloc(32), Buffer.alloc(0), Buffer.alloc(0), 9000),
      ErrorCode.INVALID_ARGUMENT,
    );
  });
});

describe('AES-256-GCM', () => {
  // The GCM specification (McGrew–Viega), test case 16: AES-256, 96-bit IV, with AAD.
  const key = aeadKey(hex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308'));
  const iv = hex('cafebabefacedbaddecaf888');
  const pt = hex(
    'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
  );
  const aad = hex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
  const ct =
    '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662';
  const tag = '76fc6ece0f4e1768cddf8853bb2d551b';

  it('GCM spec test case 16', () => {
    const sealed = aeadSeal(key, pt, { aad, nonce: iv });
    expect(sealed.toString('hex')).toBe(`cafebabefacedbaddecaf888${ct}${tag}`);
    expect(aeadOpen(key, sealed, aad)).toEqual(pt);
  });
  it('round-trips and rejects tampering, wrong AAD, wrong key, truncation', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.nat(),
        (m, a, pos) => {
          const sealed = aeadSeal(key, m, { aad: a });
          expect(aeadOpen(key, sealed, a)).toEqual(Buffer.from(m));
          const bad = Buffer.from(sealed);
          bad[pos % bad.length]! ^= 0x80;
          expectCode(() => aeadOpen(key, bad, a), ErrorCode.DECRYPT_FAILED);
          expectCode(
            () => aeadOpen(key, sealed, Buffer.concat([a, Buffer.of(1)])),
            ErrorCode.DECRYPT_FAILED,
          );
          expectCode(
            () => aeadOpen(aeadKey(Buffer.alloc(32, 3)), sealed, a),
            ErrorCode.DECRYPT_FAILED,
          );
          expectCode(() => aeadOpen(key, sealed.subarray(0, 27), a), ErrorCode.DECRYPT_FAILED);
        },
      ),
      { numRuns: 50 },
    );
  });
  it('draws a fresh nonce per message', () => {
    const a = aeadSeal(key, Buffer.from('same'));
    const b = aeadSeal(key, Buffer.from('same'));
    expect(a.subarray(0, 12).equals(b.subarray(0, 12))).toBe(false);
  });
  it('matches raw node:crypto', () => {
    const c = createCipheriv('aes-256-gcm', key.bytes, iv);
    c.setAAD(aad);
    const raw = Buffer.concat([iv, c.update(pt), c.final(), c.getAuthTag()]);
    expect(aeadSeal(key, pt, { aad, nonce: iv })).toEqual(raw);
  });
  it('rejects bad keys and nonces', () => {
    expectCode(() => aeadKey(Buffer.alloc(16)), ErrorCode.BAD_KEY);
    expectCode(() => aeadSeal(key, pt, { nonce: Buffer.alloc(8) }), ErrorCode.INVALID_ARGUMENT);
  });
});

describe('X25519 (RFC 7748 §6.1)', () => {
  const alicePriv = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
  const alicePub = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';
  const bobPriv = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
  const bobPub = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f';
  const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';

  it('derives the RFC public keys and shared secret', () => {
    expect(x25519PublicFromPrivate(alicePriv).toString('hex')).toBe(alicePub);
    expect(x25519PublicFromPrivate(bobPriv).toString('hex')).toBe(bobPub);
    expect(x25519Agree(alicePriv, hex(bobPub)).toString('hex')).toBe(shared);
    expect(x25519Agree(bobPriv, hex(alicePub)).toString('hex')).toBe(shared);
  });
  it('fresh pairs agree', () => {
    const a = x25519KeyPair();
    const b = x25519KeyPair();
    expect(x25519Agree(a.privateKey, b.publicKey)).toEqual(x25519Agree(b.privateKey, a.publicKey));
  });
  it('refuses a low-order peer point and malformed keys', () => {
    expectCode(() => x25519Agree(alicePriv, Buffer.alloc(32)), ErrorCode.BAD_KEY);
    expectCode(() => x25519Agree(alicePriv, Buffer.alloc(31)), ErrorCode.BAD_KEY);
  });
});

describe('Ed25519 (RFC 8032 §7.1)', () => {
  const sk = hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
  const pk = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
  const sig =
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';

  it('test 1 (empty message)', () => {
    expect(ed25519PublicFromPrivate(sk).toString('hex')).toBe(pk);
    expect(ed25519Sign(sk, Buffer.alloc(0)).toString('hex')).toBe(sig);
    expect(ed25519Verify(hex(pk), Buffer.alloc(0), hex(sig))).toBe(true);
  });
  it('rejects a changed message, signature or key without throwing', () => {
    const kp = ed25519KeyPair();
    const m = Buffer.from('block 7');
    const s = ed25519Sign(kp.privateKey, m);
    expect(ed25519Verify(kp.publicKey, m, s)).toBe(true);
    expect(ed25519Verify(kp.publicKey, Buffer.from('block 8'), s)).toBe(false);
    const bad = Buffer.from(s);
    bad[10]! ^= 1;
    expect(ed25519Verify(kp.publicKey, m, bad)).toBe(false);
    expect(ed25519Verify(kp.publicKey, m, s.subarray(0, 63))).toBe(false);
    expect(ed25519Verify(Buffer.alloc(32, 0xff), m, s)).toBe(false);
    expectCode(() => ed25519Check(kp.publicKey, Buffer.from('x'), s), ErrorCode.BAD_SIGNATURE);
  });
});

describe('bytes helpers', () => {
  it('length prefixing is injective where plain concatenation is not', () => {
    const a = lengthPrefixed(Buffer.from('ab'), Buffer.from('c'));
    const b = lengthPrefixed(Buffer.from('a'), Buffer.from('bc'));
    expect(constantTimeEqual(a, b)).toBe(false);
    expect(constantTimeEqual(a, Buffer.from(a))).toBe(true);
    expect(constantTimeEqual(a, a.subarray(1))).toBe(false);
  });
});
