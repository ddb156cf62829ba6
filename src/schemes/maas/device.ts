import { aeadSeal } from '../../crypto/aead.js';
import type { RandomSource } from '../../math/random.js';
import { splitVector } from '../../crypto/shamir.js';
import type { ShamirParams } from '../../crypto/shamir.js';
import { encodeElements } from '../../wire/fieldElements.js';
import { encodeReportHeader } from '../../wire/maas.js';
import type { DeviceKey } from './keys.js';
import { type MaasParams, shareBytes } from './params.js';
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
  const width = shareBytes(params);
  const out: AddressedMessage[] = [];
  for (const vector of shareVectors) {
    const l = vector.x;
    const groups: { dimension: number; ys: readonly bigint[] }[] =
      params.modes.layout === 'vector'
        ? [{ dimension: 0, ys: vector.ys }]
        : vector.ys.map((y, j) => ({ dimension: j, ys: [y] }));
    for (const g of groups) {
      const header = encodeReportHeader({
        sealed: params.modes.aead,
        perDimension: params.modes.layout === 'per-dimension',
        width: g.ys.length,
        dimension: g.dimension,
        gateway: l,
        ian: key.ian,
        device: key.device,
        round,
        timestamp: nowMs,
      });
      const plain = encodeElements(g.ys, width);
      const payload = params.modes.aead ? aeadSeal(key.gatewayAead[l - 1]!, plain, { aad: header, rng }) : plain;
      const authenticated = Buffer.concat([header, payload]);
      const tag = computeTag(params.modes.mac, { mac: key.gatewayMac[l - 1]!, identity: key.identity }, authenticated);
      out.push({ gateway: l, bytes: Buffer.concat([authenticated, tag]) });
    }
  }
  return out;
}
