import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, isPrivaggError } from '../../../src/errors.js';
import { seededRandom } from '../../../src/math/random.js';
import {
  decryptSum,
  encryptValue,
  multiplyCiphertexts,
} from '../../../src/schemes/joyeLibert/cipher.js';
import { hashToGroup } from '../../../src/schemes/joyeLibert/hashToGroup.js';
import {
  bitLength,
  fromBytesBE,
  gcd,
  modInverse,
  modPow,
  toBytesBE,
} from '../../../src/schemes/joyeLibert/modArith.js';
import { generateModulus } from '../../../src/schemes/joyeLibert/modulus.js';

/**
 * The algebra on its own. The known-answer test runs the paper's equations with N = 5·7,
 * small enough that every number below can be checked with a pocket calculator; the roles
 * call the same functions with the deployment's N (test-only here is the size, not the path).
 */
describe('Joye–Libert by hand, N = 35', () => {
  const N = 35n; // p = 5, q = 7; N² = 1225
  const h = 2n; // H(t), gcd(2, 35) = 1
  const s1 = 3n;
  const s2 = 5n; // s_0 = −(3 + 5) = −8
  const x1 = 4n;
  const x2 = 6n;

  it('encrypts, multiplies and decrypts as computed by hand', () => {
    // y1 = (1 + 4·35) · 2^3 = 141 · 8 = 1128 (mod 1225)
    expect(encryptValue(x1, s1, h, N)).toBe(1128n);
    // y2 = (1 + 6·35) · 2^5 = 211 · 32 = 6752 = 5·1225 + 627
    expect(encryptValue(x2, s2, h, N)).toBe(627n);
    // Y = 1128 · 627 = 707256 = 577·1225 + 431
    expect(multiplyCiphertexts([1128n, 627n], N)).toBe(431n);
    // V = Y · 2^-8: 2^8 = 256, and 256 · 351 = 89856 = 73·1225 + 431, so V = 351 = 1 + 35·10
    expect(modInverse(256n, 1225n)).toBe(646n); // 256 · 646 = 165376 = 135·1225 + 1
    expect((431n * 646n) % 1225n).toBe(351n);
    expect(decryptSum(431n, 8n, h, N)).toBe(10n);
  });

  it('does not decrypt a product missing a device (1128 · 646 = 1038, and 1037 is not a multiple of 35)', () => {
    expect((1128n * 646n) % 1225n).toBe(1038n);
    expect(decryptSum(1128n, 8n, h, N)).toBeUndefined();
    expect(decryptSum(627n, 8n, h, N)).toBeUndefined();
  });

  it('does not decrypt without s_0: (431 − 1) / 35 is not an integer', () => {
    expect((431n - 1n) % N).not.toBe(0n);
  });

  it('refuses plaintexts outside [0, N)', () => {
    expect(() => encryptValue(35n, s1, h, N)).toThrow(/\[0, N\)/);
    expect(() => encryptValue(-1n, s1, h, N)).toThrow(/\[0, N\)/);
  });
});

describe('modular arithmetic', () => {
  const naivePow = (b: bigint, e: bigint, m: bigint) => {
    let r = 1n % m;
    let x = ((b % m) + m) % m;
    for (let k = e; k > 0n; k >>= 1n) {
      if (k & 1n) r = (r * x) % m;
      x = (x * x) % m;
    }
    return r;
  };

  it('modPow agrees with plain square-and-multiply at every window width', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(1n << 300n), max: 1n << 300n }),
        fc.bigInt({ min: 0n, max: 1n << 1100n }),
        fc.bigInt({ min: 1n, max: 1n << 400n }),
        (b, e, m) => modPow(b, e, m) === naivePow(b, e, m),
      ),
      { numRuns: 60 },
    );
    expect(modPow(7n, 0n, 13n)).toBe(1n);
    expect(modPow(7n, 5n, 1n)).toBe(0n);
    expect(() => modPow(2n, -1n, 7n)).toThrow(/exponent/);
  });

  it('modInverse inverts units and refuses the rest', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 1n << 200n }),
        fc.bigInt({ min: 2n, max: 1n << 200n }),
        (a, m) => {
          if (gcd(a, m) !== 1n) {
            try {
              modInverse(a, m);
              return false;
            } catch (e) {
              return isPrivaggError(e, ErrorCode.NOT_INVERTIBLE);
            }
          }
          return (modInverse(a, m) * a) % m === 1n % m;
        },
      ),
      { numRuns: 100 },
    );
  });

  it('fixed-width big-endian bytes round-trip and refuse what does not fit', () => {
    expect(toBytesBE(0x0102n, 4).toString('hex')).toBe('00000102');
    expect(fromBytesBE(Buffer.from('00000102', 'hex'))).toBe(0x0102n);
    expect(() => toBytesBE(1n << 32n, 4)).toThrow(/fit/);
  });
});

describe('the modulus', () => {
  it('is a product of two primes of |N|/2 bits with exactly |N| bits, the same for the same seed', () => {
    const a = generateModulus(512, seededRandom('n'));
    expect(bitLength(a)).toBe(512);
    expect(generateModulus(512, seededRandom('n'))).toBe(a);
    expect(generateModulus(512, seededRandom('m'))).not.toBe(a);
  });
});

describe('H: counter-mode SHA-256 to Z_{N²}^*', () => {
  const N = generateModulus(512, seededRandom('h'));
  const deployment = Buffer.alloc(16, 0xab);

  /** The construction written out again from its description, as an independent check. */
  function expected(group: number, round: number, dimension: number): bigint {
    const u32 = (x: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(x);
      return b;
    };
    const lp = (b: Buffer) => Buffer.concat([u32(b.length), b]);
    const prefix = Buffer.concat(
      [
        Buffer.from('privagg/joye-libert/v1/H'),
        deployment,
        u32(group),
        u32(round),
        u32(dimension),
        u32(0),
      ].map(lp),
    );
    const bytes = (2 * 512 + 128) / 8; // 144 bytes: 4.5 SHA-256 blocks, 5 computed
    const blocks = [0, 1, 2, 3, 4].map((c) =>
      createHash('sha256').update(prefix).update(u32(c)).digest(),
    );
    return BigInt(`0x${Buffer.concat(blocks).subarray(0, bytes).toString('hex')}`) % (N * N);
  }

  it('matches the construction: 2|N| + 128 bits of SHA-256(label ‖ deployment ‖ group ‖ round ‖ dim ‖ attempt ‖ counter) mod N²', () => {
    for (const [g, r, j] of [
      [0, 0, 0],
      [3, 17, 2],
      [1, 0xffff_ffff, 65535],
    ] as const) {
      const h = hashToGroup({ deployment, group: g, round: r, dimension: j }, N);
      expect(h).toBe(expected(g, r, j));
      expect(gcd(h, N)).toBe(1n);
    }
  });

  it('gives every group, round, dimension and deployment its own base', () => {
    const base = { deployment, group: 0, round: 5, dimension: 0 };
    const seen = new Set(
      [
        base,
        { ...base, group: 1 },
        { ...base, round: 6 },
        { ...base, dimension: 1 },
        { ...base, deployment: Buffer.alloc(16, 0xac) },
      ].map((t) => hashToGroup(t, N)),
    );
    expect(seen.size).toBe(5);
  });
});
