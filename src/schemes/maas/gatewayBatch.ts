import { ErrorCode } from '../../errors.js';
import type { DecodedDeviceReport } from '../../wire/maas.js';
import type { ReplayCache } from '../common/freshness.js';
import { findBadTagsAt } from './batchVerify.js';
import type { GatewayContext } from './gatewayContext.js';
import { openShares } from './gatewayOpening.js';
import { type OpenedRound, replayKey } from './gatewayRounds.js';
import { type Rejection, toRejection } from './gatewayVerdicts.js';
import { computeTag } from './tags.js';
import type { VerifierShare } from './validity/shares.js';

/**
 * The paper's batch mode at close: verifies the queued messages' tags as a batch, then
 * opens the authentic ones into rows (a second authentic copy is a REPLAY). Authentic
 * messages opened are remembered in `replay` under `round`.
 */
export function openBatch(
  ctx: GatewayContext,
  replay: ReplayCache,
  batch: readonly DecodedDeviceReport[],
  round: number,
): OpenedRound {
  // Rejections found now; the ones ingest() already returned are not repeated.
  const rejected: Rejection[] = [];
  const { params, key } = ctx;
  const mode = params.modes.mac;
  const { deviceMac, deviceIdentity } = key;
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
    params.modes.batch,
  );
  for (const b of bad) isBad[b] = 1;
  const w = params.dimensions.length;
  const L = ctx.decoder.limbs;
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
    const rkey = replayKey(msg);
    try {
      // A second authentic copy of the same (device[, dimension]) in one round.
      replay.check(round, rkey);
      const verifier = openShares(ctx, msg, opened);
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
      replay.remember(round, rkey);
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
