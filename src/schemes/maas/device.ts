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
import { encodeProofPayload, reportValidityContext, reportValidityFor } from './reportValidity.js';
import { computeTag } from './tags.js';
import type { DeviceValidityReport } from './validity/shares.js';

/**
 * DS_i (paper §V.C, Algorithm 1): reading → normalise → LDP perturb → fixed-point →
 * Shamir split → one authenticated (and, by default, sealed) message per gateway. With
 * input validity on (the default), the split is of the range encoding with its proof
 * (docs/VALIDITY.md).
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
  const values = ctx.codec.encode(reading, rng);
  const validity = reportValidityFor(ctx.params);
  if (!validity) return devicePlainReport(ctx, round, values, nowMs, rng);
  const { key, params } = ctx;
  const report = validity.shareReport(
    values,
    reportValidityContext(params, key.ian, key.device, round),
    rng,
  );
  return deviceProvenReport(ctx, round, report, nowMs);
}

/**
 * Input validity on: gateway l's message carries its share of the encoded measurement
 * and of the proof, its blind and every gateway's parts (reportValidity.ts). Exposed so a
 * test or the demo can play a keyed device that proves a value out of range.
 */
export function deviceProvenReport(
  ctx: DeviceContext,
  round: number,
  report: DeviceValidityReport,
  nowMs: number,
): AddressedMessage[] {
  const validity = reportValidityFor(ctx.params);
  if (!validity) throw new Error('deviceProvenReport: the deployment has no input validity');
  return sealAndTag(ctx, round, nowMs, true, (l, _g) =>
    encodeProofPayload(validity, report.shares[l - 1]!, report.parts),
  );
}

/**
 * Input validity off: the w encoded values, Shamir-split, one share vector per gateway
 * (or per gateway and dimension in the paper's layout). Exposed so a test can play a
 * keyed device that shares a value out of range.
 */
export function devicePlainReport(
  ctx: DeviceContext,
  round: number,
  values: readonly bigint[],
  nowMs: number,
  rng: RandomSource,
): AddressedMessage[] {
  const { params, shamir } = ctx;
  const shareVectors = splitVector(shamir, values, rng);
  // shareBytes(params), without its bigint-to-string bit count on every report.
  const width = Math.ceil(params.field.bits / 8);
  const perDimension = params.modes.layout === 'per-dimension';
  const count = perDimension ? 1 : params.dimensions.length;
  return sealAndTag(ctx, round, nowMs, false, (l, g) => {
    const plain = Buffer.allocUnsafe(count * width);
    writeElements(shareVectors[l - 1]!.ys, g, count, width, plain, 0);
    return plain;
  });
}

/**
 * One authenticated (and, by default, sealed) message per gateway — or per gateway and
 * dimension in the paper's layout — around the payload `payloadFor(l, g)` gives.
 */
function sealAndTag(
  ctx: DeviceContext,
  round: number,
  nowMs: number,
  proven: boolean,
  payloadFor: (gateway: number, dimension: number) => Buffer,
): AddressedMessage[] {
  const { key, params, shamir } = ctx;
  const sealed = params.modes.aead;
  const perDimension = params.modes.layout === 'per-dimension';
  const mode = params.modes.mac;
  const w = params.dimensions.length;
  const out: AddressedMessage[] = [];
  for (let l = 1; l <= shamir.shareCount; l++) {
    const tagKey = { mac: key.gatewayMac[l - 1]!, identity: key.identity };
    for (let g = 0; g < (perDimension ? w : 1); g++) {
      const plain = payloadFor(l, g);
      const authenticatedLength =
        REPORT_HEADER_BYTES + plain.length + (sealed ? AEAD_OVERHEAD_BYTES : 0);
      // Header, payload and tag are written into one buffer: no concatenation copies.
      const bytes = Buffer.allocUnsafe(authenticatedLength + MAC_TAG_BYTES);
      writeReportHeader(
        {
          sealed,
          perDimension,
          proven,
          width: perDimension ? 1 : w,
          dimension: g,
          gateway: l,
          ian: key.ian,
          device: key.device,
          round,
          timestamp: nowMs,
        },
        bytes,
      );
      if (sealed) {
        const header = bytes.subarray(0, REPORT_HEADER_BYTES);
        bytes.set(
          // Nonces always come from node:crypto, never from the injected source: a test's
          // seeded source replayed across rounds must not repeat a nonce under a link key.
          aeadSeal(key.gatewayAead[l - 1]!, plain, { aad: header, rng: systemRandom }),
          REPORT_HEADER_BYTES,
        );
      } else {
        bytes.set(plain, REPORT_HEADER_BYTES);
      }
      const authenticated = bytes.subarray(0, authenticatedLength);
      bytes.set(computeTag(mode, tagKey, authenticated), authenticatedLength);
      out.push({ gateway: l, bytes });
    }
  }
  return out;
}
