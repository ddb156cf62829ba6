import { ErrorCode, PrivaggError } from '../errors.js';

/** Big-endian fixed-width field elements: `width` bytes each, every value < p. */
export function encodeElements(values: readonly bigint[], width: number): Buffer {
  const out = Buffer.alloc(values.length * width);
  writeElements(values, 0, values.length, width, out, 0);
  return out;
}

let limitWidth = 8;
let limit = 1n << 64n;

/**
 * Writes values[start .. start + count) big-endian, `width` bytes each, into `out` from
 * `at`: the in-place form of encodeElements, so a device builds a message in one buffer.
 * DataView.setBigUint64 writes a 64-bit word without the bigint shifts and masks of a
 * byte loop (~7× faster; this was 15% of a device report).
 */
export function writeElements(
  values: readonly bigint[],
  start: number,
  count: number,
  width: number,
  out: Uint8Array,
  at: number,
): void {
  if (width !== limitWidth) {
    limitWidth = width;
    limit = 1n << BigInt(8 * width);
  }
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < count; i++) {
    const value = values[start + i]!;
    if (value < 0n || value >= limit)
      throw new Error(`codec bug: element does not fit ${width} bytes`);
    const base = at + i * width;
    if (width === 8) {
      view.setBigUint64(base, value);
      continue;
    }
    let v = value;
    let b = base + width;
    for (; b - 8 >= base; b -= 8) {
      view.setBigUint64(b - 8, BigInt.asUintN(64, v));
      v >>= 64n;
    }
    for (; b > base; b--) {
      out[b - 1] = Number(v & 0xffn);
      v >>= 8n;
    }
  }
}

/** Decodes `count` elements; one ≥ p is SHARE_OUT_OF_RANGE (a share must be a field element). */
export function decodeElements(
  bytes: Uint8Array,
  count: number,
  width: number,
  p: bigint,
): bigint[] {
  checkLength(bytes, count, width);
  const out = new Array<bigint>(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) {
    let v = 0n;
    let b = 0;
    for (; b + 8 <= width; b += 8) v = (v << 64n) | view.getBigUint64(i * width + b);
    for (; b < width; b++) v = (v << 8n) | BigInt(bytes[i * width + b]!);
    if (v >= p) {
      throw new PrivaggError(ErrorCode.SHARE_OUT_OF_RANGE, 'share is not a field element (≥ p)', {
        index: i,
      });
    }
    out[i] = v;
  }
  return out;
}

function checkLength(bytes: Uint8Array, count: number, width: number): void {
  if (bytes.length !== count * width) {
    throw new PrivaggError(
      ErrorCode.MALFORMED_MESSAGE,
      `expected ${count} element(s) of ${width} bytes`,
      {
        length: bytes.length,
      },
    );
  }
}

/**
 * Decodes wire elements straight into the split-limb form of PrimeField.pack (32-bit
 * limbs, least significant first, `limbs` per element): no bigint per share, so a
 * gateway can sum a round's shares with PrimeField.sumPacked. Same checks and errors as
 * decodeElements: a wrong length is MALFORMED_MESSAGE, an element ≥ p SHARE_OUT_OF_RANGE.
 */
export class ElementLimbDecoder {
  /** 32-bit limbs per element. */
  readonly limbs: number;
  /** p's limbs, least significant first. */
  private readonly pLimbs: Uint32Array;

  constructor(
    readonly width: number,
    readonly p: bigint,
  ) {
    this.limbs = Math.max(1, Math.ceil(p.toString(2).length / 32));
    this.pLimbs = new Uint32Array(this.limbs);
    let x = p;
    for (let j = 0; j < this.limbs; j++) {
      this.pLimbs[j] = Number(x & 0xffffffffn);
      x >>= 32n;
    }
  }

  /** Writes `count` elements' limbs to `out` from index `at` (count · limbs entries). */
  decodeInto(bytes: Uint8Array, count: number, out: Uint32Array, at: number): void {
    const { width, limbs: L, pLimbs } = this;
    checkLength(bytes, count, width);
    for (let i = 0; i < count; i++) {
      const base = i * width;
      const dst = at + i * L;
      // Bytes above the L limbs make the element ≥ 2^(32L) > p.
      let high = 0;
      for (let b = 0; b < width - 4 * L; b++) high |= bytes[base + b]!;
      let end = base + width;
      for (let j = 0; j < L; j++) {
        const start = Math.max(base, end - 4);
        let limb = 0;
        for (let b = start; b < end; b++) limb = limb * 256 + bytes[b]!;
        out[dst + j] = limb;
        end = start;
      }
      // Compare with p from the most significant limb down.
      let below = false;
      if (high === 0) {
        for (let j = L - 1; j >= 0; j--) {
          const x = out[dst + j]!;
          const y = pLimbs[j]!;
          if (x !== y) {
            below = x < y;
            break;
          }
        }
      }
      if (!below) {
        throw new PrivaggError(ErrorCode.SHARE_OUT_OF_RANGE, 'share is not a field element (≥ p)', {
          index: i,
        });
      }
    }
  }
}
