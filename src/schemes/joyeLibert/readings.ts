import { ErrorCode, PrivaggError } from '../../errors.js';
import type { Dimension } from '../scheme.js';

/**
 * Readings as plaintexts: x ∈ [0, max] becomes round(x · scale) (Math.round: to nearest,
 * ties up), a non-negative integer the scheme adds exactly. The recovered sum is divided by
 * `scale` again, so with the default scale 1 integer readings come back exact and
 * fractional ones rounded per reading.
 *
 * The bound matters beyond input hygiene: the center decrypts Σx mod N and refuses a
 * decrypted sum above n · round(max · scale), which is how a product missing a device's
 * key (a random residue, almost surely huge) shows itself.
 */
export function toPlaintext(x: number, scale: number, d: Dimension): bigint {
  if (!Number.isFinite(x) || x < 0 || x > d.max)
    throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, `${d.name} = ${x} is outside [0, ${d.max}]`);
  return BigInt(Math.round(x * scale));
}

/** The largest plaintext one device can send in dimension d. */
export function maxPlaintext(scale: number, d: Dimension): bigint {
  return BigInt(Math.round(d.max * scale));
}

export function fromPlaintextSum(sum: bigint, scale: number): number {
  return Number(sum) / scale;
}
