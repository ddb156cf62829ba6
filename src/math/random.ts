import { createCipheriv, createHash, randomFillSync } from 'node:crypto';
import { ensure } from '../errors.js';

/**
 * The one source of randomness in privagg. Keys, shares, masks and noise all come
 * from a RandomSource; production code uses `systemRandom` (node:crypto's CSPRNG),
 * tests inject `seededRandom(seed)` so a statistical test is reproducible.
 *
 * Bytes are drawn from a pool refilled in blocks, because one randomFillSync call per
 * 8-byte draw would dominate the cost of a Shamir split.
 */
export interface RandomSource {
  /** Fills `out` with uniformly random bytes. */
  fill(out: Uint8Array): void;
  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number;
  /** A uniform 64-bit unsigned integer. */
  nextBigUint64(): bigint;
}

const POOL_BYTES = 8192;

class PooledRandom implements RandomSource {
  private readonly pool = Buffer.allocUnsafe(POOL_BYTES);
  private offset = POOL_BYTES;

  constructor(private readonly refill: (buf: Buffer) => void) {}

  private take(n: number): number {
    if (this.offset + n > POOL_BYTES) {
      this.refill(this.pool);
      this.offset = 0;
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }

  fill(out: Uint8Array): void {
    if (out.length > POOL_BYTES / 4) {
      this.refill(Buffer.from(out.buffer, out.byteOffset, out.byteLength));
      return;
    }
    const at = this.take(out.length);
    this.pool.copy(out, 0, at, at + out.length);
  }

  nextUint32(): number {
    return this.pool.readUInt32LE(this.take(4));
  }

  nextBigUint64(): bigint {
    return this.pool.readBigUInt64LE(this.take(8));
  }
}

/** node:crypto's CSPRNG. The default everywhere outside tests. */
export const systemRandom: RandomSource = new PooledRandom((buf) => {
  randomFillSync(buf);
});

/**
 * A deterministic stream for tests and reproducible experiments: the AES-256-CTR
 * keystream under key SHA-256("privagg/seeded-random/v1" ‖ seed). Never use it for
 * keys or noise in a deployment: anyone who knows the seed knows every draw.
 */
export function seededRandom(seed: string | number | bigint): RandomSource {
  const key = createHash('sha256')
    .update(`privagg/seeded-random/v1|${String(seed)}`)
    .digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(POOL_BYTES);
  return new PooledRandom((buf) => {
    const input =
      buf.length <= POOL_BYTES ? zeros.subarray(0, buf.length) : Buffer.alloc(buf.length);
    const block = cipher.update(input);
    block.copy(buf);
  });
}

/** Uniform integer in [0, n) for 1 ≤ n ≤ 2^32, by rejection (no modulo bias). */
export function uniformInt(rng: RandomSource, n: number): number {
  ensure(
    Number.isInteger(n) && n >= 1 && n <= 2 ** 32,
    'uniformInt needs an integer 1 ≤ n ≤ 2^32',
    { n },
  );
  if (n === 1) return 0;
  // Accept draws below the largest multiple of n that fits in 32 bits.
  const limit = 2 ** 32 - (2 ** 32 % n);
  for (;;) {
    const x = rng.nextUint32();
    if (x < limit) return x % n;
  }
}

/** Uniform bigint in [0, n) for n ≥ 1, by masked rejection (expected < 2 draws). */
export function uniformBigint(rng: RandomSource, n: bigint): bigint {
  ensure(n >= 1n, 'uniformBigint needs n ≥ 1', { n: n.toString() });
  if (n === 1n) return 0n;
  if (n <= 0x1_0000_0000n) return BigInt(uniformInt(rng, Number(n)));
  const bits = (n - 1n).toString(2).length;
  const bytes = Math.ceil(bits / 8);
  const mask = (1n << BigInt(bits)) - 1n;
  const buf = new Uint8Array(bytes);
  for (;;) {
    let x: bigint;
    if (bytes <= 8) {
      x = rng.nextBigUint64() & mask;
    } else {
      rng.fill(buf);
      x = BigInt(`0x${Buffer.from(buf).toString('hex')}`) & mask;
    }
    if (x < n) return x;
  }
}

/** Uniform double in [0, 1) with 53 random bits (every representable multiple of 2^-53). */
export function uniformUnit(rng: RandomSource): number {
  const hi = rng.nextUint32() >>> 5; // 27 bits
  const lo = rng.nextUint32() >>> 6; // 26 bits
  return (hi * 67108864 + lo) / 9007199254740992;
}
