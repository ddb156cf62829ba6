import { decodeShareVectors } from '../../crypto/berlekampWelch.js';
import { type ShamirParams, ShamirReconstructor } from '../../crypto/shamir.js';
import { ErrorCode, isPrivaggError, PrivaggError } from '../../errors.js';
import { decodeElements } from '../../wire/fieldElements.js';
import { decodeGatewayPartial, MAX_MESSAGE_BYTES } from '../../wire/maas.js';
import { checkFreshness, ReplayCache } from '../common/freshness.js';
import type { LedgerKey } from './keys.js';
import { type MaasParams, shareBytes } from './params.js';
import type { DimensionEstimate, ReadingCodec } from './readingCodec.js';
import { verifyTag } from './tags.js';

/**
 * The ledger's contract (paper §V.E–F, Algorithms 3–4): Add, Verify, Restore. Query and
 * DpUtils live in query.ts. Pure and deterministic — no clock, no randomness, no I/O —
 * so the same code can run as Fabric chaincode and be replayed to verify a chain.
 *
 * Restore, in privagg's default mode:
 *  1. Partials of one (IAN, round) are grouped by contributor set. Partials over
 *     different sets cannot be interpolated together (DESIGN.md), so when the sets
 *     differ the contract asks every gateway to re-aggregate over their intersection
 *     (attempt + 1); a gateway that missed a device thereby costs that device, not
 *     the round. A re-aggregated partial over any other set is CONTRIBUTOR_MISMATCH.
 *  2. With r ≥ k partials over one set: r = k interpolates (nothing to cross-check);
 *     r > k checks consistency and, if needed, decodes with Berlekamp–Welch, which
 *     corrects up to ⌊(r−k)/2⌋ lying gateways and names them.
 *  3. The restored elements are decoded strictly: a value that cannot be the sum of n
 *     in-range readings fails the restore rather than enter a total.
 * The paper's mode interpolates the first k partials that arrived, whatever they summed.
 */
export interface StoredPartial {
  gateway: number;
  attempt: number;
  contributors: readonly number[];
  sums: readonly bigint[];
  timestamp: number;
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
      /** False when exactly k partials were used: a lie could not have been detected. */
      crossChecked: boolean;
      estimates: readonly DimensionEstimate[];
    }
  | {
      status: 'reconcile';
      ian: number;
      round: number;
      /** The attempt number gateways must use for their re-aggregated partials. */
      attempt: number;
      contributors: readonly number[];
      /** Devices some gateway had and the target set drops, with the gateways that lacked them. */
      dropped: readonly { device: number; missingAt: readonly number[] }[];
    }
  | { status: 'failed'; ian: number; round: number; reason: string };

export type AddResult =
  | { ok: true; ian: number; round: number; gateway: number; attempt: number }
  | { ok: false; code: ErrorCode; reason: string };

/** How many re-aggregation requests a round may need before it is declared failed. */
export const MAX_ATTEMPTS = 3;

const keyOf = (ian: number, round: number) => `${ian}/${round}`;

export class MaasLedgerContract {
  private readonly elementBytes: number;
  private readonly replay = new ReplayCache(Number.MAX_SAFE_INTEGER);
  /** (ian, round) → attempt → gateway → partial */
  private readonly partials = new Map<string, Map<number, Map<number, StoredPartial>>>();
  /** (ian, round) → the set asked for in a re-aggregation, by attempt. */
  private readonly requested = new Map<string, { attempt: number; contributors: string }>();
  private readonly restored = new Map<string, Extract<RestoreOutcome, { status: 'restored' }>>();
  readonly rejections = new Map<ErrorCode, number>();

  constructor(
    readonly key: LedgerKey,
    readonly params: MaasParams,
    readonly shamir: ShamirParams,
    readonly codec: ReadingCodec,
  ) {
    this.elementBytes = shareBytes(params);
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

  /** Verify: decoding, sender, freshness, replay, tag, element range, requested set. */
  private verify(bytes: Uint8Array, nowMs: number) {
    if (bytes.length > MAX_MESSAGE_BYTES)
      throw new PrivaggError(ErrorCode.OVERSIZED_MESSAGE, 'partial too large');
    const msg = decodeGatewayPartial(bytes, this.elementBytes);
    const { params } = this;
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
    this.replay.check(msg.round, `${msg.ian}/${msg.gateway}/${msg.attempt}`);
    const tagKey = {
      mac: this.key.gatewayMac[msg.ian]![msg.gateway - 1]!,
      identity: this.key.gatewayIdentity[msg.ian]![msg.gateway - 1]!,
    };
    if (!verifyTag(params.modes.mac, tagKey, msg.authenticated, msg.tag)) {
      throw new PrivaggError(ErrorCode.BAD_MAC, 'partial tag does not verify');
    }
    const sums = decodeElements(msg.sums, msg.width, this.elementBytes, params.field.p);
    if (msg.attempt > 0) {
      const asked = this.requested.get(keyOf(msg.ian, msg.round));
      if (
        !asked ||
        asked.attempt !== msg.attempt ||
        asked.contributors !== msg.contributors.join(',')
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
    const done = this.restored.get(k);
    if (done) return done;
    const byAttempt = this.partials.get(k);
    const fail = (reason: string): RestoreOutcome => ({ status: 'failed', ian, round, reason });
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
        crossChecked: false,
        estimates: this.codec.decode(secrets, contributors.length, false),
      });
    }

    const sets = new Map<string, StoredPartial[]>();
    for (const p of partials) {
      const s = p.contributors.join(',');
      sets.set(s, [...(sets.get(s) ?? []), p]);
    }
    if (sets.size > 1) {
      if (attempt + 1 >= MAX_ATTEMPTS)
        return fail(`contributor sets still differ after ${attempt} re-aggregation(s)`);
      const target = intersect(partials.map((p) => p.contributors));
      const inTarget = new Set(target);
      const dropped = new Map<number, number[]>();
      for (const p of partials)
        for (const d of p.contributors) if (!inTarget.has(d)) dropped.set(d, []);
      for (const [d, missing] of dropped) {
        for (const p of partials) if (!p.contributors.includes(d)) missing.push(p.gateway);
      }
      this.requested.set(k, { attempt: attempt + 1, contributors: target.join(',') });
      return {
        status: 'reconcile',
        ian,
        round,
        attempt: attempt + 1,
        contributors: target,
        dropped: [...dropped]
          .map(([device, missingAt]) => ({ device, missingAt }))
          .sort((a, b) => a.device - b.device),
      };
    }
    if (partials.length < threshold) {
      return fail(`${partials.length} of the k = ${threshold} partials needed arrived`);
    }
    const contributors = partials[0]!.contributors;
    let secrets: bigint[];
    let liars: number[];
    try {
      ({ secrets, wrongIndices: liars } = decodeShareVectors(
        this.shamir,
        partials.map((p) => ({ x: p.gateway, ys: p.sums })),
      ));
    } catch (e) {
      if (isPrivaggError(e, ErrorCode.TOO_MANY_ERRORS)) {
        return fail(
          `partials disagree beyond what ${partials.length} of k = ${threshold} can correct`,
        );
      }
      throw e;
    }
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
      crossChecked: partials.length > threshold,
      estimates,
    });
  }

  private store(outcome: Extract<RestoreOutcome, { status: 'restored' }>): RestoreOutcome {
    this.restored.set(keyOf(outcome.ian, outcome.round), outcome);
    return outcome;
  }
}

function intersect(sets: readonly (readonly number[])[]): number[] {
  if (sets.length === 0) return [];
  let acc = new Set(sets[0]);
  for (const s of sets.slice(1)) {
    const next = new Set<number>();
    for (const d of s) if (acc.has(d)) next.add(d);
    acc = next;
  }
  return [...acc].sort((a, b) => a - b);
}
