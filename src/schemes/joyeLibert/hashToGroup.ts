import { lengthPrefixed, sha256, utf8 } from '../../crypto/bytes.js';
import { bitLength, fromBytesBE, gcd } from './modArith.js';

/**
 * H: (deployment, group, round, dimension) → Z_{N²}^*, the random oracle of Joye–Libert
 * (the paper's H(t)). SHA-256 in counter mode is expanded to 2|N| + 128 bits and reduced
 * mod N², so the result is within 2^-128 of uniform on Z_{N²}.
 *
 * Every input is in the hash, for three reasons: the deployment id keeps one deployment's
 * masks unrelated to another's that reuses N; the round is the paper's time period t (a
 * mask H(t)^{s_i} used twice would let anyone divide two ciphertexts and learn the
 * difference of the readings); and the dimension gives each of a device's w ciphertexts
 * of one round its own base for the same reason. Group is there so no two groups ever
 * share a base, though their keys are independent anyway.
 *
 * A result sharing a factor with N (or 0) would not be in Z_{N²}^*; finding one means
 * factoring N, so it never happens in practice, but the attempt counter makes the
 * function total and deterministic all the same.
 */
const LABEL = utf8('privagg/joye-libert/v1/H');

function u32(x: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(x >>> 0);
  return b;
}

export interface HashInput {
  readonly deployment: Uint8Array;
  readonly group: number;
  readonly round: number;
  readonly dimension: number;
}

export function hashToGroup(t: HashInput, modulus: bigint): bigint {
  const modulusSquared = modulus * modulus;
  const bytes = Math.ceil((2 * bitLength(modulus) + 128) / 8);
  for (let attempt = 0; ; attempt++) {
    const prefix = lengthPrefixed(
      LABEL,
      t.deployment,
      u32(t.group),
      u32(t.round),
      u32(t.dimension),
      u32(attempt),
    );
    const blocks: Buffer[] = [];
    for (let counter = 0; 32 * counter < bytes; counter++)
      blocks.push(sha256(prefix, u32(counter)));
    const h = fromBytesBE(Buffer.concat(blocks).subarray(0, bytes)) % modulusSquared;
    if (h !== 0n && gcd(h, modulus) === 1n) return h;
  }
}
