import { AEAD_OVERHEAD_BYTES, aeadSeal } from '../../crypto/aead.js';
import { MAC_TAG_BYTES } from '../../crypto/mac.js';
import type { ShamirParams } from '../../crypto/shamir.js';
import { splitVector } from '../../crypto/shamir.js';
import { type RandomSource, systemRandom } from '../../math/random.js';
import { writeElements } from '../../wire/fieldElements.js';
import { REPORT_HEADER_BYTES, writeReportHeader } from '../../wire/maas.js';
import type { DeviceKey } from './keys.js';
import type { MaasParams } from './params.js';
import type { ReadingCodec } from './readingCodec.js';
import { computeTag } from './tags.js';

/**
 * DS_i (paper §V.C, Algorithm 1): reading → normalise → LDP perturb → fixed-point →
 * Shamir split → one authenticated (and, by default, sealed) message per gateway.
 */
export interface AddressedMessage {
  /** Gateway index l (1..m) the message is for. */
  gateway: number;
  bytes: Buffer;
}

export interface DeviceContext {
  key: DeviceKey;
  params: MaasParams;
  shamir: ShamirParams;
  codec: ReadingCodec;
}

export function deviceReport(
  ctx: DeviceContext,
  round: number,
  reading: readonly number[],
  nowMs: number,
  rng: RandomSource,
): AddressedMessage[] {
  const { key, params, shamir, codec } = ctx;
  const shareVectors = splitVector(shamir, codec.encode(reading, rng), rng);
  // shareBytes(params), without its bigint-to-string bit count on every report.
  const width = Math.ceil(params.field.bits / 8);
  const sealed = params.modes.aead;
  const perDimension = params.modes.layout === 'per-dimension';
  const mode = params.modes.mac;
  const w = params.dimensions.length;
  const count = perDimension ? 1 : w;
  const plainLength = count * width;
  const authenticatedLength =
    REPORT_HEADER_BYTES + plainLength + (sealed ? AEAD_OVERHEAD_BYTES : 0);
  const plain = sealed ? Buffer.allocUnsafe(plainLength) : undefined;
  const out: AddressedMessage[] = [];
  for (const vector of shareVectors) {
    const l = vector.x;
    const tagKey = { mac: key.gatewayMac[l - 1]!, identity: key.identity };
    // One message per gateway ('vector'), or one per dimension ('per-dimension').
    for (let g = 0; g < (perDimension ? w : 1); g++) {
      // Header, payload and tag are written into one buffer: no concatenation copies.
      const bytes = Buffer.allocUnsafe(authenticatedLength + MAC_TAG_BYTES);
      writeReportHeader(
        {
          sealed,
          perDimension,
          width: count,
          dimension: g,
          gateway: l,
          ian: key.ian,
          device: key.device,
          round,
          timestamp: nowMs,
        },
        bytes,
      );
      const target = plain ?? bytes;
      const at = plain ? 0 : REPORT_HEADER_BYTES;
      writeElements(vector.ys, g, count, width, target, at);
      if (plain) {
        const header = bytes.subarray(0, REPORT_HEADER_BYTES);
        bytes.set(
          // Nonces always come from node:crypto, never from the injected source: a test's
          // seeded source replayed across rounds must not repeat a nonce under a link key.
          aeadSeal(key.gatewayAead[l - 1]!, plain, { aad: header, rng: systemRandom }),
          REPORT_HEADER_BYTES,
        );
      }
      const authenticated = bytes.subarray(0, authenticatedLength);
      bytes.set(computeTag(mode, tagKey, authenticated), authenticatedLength);
      out.push({ gateway: l, bytes });
    }
  }
  return out;
}
