import { decodeShareVectors } from '../../crypto/berlekampWelch.js';
import { type ShamirParams, ShamirReconstructor } from '../../crypto/shamir.js';
import { ErrorCode, isPrivaggError } from '../../errors.js';
import type { StoredPartial } from './ledgerRecords.js';
import { decodingRadius, type MaasParams } from './params.js';

/**
 * Restore's arithmetic (ledgerContract.ts, class comment 3): from partials over one
 * contributor set to the field sums, by plain interpolation (the paper's mode) or by
 * Berlekamp–Welch at the radius that still detects `maxLyingGateways` liars.
 */

/** The paper's mode: interpolates exactly these partials; nothing is cross-checked. */
export function interpolatePartials(
  shamir: ShamirParams,
  used: readonly StoredPartial[],
): bigint[] {
  const rec = new ShamirReconstructor(
    shamir,
    used.map((p) => p.gateway),
  );
  return rec.reconstructVector(used.map((p) => ({ x: p.gateway, ys: p.sums })));
}

/**
 * Decodes one group of partials over the same contributor set at the radius that still
 * detects `maxLyingGateways` liars (class comment, 3). Refuses — with the reason, never
 * a guess — when the group is too small to detect them, or when it detects a lie it
 * cannot correct; a liar is named only inside the radius.
 */
export function decodeGroup(
  params: MaasParams,
  shamir: ShamirParams,
  group: readonly StoredPartial[],
): { secrets: bigint[]; liars: number[] } | { refused: string } {
  const tolerated = params.maxLyingGateways;
  const radius = decodingRadius(group.length, params.threshold, tolerated);
  if (radius === null) return { refused: tooFewToVouch(params, group.length) };
  try {
    const { secrets, wrongIndices } = decodeShareVectors(
      shamir,
      group.map((p) => ({ x: p.gateway, ys: p.sums })),
      { maxErrors: radius },
    );
    return { secrets, liars: wrongIndices };
  } catch (e) {
    if (!isPrivaggError(e, ErrorCode.TOO_MANY_ERRORS)) throw e;
    return {
      refused:
        `${ErrorCode.TOO_MANY_ERRORS}: partials disagree: ${group.length} partials with ` +
        `k = ${params.threshold} detect up to f = ${tolerated} lying gateway(s) and ` +
        `correct up to ${radius}; a lie was detected and not corrected, no gateway is named`,
    };
  }
}

/** Why r partials cannot give a total: f liars among them could agree on a wrong one. */
export function tooFewToVouch(params: MaasParams, received: number): string {
  const k = params.threshold;
  const f = params.maxLyingGateways;
  return (
    `${ErrorCode.RESTORE_FAILED}: ${received} partials cannot detect f = ${f} lying ` +
    `gateway(s): k + f = ${k + f} over one contributor set needed`
  );
}
