import { ErrorCode, PrivaggError } from '../../errors.js';
import type { DecodedDeviceReport } from '../../wire/maas.js';
import { ReplayCache } from '../common/freshness.js';
import { settleRound, sumOver } from './gatewayAggregate.js';
import { openBatch } from './gatewayBatch.js';
import { type GatewayContext, gatewayContext } from './gatewayContext.js';
import { emptyLiveRound, openInto } from './gatewayOpening.js';
import * as partials from './gatewayPartial.js';
import { checkFreshAndTagged, decodeChecked } from './gatewayReportChecks.js';
import {
  HELD_ROUNDS,
  MAX_PENDING_COPIES,
  type OpenedRound,
  type RoundShares,
  replayKey,
} from './gatewayRounds.js';
import { ACCEPTED, type GatewayRoundResult, toRejection, type Verdict } from './gatewayVerdicts.js';
import type { GatewayKey } from './keys.js';
import type { MaasParams } from './params.js';
import { decideResum, recordResum } from './resumRule.js';
import type { VerifierShare } from './validity/shares.js';

// The gateway is split by idea; every name it exported is still exported from here.
export { HELD_ROUNDS, MAX_PENDING_COPIES } from './gatewayRounds.js';
export type { GatewayRoundResult, Rejection, Verdict } from './gatewayVerdicts.js';

/**
 * GW_l of one IAN (paper §V.D), sans-I/O: bytes and the clock come in, a verdict per
 * message and a tagged partial come out.
 *
 * `ingest` runs the checks at once (size, decoding, addressee, round, freshness; where
 * tags are verified on ingest — modes.batch 'each', the default — the tag, then the
 * replay cache) and, in that mode, opens the sealed payload into the round's rows right
 * away; `closeRound` then only sums the shares of the devices whose every dimension
 * arrived intact and returns the partial with its contributor set. In the paper's batch
 * mode `ingest` queues the message and `closeRound` batch-verifies the queue (see
 * batchVerify.ts) before opening it. `precheck` runs the checks that need no round
 * state, for a receiver that holds reports of a round not yet open.
 * A bad message is rejected with a stable code and never touches the sums; it never
 * blocks the good messages of the same round.
 *
 * The parts, by file: gatewayReportChecks.ts (the per-message checks), gatewayOpening.ts
 * (opening shares into rows), gatewayBatch.ts (the paper's batch mode at close),
 * gatewayAggregate.ts (contributors and sums), gatewayPartial.ts (partials, signed).
 */
export class MaasGateway {
  /** Key, deployment and what follows from them, shared with the gateway's parts. */
  private readonly ctx: GatewayContext;
  private readonly replay = new ReplayCache(4);
  private openRound = -1;
  /** Unverified copies queued per (device[, dimension]) in the paper's batch mode. */
  private readonly pendingCopies = new Map<string, number>();
  private pending: DecodedDeviceReport[] = [];
  /**
   * Where tags are verified on ingest: the open round's shares, opened as each authentic
   * message is admitted (so nothing but limbs outlives a message, and close only sums).
   */
  private live: OpenedRound | undefined;
  /** Accepted shares of closed rounds, kept for re-aggregation requests. */
  private readonly accepted = new Map<number, RoundShares>();

  constructor(
    readonly key: GatewayKey,
    readonly params: MaasParams,
  ) {
    this.ctx = gatewayContext(key, params);
  }

  /** Opens `round` for reports; reports for any other round are WRONG_ROUND. */
  beginRound(round: number): void {
    this.openRound = round;
    this.pending = [];
    if (this.params.modes.batch === 'each') this.live = emptyLiveRound(this.ctx);
  }

  /**
   * Checks a message now and queues it for the open round. Never throws.
   *
   * Order: size, decoding, layout, addressee, known sender, round, freshness; then, where
   * tags are verified on ingest (modes.batch 'each', the default), the tag before the
   * replay cache — so a forged copy of a (device, round) already accepted is BAD_MAC, its
   * true code, while a genuine second copy is REPLAY. In the paper's batch mode the tag is
   * checked at close, so a copy of an accepted (device, round) is REPLAY at once.
   */
  ingest(bytes: Uint8Array, nowMs: number): Verdict {
    try {
      const ctx = this.ctx;
      const msg = decodeChecked(ctx, bytes);
      if (msg.round !== this.openRound) {
        throw new PrivaggError(
          ErrorCode.WRONG_ROUND,
          `round ${msg.round}, open round ${this.openRound}`,
          { device: msg.device },
        );
      }
      checkFreshAndTagged(ctx, msg, nowMs);
      this.admit(msg);
      return ACCEPTED;
    } catch (e) {
      const rejection = toRejection(e);
      return { ok: false, code: rejection.code, reason: rejection.reason };
    }
  }

  /**
   * The checks of `ingest` that do not depend on round state — size, decoding, layout,
   * addressee, known sender, freshness and (when tags are verified on ingest) the tag —
   * without entering the message anywhere: no round check, no replay cache, no queue.
   * For a receiver that holds messages of a round not yet open: a forgery is rejected
   * with its true code at once and never takes a place in the holding buffer. `ingest`
   * must still be called when the round opens (it checks the round and replays). In the
   * paper's batch mode the tag is not checked here (it is checked at round close).
   */
  precheck(bytes: Uint8Array, nowMs: number): Verdict {
    try {
      const ctx = this.ctx;
      checkFreshAndTagged(ctx, decodeChecked(ctx, bytes), nowMs);
      return ACCEPTED;
    } catch (e) {
      const rejection = toRejection(e);
      return { ok: false, code: rejection.code, reason: rejection.reason };
    }
  }

  /** Replay check (and, in the paper's batch mode, the copy bound); queues the message. */
  private admit(msg: DecodedDeviceReport): void {
    const key = replayKey(msg);
    if (this.params.modes.batch === 'each') {
      // The tag was verified before this (checkFreshAndTagged): forgeries got BAD_MAC, a
      // genuine second copy gets REPLAY here. Only authentic messages are remembered, so
      // a forgery sent first cannot lock the genuine message out of its round; the queue
      // holds at most one message per (device[, dimension]).
      this.replay.check(msg.round, key);
      this.replay.remember(msg.round, key);
      openInto(this.ctx, this.live!, msg);
      return;
    } else {
      this.replay.check(msg.round, key);
      // The paper's sum check runs at round close; bound what an attacker can queue.
      const copies = (this.pendingCopies.get(key) ?? 0) + 1;
      if (copies > MAX_PENDING_COPIES) {
        throw new PrivaggError(
          ErrorCode.REPLAY,
          `more than ${MAX_PENDING_COPIES} unverified copies`,
          {
            device: msg.device,
          },
        );
      }
      this.pendingCopies.set(key, copies);
    }
    this.pending.push(msg);
  }

  /**
   * Verifies the round's batch (the paper's mode; the default verified on ingest),
   * aggregates, and builds the tagged partial. The round is closed afterwards: later
   * reports for it are WRONG_ROUND.
   */
  closeRound(nowMs: number): GatewayRoundResult {
    const round = this.openRound;
    if (round < 0) throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, 'no round is open');
    this.openRound = -1;
    this.pendingCopies.clear();
    const live = this.live;
    this.live = undefined;
    const opened = live ?? openBatch(this.ctx, this.replay, this.pending, round);
    const { contributors, shares, incomplete } = settleRound(this.ctx, opened);
    this.accepted.set(round, shares);
    for (const r of this.accepted.keys()) if (r < round - HELD_ROUNDS) this.accepted.delete(r);
    this.pending = [];
    const sums = sumOver(this.ctx, shares, contributors);
    // Input validity: the ledger decides each contributor from these before it restores.
    const verifierShares = this.ctx.validity
      ? contributors.map((d) => opened.verifiers.get(d)!)
      : undefined;
    return {
      round,
      contributors,
      sums,
      partial: this.buildPartial(round, contributors, sums, 0, nowMs, verifierShares),
      rejected: opened.rejected,
      incomplete,
    };
  }

  /** Whether `round` was closed here and its shares are still held (for re-sums). */
  holdsRound(round: number): boolean {
    return this.accepted.has(round);
  }

  /**
   * The ledger's reconciliation request: re-sum `round` over exactly `contributors`,
   * under the no-differencing rule of resumRule.ts (nested sets, each at least
   * `params.reconcile.minDifference` devices smaller than the last, at most
   * `maxReaggregations` re-sums per round). Never throws. Refusals: WRONG_ROUND (a round
   * not held), CONTRIBUTOR_MISMATCH (a device this gateway did not accept), ACCESS_DENIED
   * (the rule), MALFORMED_MESSAGE (not a set of roster indices, or an attempt outside
   * 1..255). The attempt is only written into the partial: its freshness is the caller's
   * check (GatewayService refuses attempts it already answered).
   */
  resum(
    round: number,
    contributors: readonly number[],
    attempt: number,
    nowMs: number,
  ): { ok: true; partial: Buffer } | { ok: false; code: ErrorCode; reason: string } {
    const accepted = this.accepted.get(round);
    if (!accepted)
      return { ok: false, code: ErrorCode.WRONG_ROUND, reason: `round ${round} is not held` };
    if (!Number.isInteger(attempt) || attempt < 1 || attempt > 255)
      return { ok: false, code: ErrorCode.MALFORMED_MESSAGE, reason: `attempt ${attempt}` };
    const decision = decideResum(
      accepted.history,
      (d) => accepted.rows.has(d),
      contributors,
      this.params.devicesPerIan,
      this.params.reconcile,
    );
    if (!decision.ok) return decision;
    recordResum(accepted.history, decision);
    const sorted = decision.target;
    const partial = this.buildPartial(
      round,
      sorted,
      sumOver(this.ctx, accepted, sorted),
      attempt,
      nowMs,
    );
    return { ok: true, partial };
  }

  /** `resum`, as null when refused (for callers that only need the bytes). */
  reaggregate(
    round: number,
    contributors: readonly number[],
    attempt: number,
    nowMs: number,
  ): Buffer | null {
    const res = this.resum(round, contributors, attempt, nowMs);
    return res.ok ? res.partial : null;
  }

  /**
   * Encodes and signs a partial (exposed so a simulated compromised gateway can sign a
   * lie). `verifiers`: one per contributor, in order (input validity, attempt 0 only).
   */
  buildPartial(
    round: number,
    contributors: readonly number[],
    sums: readonly bigint[],
    attempt: number,
    nowMs: number,
    verifiers?: readonly VerifierShare[],
  ): Buffer {
    return partials.buildPartial(this.ctx, round, contributors, sums, attempt, nowMs, verifiers);
  }

  /** The sums a partial of this deployment carries (decoded, checked). */
  partialSums(partial: Uint8Array): bigint[] {
    return partials.partialSums(this.ctx, partial);
  }

  /**
   * `partial` re-signed with other sums, everything else (contributors, attempt, time,
   * verifier shares) kept: what a compromised gateway that lies about its sum sends.
   */
  withSums(partial: Uint8Array, sums: readonly bigint[]): Buffer {
    return partials.withSums(this.ctx, partial, sums);
  }
}
