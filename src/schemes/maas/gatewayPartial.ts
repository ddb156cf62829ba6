import { decodeElements, encodeElements } from '../../wire/fieldElements.js';
import { encodeGatewayPartialBody } from '../../wire/maas.js';
import type { GatewayContext } from './gatewayContext.js';
import { decodePartialOf } from './partialCodec.js';
import { encodeVerifierSection } from './reportValidity.js';
import { signEvidence } from './tags.js';
import type { VerifierShare } from './validity/shares.js';

/**
 * Encodes and signs a partial (exposed so a simulated compromised gateway can sign a
 * lie). `verifiers`: one per contributor, in order (input validity, attempt 0 only).
 */
export function buildPartial(
  ctx: GatewayContext,
  round: number,
  contributors: readonly number[],
  sums: readonly bigint[],
  attempt: number,
  nowMs: number,
  verifiers?: readonly VerifierShare[],
): Buffer {
  const { key, params, validity } = ctx;
  const body = encodeGatewayPartialBody(
    {
      attempt,
      gateway: key.gateway,
      ian: key.ian,
      round,
      timestamp: nowMs,
      rosterSize: params.devicesPerIan,
      contributors,
    },
    encodeElements(sums, ctx.elementBytes),
    sums.length,
    verifiers && validity ? encodeVerifierSection(validity, verifiers) : undefined,
  );
  return signed(ctx, body);
}

/** The sums a partial of this deployment carries (decoded, checked). */
export function partialSums(ctx: GatewayContext, partial: Uint8Array): bigint[] {
  const msg = decodePartialOf(ctx.params, partial);
  return decodeElements(msg.sums, msg.width, ctx.elementBytes, ctx.params.field.p);
}

/**
 * `partial` re-signed with other sums, everything else (contributors, attempt, time,
 * verifier shares) kept: what a compromised gateway that lies about its sum sends.
 */
export function withSums(
  ctx: GatewayContext,
  partial: Uint8Array,
  sums: readonly bigint[],
): Buffer {
  const msg = decodePartialOf(ctx.params, partial);
  const body = encodeGatewayPartialBody(
    msg,
    encodeElements(sums, ctx.elementBytes),
    sums.length,
    msg.verifiers ?? undefined,
  );
  return signed(ctx, body);
}

/** `body` followed by this gateway's tag over it. */
function signed(ctx: GatewayContext, body: Uint8Array): Buffer {
  const tag = signEvidence(
    ctx.params.modes.mac,
    { signer: ctx.key.signingKey, identity: ctx.key.identity },
    body,
  );
  return Buffer.concat([body, tag]);
}
