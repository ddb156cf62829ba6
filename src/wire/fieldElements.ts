import { ErrorCode, PrivaggError } from '../errors.js';

/** Big-endian fixed-width field elements: `width` bytes each, every value < p. */
export function encodeElements(values: readonly bigint[], width: number): Buffer {
  const out = Buffer.alloc(values.length * width);
  for (let i = 0; i < values.length; i++) {
    let v = values[i]!;
    for (let b = width - 1; b >= 0; b--) {
      out[i * width + b] = Number(v & 0xffn);
      v >>= 8n;
    }
    if (v !== 0n) throw new Error(`codec bug: element does not fit ${width} bytes`);
  }
  return out;
}

/** Decodes `count` elements; one ≥ p is SHARE_OUT_OF_RANGE (a share must be a field element). */
export function decodeElements(bytes: Uint8Array, count: number, width: number, p: bigint): bigint[] {
  if (bytes.length !== count * width) {
    throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, `expected ${count} element(s) of ${width} bytes`, {
      length: bytes.length,
    });
  }
  const out = new Array<bigint>(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) {
    let v = 0n;
    let b = 0;
    for (; b + 8 <= width; b += 8) v = (v << 64n) | view.getBigUint64(i * width + b);
    for (; b < width; b++) v = (v << 8n) | BigInt(bytes[i * width + b]!);
    if (v >= p) {
      throw new PrivaggError(ErrorCode.SHARE_OUT_OF_RANGE, 'share is not a field element (≥ p)', { index: i });
    }
    out[i] = v;
  }
  return out;
}
