import { ErrorCode, PrivaggError } from '../../errors.js';
import { decodeElements } from '../../wire/fieldElements.js';
import { MAX_MESSAGE_BYTES } from '../../wire/maas.js';
import { checkFreshness } from '../common/freshness.js';
import type { LedgerKey } from './keys.js';
import type { StoredPartial } from './ledgerRecords.js';
import type { LedgerRoundState } from './ledgerState.js';
import type { MaasParams } from './params.js';
import { decodePartialOf } from './partialCodec.js';
import { decodeVerifierSection } from './reportValidity.js';
import { verifyEvidence } from './tags.js';
import type { ValidityScheme, VerifierShare } from './validity/shares.js';

/** What Verify reads: the contract's keys, parameters and options, and its per-round state. */
export interface AdmissionContext {
  readonly key: LedgerKey;
  readonly params: MaasParams;
  /**
   * Replaying a signed chain: the partials were verified when they were added, and the
   * verifier may not hold the gateways' MAC keys. Every other check still runs.
   */
  readonly options: { trustRecordedTags?: boolean };
  readonly validity: ValidityScheme | null;
  /** Bytes per field element of a partial's sums (`shareBytes(params)`). */
  readonly elementBytes: number;
  readonly state: LedgerRoundState;
}

/** A partial that passed Verify, ready to store. */
export interface VerifiedPartial {
  ian: number;
  round: number;
  gateway: number;
  attempt: number;
  stored: StoredPartial;
}

/**
 * Verify (the V of Add/Verify): decoding, sender, freshness, tag, replay, element range,
 * requested set. Throws a PrivaggError naming the first check that fails; stores nothing.
 */
export function verifyPartial(
  ctx: AdmissionContext,
  bytes: Uint8Array,
  nowMs: number,
): VerifiedPartial {
  if (bytes.length > MAX_MESSAGE_BYTES)
    throw new PrivaggError(ErrorCode.OVERSIZED_MESSAGE, 'partial too large');
  const { params, validity } = ctx;
  const msg = decodePartialOf(params, bytes);
  if (msg.ian >= params.ians || msg.gateway < 1 || msg.gateway > params.gateways) {
    throw new PrivaggError(ErrorCode.UNKNOWN_SENDER, `no gateway ${msg.gateway} in IAN ${msg.ian}`);
  }
  if (msg.rosterSize !== params.devicesPerIan || msg.width !== params.dimensions.length) {
    throw new PrivaggError(
      ErrorCode.MALFORMED_MESSAGE,
      'roster size or width differs from the deployment',
    );
  }
  checkFreshness(msg.timestamp, nowMs, params.freshnessWindowMs);
  const sender = {
    publicKey: ctx.key.gatewayPublicKey[msg.ian]![msg.gateway - 1]!,
    identity: ctx.key.gatewayIdentity[msg.ian]![msg.gateway - 1]!,
  };
  if (
    !ctx.options.trustRecordedTags &&
    !verifyEvidence(params.modes.mac, sender, msg.authenticated, msg.tag)
  ) {
    throw new PrivaggError(ErrorCode.BAD_MAC, 'partial signature does not verify');
  }
  // After the tag: a forged copy of a stored partial is a forgery (BAD_MAC), not a
  // replay; only a message its gateway really sent can be replayed.
  ctx.state.checkReplay(msg.ian, msg.round, msg.gateway, msg.attempt);
  const sums = decodeElements(msg.sums, msg.width, ctx.elementBytes, params.field.p);
  // Input validity: a first partial carries its contributors' verifier shares (the
  // ledger decides them before restoring), a re-sum none (its devices were decided).
  if (validity && (msg.attempt === 0) !== (msg.verifiers !== null)) {
    throw new PrivaggError(
      ErrorCode.INVALID_PROOF,
      msg.attempt === 0
        ? 'first partial without verifier shares'
        : 're-aggregated partial with verifier shares',
    );
  }
  let verifiers: Map<number, VerifierShare> | undefined;
  if (validity && msg.verifiers) {
    const shares = decodeVerifierSection(
      validity,
      msg.gateway,
      msg.contributors.length,
      msg.verifiers,
    );
    verifiers = new Map(msg.contributors.map((d, i) => [d, shares[i]!]));
  }
  if (msg.attempt > 0) {
    const asked = ctx.state.requestOf(msg.ian, msg.round);
    if (
      !asked ||
      asked.attempt !== msg.attempt ||
      asked.contributors !== msg.contributors.join(',') ||
      !asked.gateways.includes(msg.gateway)
    ) {
      throw new PrivaggError(
        ErrorCode.CONTRIBUTOR_MISMATCH,
        'not the re-aggregation the ledger asked for',
      );
    }
  }
  return {
    ian: msg.ian,
    round: msg.round,
    gateway: msg.gateway,
    attempt: msg.attempt,
    stored: {
      gateway: msg.gateway,
      attempt: msg.attempt,
      contributors: msg.contributors,
      sums,
      timestamp: msg.timestamp,
      ...(verifiers ? { verifiers } : {}),
    },
  };
}
