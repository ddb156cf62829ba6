import { AEAD_OVERHEAD_BYTES, aeadOpen } from '../../crypto/aead.js';
import { constantTimeEqual } from '../../crypto/bytes.js';
import { ErrorCode, isPrivaggError, PrivaggError } from '../../errors.js';
import { decodeElements, ElementLimbDecoder, encodeElements } from '../../wire/fieldElements.js';
import {
  type DecodedDeviceReport,
  decodeDeviceReport,
  encodeGatewayPartialBody,
  MAX_MESSAGE_BYTES,
  REPORT_HEADER_BYTES,
} from '../../wire/maas.js';
import { checkFreshness, ReplayCache } from '../common/freshness.js';
import { findBadTagsAt } from './batchVerify.js';
import type { GatewayKey } from './keys.js';
import { type MaasParams, shareBytes } from './params.js';
import { decodePartialOf } from './partialCodec.js';
import {
  decodeProofPayload,
  encodeVerifierSection,
  proofPayloadBytes,
  reportValidityContext,
  reportValidityFor,
} from './reportValidity.js';
import { decideResum, type ResumHistory, recordResum, startHistory } from './resumRule.js';
import { computeTag, signEvidence } from './tags.js';
import type { ValidityScheme, VerifierShare } from './validity/shares.js';

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
 */
export type Verdict = { ok: true } | { ok: false; code: ErrorCode; reason: string };

export interface Rejection {
  code: ErrorCode;
  reason: string;
  device?: number;
}

export interface GatewayRoundResult {
  round: number;
  /** Sorted device indices whose shares are in `sums`. */
  contributors: number[];
  /** Σ_i sh_l(d'_ij) mod p for each dimension j. */
  sums: bigint[];
  /** The tagged partial for the ledger. */
  partial: Buffer;
  /** Rejections found while verifying and opening the batch (ingest returned the others). */
  rejected: Rejection[];
  /** Devices that sent some but not all of their per-dimension messages. */
  incomplete: number[];
}

/**
 * A round's accepted shares in the split-limb form of PrimeField.pack: row r holds w
 * elements of `limbs` 32-bit limbs each. Shares go from the wire into this form without
 * a bigint per share, and are summed with PrimeField.sumPacked (float64 limb sums).
 */
interface RoundShares {
  /** Accepted device → its row. */
  rows: Map<number, number>;
  limbs: Uint32Array;
  /** The sets summed in this round so far (resumRule.ts): the chain re-sums must follow. */
  history: ResumHistory;
}

/** A round's opened shares before aggregation: rows by device, dimensions present per row. */
interface OpenedRound {
  rows: Map<number, number>;
  limbs: Uint32Array;
  present: Uint8Array;
  failedDevices: Set<number>;
  /** Rejections found while opening (and, in batch mode, verifying) the round's messages. */
  rejected: Rejection[];
  /** Input validity on: each opened device's verifier share, for the attempt-0 partial. */
  verifiers: Map<number, VerifierShare>;
}

/**
 * In the paper's batch mode, unverified copies of one (device[, dimension]) a round may
 * queue. A flood of forgeries can then lock the genuine message out of its round — one
 * more reason the default mode verifies each tag on ingest.
 */
export const MAX_PENDING_COPIES = 8;

/** Closed rounds whose shares a gateway keeps for re-sum requests, besides the newest. */
export const HELD_ROUNDS = 4;

const ACCEPTED: Verdict = Object.freeze({ ok: true as const });

export class MaasGateway {
  private readonly elementBytes: number;
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
  private readonly decoder: ElementLimbDecoder;
  /** Payload length implied by (width, sealed); throws on a width the deployment does not use. */
  private readonly expectedPayload: (width: number, sealed: boolean, proven: boolean) => number;
  /** Input validity (docs/VALIDITY.md), or null when the deployment runs without it. */
  private readonly validity: ValidityScheme | null;

  constructor(
    readonly key: GatewayKey,
    readonly params: MaasParams,
  ) {
    this.elementBytes = shareBytes(params);
    this.decoder = new ElementLimbDecoder(this.elementBytes, params.field.p);
    const expectedWidth = params.modes.layout === 'vector' ? params.dimensions.length : 1;
    const elementBytes = this.elementBytes;
    const validity = reportValidityFor(params);
    this.validity = validity;
    const provenBytes = validity ? proofPayloadBytes(validity) : 0;
    this.expectedPayload = (width, sealed, proven) => {
      if (width !== expectedWidth) {
        throw new PrivaggError(
          ErrorCode.MALFORMED_MESSAGE,
          `carries ${width} shares, expected ${expectedWidth}`,
        );
      }
      if (proven !== (validity !== null)) {
        // A report without its proof where proofs are required is refused outright: a
        // keyed device must not be able to opt out of the range check.
        throw new PrivaggError(
          validity ? ErrorCode.INVALID_PROOF : ErrorCode.MALFORMED_MESSAGE,
          validity
            ? 'report carries no validity proof'
            : 'proof-carrying report in a deployment without input validity',
        );
      }
      return (proven ? provenBytes : width * elementBytes) + (sealed ? AEAD_OVERHEAD_BYTES : 0);
    };
  }

  /** Opens `round` for reports; reports for any other round are WRONG_ROUND. */
  beginRound(round: number): void {
    this.openRound = round;
    this.pending = [];
    if (this.params.modes.batch === 'each') {
      const stride = this.params.dimensions.length * this.decoder.limbs;
      const n = this.params.devicesPerIan;
      this.live = {
        rows: new Map(),
        limbs: new Uint32Array(n * stride),
        present: new Uint8Array(n),
        failedDevices: new Set(),
        rejected: [],
        verifiers: new Map(),
      };
    }
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
      const msg = this.decodeChecked(bytes);
      if (msg.round !== this.openRound) {
        throw new PrivaggError(
          ErrorCode.WRONG_ROUND,
          `round ${msg.round}, open round ${this.openRound}`,
          { device: msg.device },
        );
      }
      this.checkFreshAndTagged(msg, nowMs);
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
      this.checkFreshAndTagged(this.decodeChecked(bytes), nowMs);
      return ACCEPTED;
    } catch (e) {
      const rejection = toRejection(e);
      return { ok: false, code: rejection.code, reason: rejection.reason };
    }
  }

  /** Size, decoding, layout, addressee and known sender; throws PrivaggError. */
  private decodeChecked(bytes: Uint8Array): DecodedDeviceReport {
    if (bytes.length > MAX_MESSAGE_BYTES) {
      throw new PrivaggError(ErrorCode.OVERSIZED_MESSAGE, `message of ${bytes.length} bytes`);
    }
    const msg = decodeDeviceReport(bytes, this.expectedPayload);
    if (
      msg.perDimension !== (this.params.modes.layout === 'per-dimension') ||
      msg.sealed !== this.params.modes.aead
    ) {
      throw new PrivaggError(
        ErrorCode.MALFORMED_MESSAGE,
        'layout or sealing differs from the deployment',
      );
    }
    if (msg.perDimension && msg.dimension >= this.params.dimensions.length) {
      throw new PrivaggError(
        ErrorCode.MALFORMED_MESSAGE,
        `dimension ${msg.dimension} out of range`,
      );
    }
    if (!msg.perDimension && msg.dimension !== 0) {
      // One encoding per message: the j byte is unused in the vector layout and must be 0.
      throw new PrivaggError(
        ErrorCode.MALFORMED_MESSAGE,
        'dimension byte must be 0 in the vector layout',
      );
    }
    if (msg.gateway !== this.key.gateway || msg.ian !== this.key.ian) {
      throw new PrivaggError(
        ErrorCode.WRONG_RECIPIENT,
        `addressed to IAN ${msg.ian} gateway ${msg.gateway}`,
        {
          device: msg.device,
        },
      );
    }
    if (msg.device >= this.params.devicesPerIan) {
      throw new PrivaggError(
        ErrorCode.UNKNOWN_SENDER,
        `no device ${msg.device} in IAN ${msg.ian}`,
        {
          device: msg.device,
        },
      );
    }
    return msg;
  }

  /** Freshness, and the tag where tags are verified on ingest; throws PrivaggError. */
  private checkFreshAndTagged(msg: DecodedDeviceReport, nowMs: number): void {
    checkFreshness(msg.timestamp, nowMs, this.params.freshnessWindowMs);
    if (this.params.modes.batch !== 'each') return;
    // HMAC has no cheaper batch check, so verify now: forgeries never queue.
    const expected = computeTag(
      this.params.modes.mac,
      { mac: this.key.deviceMac[msg.device]!, identity: this.key.deviceIdentity[msg.device]! },
      msg.authenticated,
    );
    if (!constantTimeEqual(expected, msg.tag)) {
      throw new PrivaggError(ErrorCode.BAD_MAC, 'tag does not verify', { device: msg.device });
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
      this.openInto(this.live!, msg);
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
   * Opens an authentic message's shares into its device's row of the open round. A box
   * that does not open or a share that is not a field element means the device itself is
   * faulty this round: it is left out, and the rejection is reported by closeRound (the
   * message was authentic, so ingest accepted it — as when opening waited for the close).
   */
  private openInto(live: OpenedRound, msg: DecodedDeviceReport): void {
    const L = this.decoder.limbs;
    const stride = this.params.dimensions.length * L;
    try {
      let row = live.rows.get(msg.device);
      const at = row === undefined ? live.rows.size * stride : row * stride;
      if (msg.perDimension) {
        this.openShares(
          msg,
          live.limbs.subarray(at + msg.dimension * L, at + (msg.dimension + 1) * L),
        );
      } else {
        const verifier = this.openShares(msg, live.limbs.subarray(at, at + stride));
        if (verifier) live.verifiers.set(msg.device, verifier);
      }
      if (row === undefined) {
        row = live.rows.size;
        live.rows.set(msg.device, row);
      }
      live.present[row]! |= msg.perDimension
        ? 1 << msg.dimension
        : (1 << this.params.dimensions.length) - 1;
    } catch (e) {
      live.rejected.push({ ...toRejection(e), device: msg.device });
      live.failedDevices.add(msg.device);
    }
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
    const { rows, limbs, present, failedDevices, rejected, verifiers } =
      live ?? this.openBatch(round);
    const w = this.params.dimensions.length;
    const stride = w * this.decoder.limbs;
    const allDimensions = (1 << w) - 1;
    const acceptedRows = new Map<number, number>();
    const incomplete: number[] = [];
    for (const [device, row] of rows) {
      // A device with a rejected or missing dimension is left out entirely, so every
      // dimension's sum is over the same contributor set.
      if (present[row] === allDimensions && !failedDevices.has(device))
        acceptedRows.set(device, row);
      else incomplete.push(device);
    }
    const contributors = [...acceptedRows.keys()].sort((a, b) => a - b);
    const shares: RoundShares = {
      rows: acceptedRows,
      limbs: limbs.subarray(0, rows.size * stride),
      history: startHistory(contributors),
    };
    this.accepted.set(round, shares);
    for (const r of this.accepted.keys()) if (r < round - HELD_ROUNDS) this.accepted.delete(r);
    this.pending = [];
    const sums = this.sumOver(shares, contributors);
    // Input validity: the ledger decides each contributor from these before it restores.
    const verifierShares = this.validity ? contributors.map((d) => verifiers.get(d)!) : undefined;
    return {
      round,
      contributors,
      sums,
      partial: this.buildPartial(round, contributors, sums, 0, nowMs, verifierShares),
      rejected,
      incomplete: incomplete.sort((a, b) => a - b),
    };
  }

  /**
   * The paper's batch mode at close: verifies the queued messages' tags as a batch, then
   * opens the authentic ones into rows (a second authentic copy is a REPLAY).
   */
  private openBatch(round: number): OpenedRound {
    // Rejections found now; the ones ingest() already returned are not repeated.
    const rejected: Rejection[] = [];
    const batch = this.pending;
    const mode = this.params.modes.mac;
    const { deviceMac, deviceIdentity } = this.key;
    const isBad = new Uint8Array(batch.length);
    const bad = findBadTagsAt(
      batch.length,
      (b) => batch[b]!.tag,
      (b) => {
        const msg = batch[b]!;
        return computeTag(
          mode,
          { mac: deviceMac[msg.device]!, identity: deviceIdentity[msg.device]! },
          msg.authenticated,
        );
      },
      this.params.modes.batch,
    );
    for (const b of bad) isBad[b] = 1;
    const w = this.params.dimensions.length;
    const L = this.decoder.limbs;
    const stride = w * L;
    const allDimensions = (1 << w) - 1;
    // At most one row per message; a row is taken only when a device's first share opens.
    const rows = new Map<number, number>();
    const limbs = new Uint32Array(batch.length * stride);
    const present = new Uint8Array(batch.length);
    const opened = new Uint32Array(stride);
    const failedDevices = new Set<number>();
    const verifiers = new Map<number, VerifierShare>();
    for (let b = 0; b < batch.length; b++) {
      const msg = batch[b]!;
      if (isBad[b] === 1) {
        // The device is not blamed for a forgery in its name: its genuine message still counts.
        rejected.push({
          code: ErrorCode.BAD_MAC,
          reason: 'tag does not verify',
          device: msg.device,
        });
        continue;
      }
      const key = replayKey(msg);
      try {
        // A second authentic copy of the same (device[, dimension]) in one round.
        this.replay.check(round, key);
        const verifier = this.openShares(msg, opened);
        if (verifier) verifiers.set(msg.device, verifier);
        let row = rows.get(msg.device);
        if (row === undefined) {
          row = rows.size;
          rows.set(msg.device, row);
        }
        if (msg.perDimension) {
          const at = row * stride + msg.dimension * L;
          for (let t = 0; t < L; t++) limbs[at + t] = opened[t]!;
          present[row]! |= 1 << msg.dimension;
        } else {
          limbs.set(opened, row * stride);
          present[row] = allDimensions;
        }
        this.replay.remember(round, key);
      } catch (e) {
        const rejection = toRejection(e);
        rejected.push({ ...rejection, device: msg.device });
        // An authentic message that fails to open or holds a non-element: the device
        // itself is faulty this round; leave it out rather than guess.
        if (rejection.code !== ErrorCode.REPLAY) failedDevices.add(msg.device);
      }
    }
    return { rows, limbs, present, failedDevices, rejected, verifiers };
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
      this.sumOver(accepted, sorted),
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
    const body = encodeGatewayPartialBody(
      {
        attempt,
        gateway: this.key.gateway,
        ian: this.key.ian,
        round,
        timestamp: nowMs,
        rosterSize: this.params.devicesPerIan,
        contributors,
      },
      encodeElements(sums, this.elementBytes),
      sums.length,
      verifiers && this.validity ? encodeVerifierSection(this.validity, verifiers) : undefined,
    );
    const tag = signEvidence(
      this.params.modes.mac,
      { signer: this.key.signingKey, identity: this.key.identity },
      body,
    );
    return Buffer.concat([body, tag]);
  }

  /** The sums a partial of this deployment carries (decoded, checked). */
  partialSums(partial: Uint8Array): bigint[] {
    const msg = this.decodeOwnPartial(partial);
    return decodeElements(msg.sums, msg.width, this.elementBytes, this.params.field.p);
  }

  /**
   * `partial` re-signed with other sums, everything else (contributors, attempt, time,
   * verifier shares) kept: what a compromised gateway that lies about its sum sends.
   */
  withSums(partial: Uint8Array, sums: readonly bigint[]): Buffer {
    const msg = this.decodeOwnPartial(partial);
    const body = encodeGatewayPartialBody(
      msg,
      encodeElements(sums, this.elementBytes),
      sums.length,
      msg.verifiers ?? undefined,
    );
    const tag = signEvidence(
      this.params.modes.mac,
      { signer: this.key.signingKey, identity: this.key.identity },
      body,
    );
    return Buffer.concat([body, tag]);
  }

  private decodeOwnPartial(partial: Uint8Array) {
    return decodePartialOf(this.params, partial);
  }

  /** Σ over `contributors` of each dimension's shares, mod p. */
  private sumOver(shares: RoundShares, contributors: readonly number[]): bigint[] {
    const field = this.params.field;
    const w = this.params.dimensions.length;
    const L = this.decoder.limbs;
    const stride = w * L;
    const starts = new Int32Array(contributors.length);
    for (let c = 0; c < contributors.length; c++)
      starts[c] = shares.rows.get(contributors[c]!)! * stride;
    const column = new Uint32Array(contributors.length * L);
    const sums: bigint[] = [];
    for (let j = 0; j < w; j++) {
      for (let c = 0; c < contributors.length; c++) {
        const at = starts[c]! + j * L;
        for (let t = 0; t < L; t++) column[c * L + t] = shares.limbs[at + t]!;
      }
      sums.push(field.sumPacked(column));
    }
    return sums;
  }

  /**
   * Opens (if sealed) and range-checks a message's shares into `out` as limbs. With input
   * validity, the payload is the proof-carrying layout: the gateway checks its own parts,
   * runs the proof's linear queries on its share (INVALID_PROOF when the parts do not
   * match what it received), writes its share of each dimension's value (`truncate`, so
   * the sums are what they were without validity) and returns its verifier share.
   */
  private openShares(msg: DecodedDeviceReport, out: Uint32Array): VerifierShare | undefined {
    let plain = msg.payload;
    if (msg.sealed) {
      // The header is the AAD, so a sealed payload cannot be moved to another header.
      plain = aeadOpen(
        this.key.deviceAead[msg.device]!,
        msg.payload,
        msg.authenticated.subarray(0, REPORT_HEADER_BYTES),
      );
    }
    const validity = this.validity;
    if (!validity) {
      this.decoder.decodeInto(plain, msg.width, out, 0);
      return undefined;
    }
    const { share, parts } = decodeProofPayload(validity, this.key.gateway, plain);
    const check = validity.query(
      share,
      parts,
      reportValidityContext(this.params, msg.ian, msg.device, msg.round),
    );
    if (!check.ok) {
      throw new PrivaggError(ErrorCode.INVALID_PROOF, `validity ${check.reason}`, {
        device: msg.device,
      });
    }
    const values = validity.truncate(share.measurement);
    this.decoder.decodeInto(encodeElements(values, this.elementBytes), msg.width, out, 0);
    return check.share;
  }
}

function replayKey(msg: DecodedDeviceReport): string {
  return msg.perDimension ? `${msg.device}/${msg.dimension}` : `${msg.device}`;
}

function toRejection(e: unknown): Rejection {
  if (isPrivaggError(e)) {
    const device = typeof e.details.device === 'number' ? e.details.device : undefined;
    return { code: e.code, reason: e.message, ...(device !== undefined ? { device } : {}) };
  }
  // A bug, not bad input: still never crash the gateway on one message, but say so.
  return { code: ErrorCode.MALFORMED_MESSAGE, reason: `unexpected: ${String(e)}` };
}
