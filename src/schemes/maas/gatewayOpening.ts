import { aeadOpen } from '../../crypto/aead.js';
import { ErrorCode, PrivaggError } from '../../errors.js';
import { encodeElements } from '../../wire/fieldElements.js';
import { type DecodedDeviceReport, REPORT_HEADER_BYTES } from '../../wire/maas.js';
import type { GatewayContext } from './gatewayContext.js';
import type { OpenedRound } from './gatewayRounds.js';
import { toRejection } from './gatewayVerdicts.js';
import { decodeProofPayload, reportValidityContext } from './reportValidity.js';
import type { VerifierShare } from './validity/shares.js';

/**
 * Where tags are verified on ingest: the open round's empty rows, one per device of the
 * IAN, into which each authentic message is opened as it is admitted.
 */
export function emptyLiveRound(ctx: GatewayContext): OpenedRound {
  const stride = ctx.params.dimensions.length * ctx.decoder.limbs;
  const n = ctx.params.devicesPerIan;
  return {
    rows: new Map(),
    limbs: new Uint32Array(n * stride),
    present: new Uint8Array(n),
    failedDevices: new Set(),
    rejected: [],
    verifiers: new Map(),
  };
}

/**
 * Opens an authentic message's shares into its device's row of the open round. A box
 * that does not open or a share that is not a field element means the device itself is
 * faulty this round: it is left out, and the rejection is reported by closeRound (the
 * message was authentic, so ingest accepted it — as when opening waited for the close).
 */
export function openInto(ctx: GatewayContext, live: OpenedRound, msg: DecodedDeviceReport): void {
  const L = ctx.decoder.limbs;
  const w = ctx.params.dimensions.length;
  const stride = w * L;
  try {
    let row = live.rows.get(msg.device);
    const at = row === undefined ? live.rows.size * stride : row * stride;
    if (msg.perDimension) {
      openShares(
        ctx,
        msg,
        live.limbs.subarray(at + msg.dimension * L, at + (msg.dimension + 1) * L),
      );
    } else {
      const verifier = openShares(ctx, msg, live.limbs.subarray(at, at + stride));
      if (verifier) live.verifiers.set(msg.device, verifier);
    }
    if (row === undefined) {
      row = live.rows.size;
      live.rows.set(msg.device, row);
    }
    live.present[row]! |= msg.perDimension ? 1 << msg.dimension : (1 << w) - 1;
  } catch (e) {
    live.rejected.push({ ...toRejection(e), device: msg.device });
    live.failedDevices.add(msg.device);
  }
}

/**
 * Opens (if sealed) and range-checks a message's shares into `out` as limbs. With input
 * validity, the payload is the proof-carrying layout: the gateway checks its own parts,
 * runs the proof's linear queries on its share (INVALID_PROOF when the parts do not
 * match what it received), writes its share of each dimension's value (`truncate`, so
 * the sums are what they were without validity) and returns its verifier share.
 */
export function openShares(
  ctx: GatewayContext,
  msg: DecodedDeviceReport,
  out: Uint32Array,
): VerifierShare | undefined {
  let plain = msg.payload;
  if (msg.sealed) {
    // The header is the AAD, so a sealed payload cannot be moved to another header.
    plain = aeadOpen(
      ctx.key.deviceAead[msg.device]!,
      msg.payload,
      msg.authenticated.subarray(0, REPORT_HEADER_BYTES),
    );
  }
  const validity = ctx.validity;
  if (!validity) {
    ctx.decoder.decodeInto(plain, msg.width, out, 0);
    return undefined;
  }
  const { share, parts } = decodeProofPayload(validity, ctx.key.gateway, plain);
  const check = validity.query(
    share,
    parts,
    reportValidityContext(ctx.params, msg.ian, msg.device, msg.round),
  );
  if (!check.ok) {
    throw new PrivaggError(ErrorCode.INVALID_PROOF, `validity ${check.reason}`, {
      device: msg.device,
    });
  }
  const values = validity.truncate(share.measurement);
  ctx.decoder.decodeInto(encodeElements(values, ctx.elementBytes), msg.width, out, 0);
  return check.share;
}
