import { ErrorCode, PrivaggError } from '../../errors.js';
import type { Dimension } from '../scheme.js';

/**
 * Readings as the test schemes send them: round(x · scale) as an unsigned integer, and the
 * contributor set as a bitmap in 64-bit words.
 */
export function toFixed(x: number, scale: number, d: Dimension): bigint {
  if (!Number.isFinite(x) || x < 0 || x > d.max) {
    throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, `${d.name} = ${x} is outside [0, ${d.max}]`);
  }
  return BigInt(Math.round(x * scale));
}

export function fromFixed(sum: bigint, scale: number): number {
  return Number(sum) / scale;
}

/** FIXED_POINT_OUT_OF_RANGE if a received value exceeds its dimension's public bound. */
export function checkRange(x: bigint, scale: number, max: number, dimension: number): void {
  if (x > BigInt(Math.round(max * scale))) {
    throw new PrivaggError(
      ErrorCode.FIXED_POINT_OUT_OF_RANGE,
      `dimension ${dimension}: ${x} exceeds ${max} × ${scale}`,
    );
  }
}

export function bitmapWordCount(n: number): number {
  return Math.ceil(n / 64);
}

export function bitmapWords(members: Iterable<number>, n: number): bigint[] {
  const words = new Array<bigint>(bitmapWordCount(n)).fill(0n);
  for (const m of members) words[m >> 6]! |= 1n << BigInt(m & 63);
  return words;
}

/** The members of a bitmap; MALFORMED_MESSAGE if it names an index ≥ n. */
export function bitmapMembers(words: readonly bigint[], n: number): number[] {
  const out: number[] = [];
  words.forEach((w, at) => {
    for (let b = 0; b < 64; b++) {
      if ((w >> BigInt(b)) & 1n) {
        const i = at * 64 + b;
        if (i >= n) throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, `bitmap names ${i} ≥ ${n}`);
        out.push(i);
      }
    }
  });
  return out;
}
