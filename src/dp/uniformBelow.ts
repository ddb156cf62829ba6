import type { RandomSource } from '../math/random.js';

/**
 * Uniform integers for the exact samplers' inner loops. `uniformInt` in src/math validates
 * its argument on every call and stops at 2^32; the samplers call this millions of times
 * per second with denominators d·K that can pass 2^32, so this internal variant trusts its
 * caller (1 ≤ n ≤ 2^53, an integer) and reaches 2^53. Exact: rejection, no modulo bias.
 */
const TWO_32 = 4294967296;
const TWO_53 = 9007199254740992;

export function uniformBelow(rng: RandomSource, n: number): number {
  if (n <= TWO_32) {
    if (n === 1) return 0;
    const limit = TWO_32 - (TWO_32 % n);
    for (;;) {
      const x = rng.nextUint32();
      if (x < limit) return x % n;
    }
  }
  const limit = TWO_53 - (TWO_53 % n);
  for (;;) {
    // 21 + 32 = 53 uniform bits, an exact integer in a double.
    const x = (rng.nextUint32() >>> 11) * TWO_32 + rng.nextUint32();
    if (x < limit) return x % n;
  }
}

/** One fair bit. */
export function fairBit(rng: RandomSource): boolean {
  return (rng.nextUint32() & 1) === 1;
}
