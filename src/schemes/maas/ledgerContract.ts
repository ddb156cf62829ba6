import type { ShamirParams } from '../../crypto/shamir.js';
import { ErrorCode, isPrivaggError } from '../../errors.js';
import type { LedgerKey } from './keys.js';
import { type AdmissionContext, verifyPartial } from './ledgerAdmission.js';
import { decodeGroup, interpolatePartials, tooFewToVouch } from './ledgerDecoding.js';
import {
  commonDevices,
  heldByEnough,
  largestAgreeingGroup,
  mayReaggregate,
  requestPrivateReaggregation,
} from './ledgerReconcile.js';
import type { AddResult, RestoredOutcome, RestoreOutcome, StoredPartial } from './ledgerRecords.js';
import { refusedField, refuseInvalid } from './ledgerRefusals.js';
import { LedgerRoundState, type RetainedSizes } from './ledgerState.js';
import { type MaasParams, shareBytes } from './params.js';
import type { DimensionEstimate, ReadingCodec } from './readingCodec.js';
import { reportValidityFor } from './reportValidity.js';
import type { ValidityScheme } from './validity/shares.js';

// The contract is split by idea; every name it exported is still exported from here.
export { MAX_ATTEMPTS } from './ledgerReconcile.js';
export type { AddResult, RefusedDevice, RestoreOutcome, StoredPartial } from './ledgerRecords.js';

/**
 * The ledger's contract (paper §V.E–F, Algorithms 3–4): Add, Verify, Restore. Query and
 * DpUtils live in query.ts. Pure and deterministic — no clock, no randomness, no I/O —
 * so the same code can run as Fabric chaincode and be replayed to verify a chain.
 *
 * Restore, in privagg's default mode:
 *  1. Partials of one (IAN, round) are grouped by contributor set: partials over
 *     different sets cannot be interpolated together (docs/SCHEMES.md §1). If k or more share a
 *     set, the largest such group is used and the others are left out (named in
 *     `excluded`): a gateway that missed a device, or lies about its set, is out-voted
 *     and costs its redundancy (when the group left is too small to vouch, see 4).
 *  2. If no k gateways agree, the target set is every device that at least k + f gateways
 *     hold (f = `params.maxLyingGateways`), shrunk (least-held device first) until k + f
 *     gateways hold all of it; exactly those gateways are asked to re-aggregate over it
 *     (attempt + 1): fewer could not be checked for f liars (3). A re-aggregated
 *     partial over another set, or from a gateway not asked, is CONTRIBUTOR_MISMATCH.
 *     Since no k first-attempt partials shared a set, no first-attempt sum can be
 *     interpolated and differenced against the new one. The target is then shrunk (its
 *     highest indices first, named in `withheld`) until every asked gateway's last set
 *     differs from it by 0 or ≥ `params.reconcile.minDifference` devices: gateways refuse
 *     any other target (resumRule.ts), so no two sums of one gateway isolate a device.
 *  3. With r partials over one set, up to f of them may lie (`params.maxLyingGateways`).
 *     r < k + f cannot vouch for a total: f liars could make the r partials agree on a
 *     wrong one. Otherwise Berlekamp–Welch decodes at radius τ = min(⌊(r−k)/2⌋, r−k−f)
 *     (`decodingRadius`): it corrects and names up to τ liars, and detects any f (τ + f ≤
 *     r − k), so a liar is named only inside the radius and a total is exact or refused.
 *     r = k (only with f = 0) interpolates, flagged as not cross-checked.
 *  4. If that group cannot vouch for its total (too few partials for f, or a lie detected
 *     beyond τ) and gateways outside it could add redundancy, all gateways are asked to
 *     re-sum over their common devices (when that drops at most a quarter of them); the
 *     radius is then recomputed from the new r. Otherwise the IAN-round fails with the
 *     reason (prefixed TOO_MANY_ERRORS or RESTORE_FAILED). Caveat: here the first-attempt
 *     group's sum and the new one differ by the dropped devices, which the ledger could learn by
 *     differencing once it knows the liar (their LDP reports when LDP is on) — a sum over
 *     at least `minDifference` devices, never one device's (the same shrinking as in 2).
 *     The number of re-aggregations is bounded by `params.reconcile.maxReaggregations`.
 *  5. The restored elements are decoded strictly: a value that cannot be the sum of n
 *     in-range readings fails the restore rather than enter a total.
 *  6. Input validity (`params.validity`, docs/VALIDITY.md): attempt-0 partials carry each
 *     contributor's verifier share. Before a group is interpolated, and before any
 *     re-aggregation is asked for, every device of the set is decided from the verifier
 *     shares of exactly the gateways that will (re-)sum it; a refused device is named in
 *     `refused` with the reason and left out through a re-aggregation (2's shrinking
 *     applies), so no sum that includes it is ever interpolated.
 * The paper's mode interpolates the first k partials that arrived, whatever they summed.
 */
export class MaasLedgerContract {
  /** Per-(IAN, round) state and its retention (ledgerState.ts). */
  private readonly state = new LedgerRoundState();
  private readonly admission: AdmissionContext;
  readonly rejections = new Map<ErrorCode, number>();
  private readonly validity: ValidityScheme | null;

  constructor(
    readonly key: LedgerKey,
    readonly params: MaasParams,
    readonly shamir: ShamirParams,
    readonly codec: ReadingCodec,
    /**
     * Replaying a signed chain: the partials were verified when they were added, and the
     * verifier may not hold the gateways' MAC keys. Every other check still runs.
     */
    readonly options: { trustRecordedTags?: boolean } = {},
  ) {
    this.validity = reportValidityFor(params);
    this.admission = {
      key,
      params,
      options,
      validity: this.validity,
      elementBytes: shareBytes(params),
      state: this.state,
    };
  }

  /** Add(j, l, v, rd, t, Sh_l, mac) with Verify: stores a partial or rejects it with a code. Never throws. */
  add(bytes: Uint8Array, nowMs: number): AddResult {
    try {
      const p = verifyPartial(this.admission, bytes, nowMs);
      this.state.addPartial(p.ian, p.round, p.stored);
      return { ok: true, ian: p.ian, round: p.round, gateway: p.gateway, attempt: p.attempt };
    } catch (e) {
      const code = isPrivaggError(e) ? e.code : ErrorCode.MALFORMED_MESSAGE;
      this.rejections.set(code, (this.rejections.get(code) ?? 0) + 1);
      return { ok: false, code, reason: e instanceof Error ? e.message : String(e) };
    }
  }

  partialsOf(ian: number, round: number): StoredPartial[] {
    return this.state.partialsOf(ian, round);
  }

  restoredOf(ian: number, round: number): RestoredOutcome | undefined {
    return this.state.restoredOf(ian, round);
  }

  /** Restore s_j^v for one IAN and round (see the class comment). */
  restore(ian: number, round: number): RestoreOutcome {
    // The state's own outcome, not `finalOutcomeOf`: views over stored outcomes override that.
    const done = this.state.finalOutcomeOf(ian, round);
    if (done) return done;
    const fail = (reason: string) => this.state.fail(ian, round, reason);
    const latest = this.state.latestAttempt(ian, round);
    if (!latest) return fail('no partial arrived');
    const { attempt, partials } = latest;
    const threshold = this.params.threshold;

    if (this.params.modes.restore === 'paper') {
      if (partials.length < threshold)
        return fail(`${partials.length} partial(s), k = ${threshold}`);
      const used = partials.slice(0, threshold);
      const secrets = interpolatePartials(this.shamir, used);
      const contributors = used[0]!.contributors;
      return this.state.store({
        status: 'restored',
        ian,
        round,
        attempt,
        contributors,
        gateways: used.map((p) => p.gateway),
        liars: [],
        excluded: partials.slice(threshold).map((p) => p.gateway),
        crossChecked: false,
        estimates: this.codec.decode(secrets, contributors.length, false),
      });
    }

    // 1. A group of ≥ k partials over one contributor set restores directly; the largest
    //    such group wins (most redundancy), then the larger set. Gateways outside it are
    //    left out and named. A gateway that lies about its set is simply out-voted.
    const best = largestAgreeingGroup(partials, threshold);
    if (!best) {
      // 2. No k gateways agree. Keep every device that at least k + f gateways hold, then
      //    drop the least-held devices until k + f gateways hold all that remain; ask
      //    exactly those gateways to re-sum over that set. No k attempt-0 partials share a set, so the
      //    ledger cannot interpolate any attempt-0 sum and difference it against the new one.
      if (!mayReaggregate(attempt, this.params)) {
        return fail(`contributor sets still differ after ${attempt} re-aggregation(s)`);
      }
      if (partials.length < threshold) {
        return fail(
          `${partials.length} of the k + f = ${threshold + this.params.maxLyingGateways} partials needed arrived`,
        );
      }
      // A re-sum by fewer than k + f gateways could not be checked for f liars (3).
      const needed = threshold + this.params.maxLyingGateways;
      if (partials.length < needed) return fail(tooFewToVouch(this.params, partials.length));
      const { target: held, covering } = heldByEnough(partials, needed);
      const refused = this.refuseInvalid(ian, round, held, covering);
      const target = held.filter((d) => !refused.has(d));
      return this.reaggregate(ian, round, attempt + 1, partials, target, covering);
    }
    const everyone = [...partials];
    const outside = partials.filter((p) => !best.includes(p)).map((p) => p.gateway);
    partials.splice(0, partials.length, ...best);
    const contributors = partials[0]!.contributors;
    // 4. The group cannot vouch for its total. If gateways outside it add redundancy,
    //    re-sum everyone over the common devices — provided that drops few devices (at
    //    most a quarter), so a gateway lying about its set cannot shrink the round to
    //    nothing. The re-sum is decoded afresh: a larger r gives a larger radius.
    const cannotVouch = (reason: string): RestoreOutcome => {
      const all = [...best, ...everyone.filter((p) => !best.includes(p))];
      const { union, common } = commonDevices(all);
      if (
        outside.length > 0 &&
        all.length >= threshold + this.params.maxLyingGateways &&
        mayReaggregate(attempt, this.params) &&
        union.size - common.length <= Math.max(1, Math.floor(union.size / 4))
      ) {
        const refused = this.refuseInvalid(ian, round, common, all);
        const valid = common.filter((d) => !refused.has(d));
        return this.reaggregate(ian, round, attempt + 1, all, valid, all);
      }
      return fail(reason);
    };
    // 6. No sum that includes a refused device is interpolated: re-sum without it.
    const refused = this.refuseInvalid(ian, round, contributors, partials);
    const refusedHere = contributors.filter((d) => refused.has(d));
    if (refusedHere.length > 0) {
      if (mayReaggregate(attempt, this.params)) {
        const valid = contributors.filter((d) => !refused.has(d));
        return this.reaggregate(ian, round, attempt + 1, everyone, valid, best);
      }
      return fail(
        `${ErrorCode.INVALID_PROOF}: device(s) ${refusedHere.join(', ')} refused ` +
          `and no re-aggregation left to leave them out`,
      );
    }
    const decoded = decodeGroup(this.params, this.shamir, partials);
    if ('refused' in decoded) return cannotVouch(decoded.refused);
    const { secrets, liars } = decoded;
    let estimates: DimensionEstimate[];
    try {
      estimates = this.codec.decode(secrets, contributors.length);
    } catch (e) {
      if (isPrivaggError(e))
        return fail(`restored value is not a sum of ${contributors.length} readings (${e.code})`);
      throw e;
    }
    return this.state.store({
      status: 'restored',
      ian,
      round,
      attempt,
      contributors,
      gateways: partials.map((p) => p.gateway).filter((g) => !liars.includes(g)),
      liars,
      excluded: outside,
      crossChecked: partials.length > threshold,
      estimates,
      ...refusedField(this.state, ian, round),
    });
  }

  /** Input validity (class comment, 6): the refused devices of the IAN-round (ledgerRefusals.ts). */
  private refuseInvalid(
    ian: number,
    round: number,
    devices: readonly number[],
    group: readonly StoredPartial[],
  ): ReadonlyMap<number, string> {
    return refuseInvalid(this.state, this.validity, this.params, ian, round, devices, group);
  }

  /** Asks `asked` to re-sum over `target`, shrunk by the no-differencing rule (ledgerReconcile.ts). */
  private reaggregate(
    ian: number,
    round: number,
    attempt: number,
    partials: readonly StoredPartial[],
    target: readonly number[],
    asked: readonly StoredPartial[],
  ): RestoreOutcome {
    return requestPrivateReaggregation(
      this.state,
      this.params,
      ian,
      round,
      attempt,
      partials,
      target,
      asked,
    );
  }

  /**
   * The round driver gave up on an IAN-round that has no final outcome (a re-aggregation
   * whose partials never came, the driver's attempts spent): it is failed for good, so a
   * query over its round is answered with the IAN marked missing instead of refused until
   * retention prunes it. A restored or failed IAN-round is left as it is.
   */
  concludeUnrestored(ian: number, round: number, reason: string): void {
    if (this.finalOutcomeOf(ian, round)) return;
    this.state.fail(ian, round, reason);
  }

  /** The newest round any IAN has finished restoring (restored or failed); −1 before any. */
  get latestFinalRound(): number {
    return this.state.latestFinalRound;
  }

  /** Called with every newly restored IAN-round (the query side derives its noise then). */
  onRestored(listener: (outcome: RestoredOutcome) => void): void {
    this.state.onRestored(listener);
  }

  // ─── Retention (a long-running ledger keeps per-round state only while it is needed) ───

  /** The final outcome (restored or failed) of an IAN-round still held in memory. */
  finalOutcomeOf(ian: number, round: number): RestoreOutcome | undefined {
    return this.state.finalOutcomeOf(ian, round);
  }

  /**
   * Forgets every per-round fact of rounds < `round`: stored partials, re-aggregation
   * requests, restored and failed outcomes, replay keys. `latestFinalRound` is kept. The
   * caller must refuse partials and restores of those rounds from now on (they would find
   * no state) and serve their restored outcomes from its store (src/ledger/retention.ts).
   * Deterministic: a replay that prunes at the same transactions reaches the same state.
   */
  pruneBefore(round: number): void {
    this.state.pruneBefore(round);
  }

  /** Sizes of the per-round state, for tests and metrics (entries, not bytes). */
  retained(): RetainedSizes {
    return this.state.retained();
  }
}
