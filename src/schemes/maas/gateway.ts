import { AEAD_OVERHEAD_BYTES, aeadOpen } from '../../crypto/aead.js';
import { ErrorCode, PrivaggError, isPrivaggError } from '../../errors.js';
import { checkFreshness, ReplayCache } from '../common/freshness.js';
import { decodeElements, encodeElements } from '../../wire/fieldElements.js';
import {
  type DecodedDeviceReport,
  decodeDeviceReport,
  encodeGatewayPartialBody,
  MAX_MESSAGE_BYTES,
} from '../../wire/maas.js';
import { findBadTags } from './batchVerify.js';
import type { GatewayKey } from './keys.js';
import { type MaasParams, shareBytes } from './params.js';
import { computeTag } from './tags.js';

/**
 * GW_l of one IAN (paper §V.D), sans-I/O: bytes and the clock come in, a verdict per
 * message and a tagged partial come out.
 *
 * `ingest` runs the cheap checks at once (size, decoding, addressee, round,
 * freshness, replay) and queues the message; `closeRound` batch-verifies the queue
 * (see batchVerify.ts), opens the sealed payloads, sums the shares of the devices whose
 * every dimension arrived intact, and returns the partial with its contributor set.
 * A bad message is rejected with a stable code and never touches the sums; it never
 * blocks the good messages of the same round.
 */
export type Verdict = { ok: true } | { ok: false; code: ErrorCode; reason: string };

export interface Rejection {
  code: ErrorCode;
  reason: string;
  device?: number;
}

interface Pending {
  msg: DecodedDeviceReport;
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

export class MaasGateway {
  private readonly elementBytes: number;
  private readonly replay = new ReplayCache(4);
  private openRound = -1;
  private pending: Pending[] = [];
  /** Accepted shares of closed rounds, kept for re-aggregation requests: round → device → shares. */
  private readonly accepted = new Map<number, Map<number, bigint[]>>();

  constructor(
    readonly key: GatewayKey,
    readonly params: MaasParams,
  ) {
    this.elementBytes = shareBytes(params);
  }

  /** Opens `round` for reports; reports for any other round are WRONG_ROUND. */
  beginRound(round: number): void {
    this.openRound = round;
    this.pending = [];
  }

  /** Cheap checks now; the tag is verified in the round's batch. Never throws. */
  ingest(bytes: Uint8Array, nowMs: number): Verdict {
    try {
      this.precheck(bytes, nowMs);
      return { ok: true };
    } catch (e) {
      const rejection = toRejection(e);
      return { ok: false, code: rejection.code, reason: rejection.reason };
    }
  }

  private precheck(bytes: Uint8Array, nowMs: number): void {
    if (bytes.length > MAX_MESSAGE_BYTES) {
      throw new PrivaggError(ErrorCode.OVERSIZED_MESSAGE, `message of ${bytes.length} bytes`);
    }
    const msg = decodeDeviceReport(bytes, (width, sealed) => {
      const expectedWidth = this.params.modes.layout === 'vector' ? this.params.dimensions.length : 1;
      if (width !== expectedWidth) {
        throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, `carries ${width} shares, expected ${expectedWidth}`);
      }
      return width * this.elementBytes + (sealed ? AEAD_OVERHEAD_BYTES : 0);
    });
    if (msg.perDimension !== (this.params.modes.layout === 'per-dimension') || msg.sealed !== this.params.modes.aead) {
      throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, 'layout or sealing differs from the deployment');
    }
    if (msg.perDimension && msg.dimension >= this.params.dimensions.length) {
      throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, `dimension ${msg.dimension} out of range`);
    }
    if (msg.gateway !== this.key.gateway || msg.ian !== this.key.ian) {
      throw new PrivaggError(ErrorCode.UNKNOWN_SENDER, `addressed to IAN ${msg.ian} gateway ${msg.gateway}`, {
        device: msg.device,
      });
    }
    if (msg.device >= this.params.devicesPerIan) {
      throw new PrivaggError(ErrorCode.UNKNOWN_SENDER, `no device ${msg.device} in IAN ${msg.ian}`, {
        device: msg.device,
      });
    }
    if (msg.round !== this.openRound) {
      throw new PrivaggError(ErrorCode.WRONG_ROUND, `round ${msg.round}, open round ${this.openRound}`, {
        device: msg.device,
      });
    }
    checkFreshness(msg.timestamp, nowMs, this.params.freshnessWindowMs);
    // Only *verified* messages are remembered (in closeRound), so a forgery sent first
    // cannot lock the genuine message out of its round.
    this.replay.check(msg.round, replayKey(msg));
    this.pending.push({ msg });
  }

  /** Verifies the round's batch, aggregates, and builds the tagged partial. */
  closeRound(nowMs: number): GatewayRoundResult {
    const round = this.openRound;
    // Rejections found now; the ones ingest() already returned are not repeated.
    const rejected: Rejection[] = [];
    const batch = this.pending;
    const mode = this.params.modes.mac;
    const bad = new Set(
      findBadTags(
        batch.map(({ msg }) => ({
          received: msg.tag,
          expected: () =>
            computeTag(
              mode,
              { mac: this.key.deviceMac[msg.device]!, identity: this.key.deviceIdentity[msg.device]! },
              msg.authenticated,
            ),
        })),
        this.params.modes.batch,
      ),
    );
    const w = this.params.dimensions.length;
    const perDevice = new Map<number, bigint[]>();
    const failedDevices = new Set<number>();
    for (let b = 0; b < batch.length; b++) {
      const { msg } = batch[b]!;
      if (bad.has(b)) {
        // The device is not blamed for a forgery in its name: its genuine message still counts.
        rejected.push({ code: ErrorCode.BAD_MAC, reason: 'tag does not verify', device: msg.device });
        continue;
      }
      const key = replayKey(msg);
      try {
        // A second authentic copy of the same (device[, dimension]) in one round.
        this.replay.check(round, key);
        const shares = this.openShares(msg);
        let row = perDevice.get(msg.device);
        if (!row) {
          row = new Array<bigint>(w);
          perDevice.set(msg.device, row);
        }
        if (msg.perDimension) row[msg.dimension] = shares[0]!;
        else for (let j = 0; j < w; j++) row[j] = shares[j]!;
        this.replay.remember(round, key);
      } catch (e) {
        const rejection = toRejection(e);
        rejected.push({ ...rejection, device: msg.device });
        // An authentic message that fails to open or holds a non-element: the device
        // itself is faulty this round; leave it out rather than guess.
        if (rejection.code !== ErrorCode.REPLAY) failedDevices.add(msg.device);
      }
    }
    const accepted = new Map<number, bigint[]>();
    const incomplete: number[] = [];
    for (const [device, row] of perDevice) {
      let complete = true;
      for (let j = 0; j < w; j++) if (row[j] === undefined) complete = false;
      // A device with a rejected or missing dimension is left out entirely, so every
      // dimension's sum is over the same contributor set.
      if (complete && !failedDevices.has(device)) accepted.set(device, row);
      else incomplete.push(device);
    }
    this.accepted.set(round, accepted);
    for (const r of this.accepted.keys()) if (r < round - 4) this.accepted.delete(r);
    this.pending = [];
    const contributors = [...accepted.keys()].sort((a, b) => a - b);
    const sums = this.sumOver(accepted, contributors);
    return {
      round,
      contributors,
      sums,
      partial: this.buildPartial(round, contributors, sums, 0, nowMs),
      rejected,
      incomplete: incomplete.sort((a, b) => a - b),
    };
  }

  /**
   * The ledger's reconciliation request: re-sum over exactly `contributors`. Returns
   * null when this gateway did not accept every one of them (it cannot help).
   */
  reaggregate(round: number, contributors: readonly number[], attempt: number, nowMs: number): Buffer | null {
    const accepted = this.accepted.get(round);
    if (!accepted) return null;
    for (const d of contributors) if (!accepted.has(d)) return null;
    const sorted = [...contributors].sort((a, b) => a - b);
    return this.buildPartial(round, sorted, this.sumOver(accepted, sorted), attempt, nowMs);
  }

  /** Encodes and tags a partial (exposed so a simulated compromised gateway can tag a lie). */
  buildPartial(round: number, contributors: readonly number[], sums: readonly bigint[], attempt: number, nowMs: number): Buffer {
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
    );
    const tag = computeTag(this.params.modes.mac, { mac: this.key.ledgerMac, identity: this.key.identity }, body);
    return Buffer.concat([body, tag]);
  }

  private sumOver(accepted: Map<number, bigint[]>, contributors: readonly number[]): bigint[] {
    const field = this.params.field;
    const w = this.params.dimensions.length;
    const sums: bigint[] = [];
    const column = new Array<bigint>(contributors.length);
    for (let j = 0; j < w; j++) {
      for (let c = 0; c < contributors.length; c++) column[c] = accepted.get(contributors[c]!)![j]!;
      sums.push(field.sum(column));
    }
    return sums;
  }

  private openShares(msg: DecodedDeviceReport): bigint[] {
    let plain = msg.payload;
    if (msg.sealed) {
      // The header is the AAD, so a sealed payload cannot be moved to another header.
      plain = aeadOpen(this.key.deviceAead[msg.device]!, msg.payload, msg.authenticated.subarray(0, 24));
    }
    return decodeElements(plain, msg.width, this.elementBytes, this.params.field.p);
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

