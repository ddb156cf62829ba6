import { decodeShareVectors } from '../../crypto/berlekampWelch.js';
import { type ShamirParams, ShamirReconstructor } from '../../crypto/shamir.js';
import { ErrorCode, isPrivaggError, PrivaggError } from '../../errors.js';
import { decodeElements } from '../../wire/fieldElements.js';
import { MAX_MESSAGE_BYTES } from '../../wire/maas.js';
import { checkFreshness, ReplayCache } from '../common/freshness.js';
import type { LedgerKey } from './keys.js';
import { decodingRadius, type MaasParams, shareBytes } from './params.js';
import { decodePartialOf } from './partialCodec.js';
import type { DimensionEstimate, ReadingCodec } from './readingCodec.js';
import { decodeVerifierSection, reportValidityFor } from './reportValidity.js';
import { privateTarget } from './resumRule.js';
import { verifyEvidence } from './tags.js';
import type { ValidityDecision, ValidityScheme, VerifierShare } from './validity/shares.js';

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
export interface StoredPartial {
  gateway: number;
  attempt: number;
  contributors: readonly number[];
  sums: readonly bigint[];
  timestamp: number;
  /** Input validity, attempt 0: each contributor's verifier share from this gateway. */
  verifiers?: ReadonlyMap<number, VerifierShare>;
}

/** A device whose input-validity proof the ledger refused, and why. */
export interface RefusedDevice {
  device: number;
  reason: string;
}

export type RestoreOutcome =
  | {
      status: 'restored';
      ian: number;
      round: number;
      attempt: number;
      contributors: readonly number[];
      /** Gateways whose partials were used. */
      gateways: readonly number[];
      /** Gateways whose partials Berlekamp–Welch found wrong. */
      liars: readonly number[];
      /** Gateways whose partials were left out because their contributor set differs from the group used. */
      excluded: readonly number[];
      /** False when exactly k partials were used: a lie could not have been detected. */
      crossChecked: boolean;
      estimates: readonly DimensionEstimate[];
      /** Devices whose validity proofs were refused (left out). Present only when non-empty. */
      refused?: readonly RefusedDevice[];
    }
  | {
      status: 'reconcile';
      ian: number;
      round: number;
      /** The attempt number gateways must use for their re-aggregated partials. */
      attempt: number;
      contributors: readonly number[];
      /** The gateways asked to re-aggregate (those holding every device of `contributors`). */
      gateways: readonly number[];
      /** Devices some gateway had and the target set drops, with the gateways that lacked them. */
      dropped: readonly { device: number; missingAt: readonly number[] }[];
      /**
       * Devices every asked gateway holds, left out anyway so that each gateway's new set
       * differs from its last one by 0 or ≥ `params.reconcile.minDifference` devices (the
       * no-differencing rule, resumRule.ts). Also in `dropped`. Present only when non-empty.
       */
      withheld?: readonly number[];
      /** Devices whose validity proofs were refused (also in `dropped`). Present only when non-empty. */
      refused?: readonly RefusedDevice[];
    }
  | { status: 'failed'; ian: number; round: number; reason: string };

export type AddResult =
  | { ok: true; ian: number; round: number; gateway: number; attempt: number }
  | { ok: false; code: ErrorCode; reason: string };

/** How many re-aggregation requests a round may need before it is declared failed. */
export const MAX_ATTEMPTS = 3;

/** (IAN, round) as one number: IAN < 2^16 and round < 2^32, so the key is exact (< 2^48). */
const keyOf = (ian: number, round: number) => round * 65_536 + ian;

export class MaasLedgerContract {
  private readonly elementBytes: number;
  /** Rebuilt by `pruneBefore` (the cache has no per-round removal of its own). */
  private replay = new ReplayCache(Number.MAX_SAFE_INTEGER);
  /** (ian, round) → attempt → gateway → partial */
  private readonly partials = new Map<number, Map<number, Map<number, StoredPartial>>>();
  /** (ian, round) → the set asked for in a re-aggregation, by attempt. */
  private readonly requested = new Map<
    number,
    { attempt: number; contributors: string; gateways: number[] }
  >();
  private readonly failed = new Map<number, Extract<RestoreOutcome, { status: 'failed' }>>();
  private newestFinalRound = -1;
  private readonly listeners: ((
    outcome: Extract<RestoreOutcome, { status: 'restored' }>,
  ) => void)[] = [];
  private readonly restored = new Map<number, Extract<RestoreOutcome, { status: 'restored' }>>();
  readonly rejections = new Map<ErrorCode, number>();
  private readonly validity: ValidityScheme | null;
  /** (ian, round) → device → why its validity proof was refused. */
  private readonly refusedDevices = new Map<number, Map<number, string>>();

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
    this.elementBytes = shareBytes(params);
    this.validity = reportValidityFor(params);
  }

  /** Add(j, l, v, rd, t, Sh_l, mac) with Verify: stores a partial or rejects it with a code. Never throws. */
  add(bytes: Uint8Array, nowMs: number): AddResult {
    try {
      const p = this.verify(bytes, nowMs);
      const k = keyOf(p.ian, p.round);
      let byAttempt = this.partials.get(k);
      if (!byAttempt) {
        byAttempt = new Map();
        this.partials.set(k, byAttempt);
      }
      let byGateway = byAttempt.get(p.attempt);
      if (!byGateway) {
        byGateway = new Map();
        byAttempt.set(p.attempt, byGateway);
      }
      byGateway.set(p.gateway, p.stored);
      this.replay.remember(p.round, `${p.ian}/${p.gateway}/${p.attempt}`);
      return { ok: true, ian: p.ian, round: p.round, gateway: p.gateway, attempt: p.attempt };
    } catch (e) {
      const code = isPrivaggError(e) ? e.code : ErrorCode.MALFORMED_MESSAGE;
      this.rejections.set(code, (this.rejections.get(code) ?? 0) + 1);
      return { ok: false, code, reason: e instanceof Error ? e.message : String(e) };
    }
  }

  /** Verify: decoding, sender, freshness, tag, replay, element range, requested set. */
  private verify(bytes: Uint8Array, nowMs: number) {
    if (bytes.length > MAX_MESSAGE_BYTES)
      throw new PrivaggError(ErrorCode.OVERSIZED_MESSAGE, 'partial too large');
    const { params } = this;
    const validity = this.validity;
    const msg = decodePartialOf(params, bytes);
    if (msg.ian >= params.ians || msg.gateway < 1 || msg.gateway > params.gateways) {
      throw new PrivaggError(
        ErrorCode.UNKNOWN_SENDER,
        `no gateway ${msg.gateway} in IAN ${msg.ian}`,
      );
    }
    if (msg.rosterSize !== params.devicesPerIan || msg.width !== params.dimensions.length) {
      throw new PrivaggError(
        ErrorCode.MALFORMED_MESSAGE,
        'roster size or width differs from the deployment',
      );
    }
    checkFreshness(msg.timestamp, nowMs, params.freshnessWindowMs);
    const sender = {
      publicKey: this.key.gatewayPublicKey[msg.ian]![msg.gateway - 1]!,
      identity: this.key.gatewayIdentity[msg.ian]![msg.gateway - 1]!,
    };
    if (
      !this.options.trustRecordedTags &&
      !verifyEvidence(params.modes.mac, sender, msg.authenticated, msg.tag)
    ) {
      throw new PrivaggError(ErrorCode.BAD_MAC, 'partial signature does not verify');
    }
    // After the tag: a forged copy of a stored partial is a forgery (BAD_MAC), not a
    // replay; only a message its gateway really sent can be replayed.
    this.replay.check(msg.round, `${msg.ian}/${msg.gateway}/${msg.attempt}`);
    const sums = decodeElements(msg.sums, msg.width, this.elementBytes, params.field.p);
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
      const asked = this.requested.get(keyOf(msg.ian, msg.round));
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
      } satisfies StoredPartial,
    };
  }

  partialsOf(ian: number, round: number): StoredPartial[] {
    const byAttempt = this.partials.get(keyOf(ian, round));
    if (!byAttempt) return [];
    return [...byAttempt.values()].flatMap((m) => [...m.values()]);
  }

  restoredOf(ian: number, round: number) {
    return this.restored.get(keyOf(ian, round));
  }

  /** Restore s_j^v for one IAN and round (see the class comment). */
  restore(ian: number, round: number): RestoreOutcome {
    const k = keyOf(ian, round);
    const done = this.restored.get(k) ?? this.failed.get(k);
    if (done) return done;
    const byAttempt = this.partials.get(k);
    const fail = (reason: string) => this.fail(ian, round, reason);
    if (!byAttempt || byAttempt.size === 0) return fail('no partial arrived');
    const attempt = Math.max(...byAttempt.keys());
    const partials = [...byAttempt.get(attempt)!.values()].sort((a, b) => a.gateway - b.gateway);
    const threshold = this.params.threshold;

    if (this.params.modes.restore === 'paper') {
      if (partials.length < threshold)
        return fail(`${partials.length} partial(s), k = ${threshold}`);
      const used = partials.slice(0, threshold);
      const rec = new ShamirReconstructor(
        this.shamir,
        used.map((p) => p.gateway),
      );
      const secrets = rec.reconstructVector(used.map((p) => ({ x: p.gateway, ys: p.sums })));
      const contributors = used[0]!.contributors;
      return this.store({
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
    const groups = new Map<string, StoredPartial[]>();
    for (const p of partials) {
      const key = p.contributors.join(',');
      groups.set(key, [...(groups.get(key) ?? []), p]);
    }
    const best = [...groups.values()]
      .filter((g) => g.length >= threshold)
      .sort(
        (a, b) => b.length - a.length || b[0]!.contributors.length - a[0]!.contributors.length,
      )[0];
    if (!best) {
      // 2. No k gateways agree. Keep every device that at least k + f gateways hold, then
      //    drop the least-held devices until k + f gateways hold all that remain; ask
      //    exactly those gateways to re-sum over that set. No k attempt-0 partials share a set, so the
      //    ledger cannot interpolate any attempt-0 sum and difference it against the new one.
      if (attempt + 1 >= MAX_ATTEMPTS || attempt + 1 > this.params.reconcile.maxReaggregations) {
        return this.fail(
          ian,
          round,
          `contributor sets still differ after ${attempt} re-aggregation(s)`,
        );
      }
      if (partials.length < threshold) {
        return this.fail(
          ian,
          round,
          `${partials.length} of the k + f = ${threshold + this.params.maxLyingGateways} partials needed arrived`,
        );
      }
      // A re-sum by fewer than k + f gateways could not be checked for f liars (3).
      const needed = threshold + this.params.maxLyingGateways;
      if (partials.length < needed) return fail(this.tooFewToVouch(partials.length));
      const holders = new Map<number, number[]>();
      for (const p of partials)
        for (const d of p.contributors) holders.set(d, [...(holders.get(d) ?? []), p.gateway]);
      let target = [...holders.keys()].filter((d) => holders.get(d)!.length >= needed);
      let covering = partials.filter((p) => target.every((d) => p.contributors.includes(d)));
      while (covering.length < needed && target.length > 0) {
        // The device fewest gateways hold (ties: the highest index) goes first.
        const worst = [...target].sort(
          (a, b) => holders.get(a)!.length - holders.get(b)!.length || b - a,
        )[0]!;
        target = target.filter((d) => d !== worst);
        covering = partials.filter((p) => target.every((d) => p.contributors.includes(d)));
      }
      const refused = this.refuseInvalid(ian, round, target, covering);
      target = target.filter((d) => !refused.has(d));
      return this.requestPrivateReaggregation(ian, round, attempt + 1, partials, target, covering);
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
      const union = new Set(all.flatMap((p) => p.contributors));
      const common = [...union].filter((d) => all.every((p) => p.contributors.includes(d)));
      if (
        outside.length > 0 &&
        all.length >= threshold + this.params.maxLyingGateways &&
        attempt + 1 < MAX_ATTEMPTS &&
        attempt + 1 <= this.params.reconcile.maxReaggregations &&
        union.size - common.length <= Math.max(1, Math.floor(union.size / 4))
      ) {
        const refused = this.refuseInvalid(ian, round, common, all);
        const valid = common.filter((d) => !refused.has(d));
        return this.requestPrivateReaggregation(ian, round, attempt + 1, all, valid, all);
      }
      return fail(reason);
    };
    // 6. No sum that includes a refused device is interpolated: re-sum without it.
    const refused = this.refuseInvalid(ian, round, contributors, partials);
    const refusedHere = contributors.filter((d) => refused.has(d));
    if (refusedHere.length > 0) {
      if (attempt + 1 < MAX_ATTEMPTS && attempt + 1 <= this.params.reconcile.maxReaggregations) {
        const valid = contributors.filter((d) => !refused.has(d));
        return this.requestPrivateReaggregation(ian, round, attempt + 1, everyone, valid, best);
      }
      return fail(
        `${ErrorCode.INVALID_PROOF}: device(s) ${refusedHere.join(', ')} refused ` +
          `and no re-aggregation left to leave them out`,
      );
    }
    const decoded = this.decodeGroup(partials);
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
    return this.store({
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
      ...this.refusedField(ian, round),
    });
  }

  /**
   * Input validity (class comment, 6): decides every device of `devices` not refused yet
   * from the verifier shares the attempt-0 partials of exactly `group`'s gateways carry,
   * records the refused ones with the reason, and returns all refused devices of the
   * IAN-round. Without input validity, nothing is refused.
   */
  private refuseInvalid(
    ian: number,
    round: number,
    devices: readonly number[],
    group: readonly StoredPartial[],
  ): ReadonlyMap<number, string> {
    const validity = this.validity;
    const k = keyOf(ian, round);
    let refused = this.refusedDevices.get(k);
    if (!validity) return refused ?? new Map();
    const first = this.partials.get(k)?.get(0);
    const gateways = group.map((p) => p.gateway);
    const radius =
      decodingRadius(gateways.length, this.params.threshold, this.params.maxLyingGateways) ?? 0;
    for (const device of devices) {
      if (refused?.has(device)) continue;
      const shares = gateways.map((g) => first?.get(g)?.verifiers?.get(device));
      let reason: string | undefined;
      if (shares.some((s) => s === undefined)) {
        reason = 'verifier share missing from a first partial';
      } else {
        try {
          const decision = validity.decide(shares as VerifierShare[], { maxErrors: radius });
          if (!decision.valid) reason = describeRefusal(decision);
        } catch (e) {
          // Signed partials were decoded and checked on add; refuse rather than throw anyway.
          if (!isPrivaggError(e)) throw e;
          reason = `verifier shares unusable (${e.code})`;
        }
      }
      if (reason === undefined) continue;
      if (!refused) {
        refused = new Map();
        this.refusedDevices.set(k, refused);
      }
      refused.set(device, reason);
    }
    return refused ?? new Map();
  }

  /** `{ refused }` for an outcome when the IAN-round refused any device, else nothing. */
  private refusedField(ian: number, round: number): { refused?: RefusedDevice[] } {
    const refused = this.refusedDevices.get(keyOf(ian, round));
    if (!refused || refused.size === 0) return {};
    return {
      refused: [...refused]
        .sort(([a], [b]) => a - b)
        .map(([device, reason]) => ({ device, reason })),
    };
  }

  /**
   * Decodes one group of partials over the same contributor set at the radius that still
   * detects `maxLyingGateways` liars (class comment, 3). Refuses — with the reason, never
   * a guess — when the group is too small to detect them, or when it detects a lie it
   * cannot correct; a liar is named only inside the radius.
   */
  private decodeGroup(
    group: readonly StoredPartial[],
  ): { secrets: bigint[]; liars: number[] } | { refused: string } {
    const tolerated = this.params.maxLyingGateways;
    const radius = decodingRadius(group.length, this.params.threshold, tolerated);
    if (radius === null) return { refused: this.tooFewToVouch(group.length) };
    try {
      const { secrets, wrongIndices } = decodeShareVectors(
        this.shamir,
        group.map((p) => ({ x: p.gateway, ys: p.sums })),
        { maxErrors: radius },
      );
      return { secrets, liars: wrongIndices };
    } catch (e) {
      if (!isPrivaggError(e, ErrorCode.TOO_MANY_ERRORS)) throw e;
      return {
        refused:
          `${ErrorCode.TOO_MANY_ERRORS}: partials disagree: ${group.length} partials with ` +
          `k = ${this.params.threshold} detect up to f = ${tolerated} lying gateway(s) and ` +
          `correct up to ${radius}; a lie was detected and not corrected, no gateway is named`,
      };
    }
  }

  /** Why r partials cannot give a total: f liars among them could agree on a wrong one. */
  private tooFewToVouch(received: number): string {
    const k = this.params.threshold;
    const f = this.params.maxLyingGateways;
    return (
      `${ErrorCode.RESTORE_FAILED}: ${received} partials cannot detect f = ${f} lying ` +
      `gateway(s): k + f = ${k + f} over one contributor set needed`
    );
  }

  /**
   * A re-aggregation over `target` by the gateways of `asked`, shrunk so that every asked
   * gateway's set differs from its last sum (its partial of the latest attempt) by 0 or at
   * least `minDifference` devices — the only targets gateways answer (resumRule.ts). The
   * devices left out for it are named in `withheld`.
   */
  private requestPrivateReaggregation(
    ian: number,
    round: number,
    attempt: number,
    partials: readonly StoredPartial[],
    target: readonly number[],
    asked: readonly StoredPartial[],
  ): RestoreOutcome {
    const shrunk = privateTarget(
      asked.map((p) => p.contributors),
      target,
      this.params.reconcile.minDifference,
    );
    return this.requestReaggregation(
      ian,
      round,
      attempt,
      partials,
      shrunk.target,
      asked.map((p) => p.gateway),
      shrunk.withheld,
    );
  }

  /** Records and returns a re-aggregation request over `target` to `asked`. */
  private requestReaggregation(
    ian: number,
    round: number,
    attempt: number,
    partials: readonly StoredPartial[],
    target: number[],
    asked: number[],
    withheld: readonly number[] = [],
  ): RestoreOutcome {
    target.sort((a, b) => a - b);
    const inTarget = new Set(target);
    const held = new Set(partials.flatMap((p) => p.contributors));
    this.requested.set(keyOf(ian, round), {
      attempt,
      contributors: target.join(','),
      gateways: asked,
    });
    return {
      status: 'reconcile',
      ian,
      round,
      attempt,
      contributors: target,
      gateways: asked,
      dropped: [...held]
        .filter((d) => !inTarget.has(d))
        .sort((a, b) => a - b)
        .map((device) => ({
          device,
          missingAt: partials.filter((p) => !p.contributors.includes(device)).map((p) => p.gateway),
        })),
      ...(withheld.length > 0 ? { withheld: [...withheld] } : {}),
      ...this.refusedField(ian, round),
    };
  }

  /**
   * The round driver gave up on an IAN-round that has no final outcome (a re-aggregation
   * whose partials never came, the driver's attempts spent): it is failed for good, so a
   * query over its round is answered with the IAN marked missing instead of refused until
   * retention prunes it. A restored or failed IAN-round is left as it is.
   */
  concludeUnrestored(ian: number, round: number, reason: string): void {
    if (this.finalOutcomeOf(ian, round)) return;
    this.fail(ian, round, reason);
  }

  /** A failed restore is final for that IAN-round (the query reports it as missing). */
  private fail(ian: number, round: number, reason: string): RestoreOutcome {
    const outcome = { status: 'failed' as const, ian, round, reason };
    this.failed.set(keyOf(ian, round), outcome);
    this.noteFinal(round);
    return outcome;
  }

  private noteFinal(round: number): void {
    if (round > this.newestFinalRound) this.newestFinalRound = round;
  }

  /** The newest round any IAN has finished restoring (restored or failed); −1 before any. */
  get latestFinalRound(): number {
    return this.newestFinalRound;
  }

  private store(outcome: Extract<RestoreOutcome, { status: 'restored' }>): RestoreOutcome {
    this.restored.set(keyOf(outcome.ian, outcome.round), outcome);
    this.noteFinal(outcome.round);
    for (const listener of this.listeners) listener(outcome);
    return outcome;
  }

  /** Called with every newly restored IAN-round (the query side derives its noise then). */
  onRestored(listener: (outcome: Extract<RestoreOutcome, { status: 'restored' }>) => void): void {
    this.listeners.push(listener);
  }

  // ─── Retention (a long-running ledger keeps per-round state only while it is needed) ───

  /** The final outcome (restored or failed) of an IAN-round still held in memory. */
  finalOutcomeOf(ian: number, round: number): RestoreOutcome | undefined {
    const k = keyOf(ian, round);
    return this.restored.get(k) ?? this.failed.get(k);
  }

  /**
   * Forgets every per-round fact of rounds < `round`: stored partials, re-aggregation
   * requests, restored and failed outcomes, replay keys. `latestFinalRound` is kept. The
   * caller must refuse partials and restores of those rounds from now on (they would find
   * no state) and serve their restored outcomes from its store (src/ledger/retention.ts).
   * Deterministic: a replay that prunes at the same transactions reaches the same state.
   */
  pruneBefore(round: number): void {
    const old = (k: number) => Math.floor(k / 65_536) < round;
    for (const map of [
      this.partials,
      this.requested,
      this.restored,
      this.failed,
      this.refusedDevices,
    ]) {
      for (const k of map.keys()) if (old(k)) map.delete(k);
    }
    // The replay cache holds exactly one key per stored partial: rebuild it from those kept.
    this.replay = new ReplayCache(Number.MAX_SAFE_INTEGER);
    for (const [k, byAttempt] of this.partials) {
      const rd = Math.floor(k / 65_536);
      const ian = k - rd * 65_536;
      for (const [attempt, byGateway] of byAttempt)
        for (const gateway of byGateway.keys())
          this.replay.remember(rd, `${ian}/${gateway}/${attempt}`);
    }
  }

  /** Sizes of the per-round state, for tests and metrics (entries, not bytes). */
  retained(): {
    ianRounds: number;
    partials: number;
    requested: number;
    restored: number;
    failed: number;
    replayKeys: number;
  } {
    let partials = 0;
    for (const byAttempt of this.partials.values())
      for (const byGateway of byAttempt.values()) partials += byGateway.size;
    return {
      ianRounds: this.partials.size,
      partials,
      requested: this.requested.size,
      restored: this.restored.size,
      failed: this.failed.size,
      replayKeys: this.replay.size,
    };
  }
}

/** A refusal as one line: the verdict and what it rests on. */
function describeRefusal(decision: Exclude<ValidityDecision, { valid: true }>): string {
  switch (decision.reason) {
    case 'proof-refused':
      return `proof-refused: the proof does not hold (${decision.failures.length} check(s) failed)`;
    case 'randomness-mismatch':
      return `randomness-mismatch: gateways derived different query seeds (${decision.groups
        .map((g) => g.join('+'))
        .join(' / ')})`;
    case 'inconsistent-verifier':
      return (
        `inconsistent-verifier: verifier shares of gateways ${decision.gateways.join(', ')} ` +
        `are not on one polynomial` +
        (decision.suspects && decision.suspects.length > 0
          ? ` (off it: ${decision.suspects.join(', ')}; a device can make an honest gateway look so)`
          : '')
      );
  }
}
