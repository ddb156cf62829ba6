import { constantTimeEqual } from '../../crypto/bytes.js';
import { ErrorCode, PrivaggError } from '../../errors.js';
import {
  type DecodedDeviceReport,
  decodeDeviceReport,
  MAX_MESSAGE_BYTES,
} from '../../wire/maas.js';
import { checkFreshness } from '../common/freshness.js';
import type { GatewayContext } from './gatewayContext.js';
import { computeTag } from './tags.js';

/** Size, decoding, layout, addressee and known sender; throws PrivaggError. */
export function decodeChecked(ctx: GatewayContext, bytes: Uint8Array): DecodedDeviceReport {
  if (bytes.length > MAX_MESSAGE_BYTES) {
    throw new PrivaggError(ErrorCode.OVERSIZED_MESSAGE, `message of ${bytes.length} bytes`);
  }
  const { params, key } = ctx;
  const msg = decodeDeviceReport(bytes, ctx.expectedPayload);
  if (
    msg.perDimension !== (params.modes.layout === 'per-dimension') ||
    msg.sealed !== params.modes.aead
  ) {
    throw new PrivaggError(
      ErrorCode.MALFORMED_MESSAGE,
      'layout or sealing differs from the deployment',
    );
  }
  if (msg.perDimension && msg.dimension >= params.dimensions.length) {
    throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, `dimension ${msg.dimension} out of range`);
  }
  if (!msg.perDimension && msg.dimension !== 0) {
    // One encoding per message: the j byte is unused in the vector layout and must be 0.
    throw new PrivaggError(
      ErrorCode.MALFORMED_MESSAGE,
      'dimension byte must be 0 in the vector layout',
    );
  }
  if (msg.gateway !== key.gateway || msg.ian !== key.ian) {
    throw new PrivaggError(
      ErrorCode.WRONG_RECIPIENT,
      `addressed to IAN ${msg.ian} gateway ${msg.gateway}`,
      {
        device: msg.device,
      },
    );
  }
  if (msg.device >= params.devicesPerIan) {
    throw new PrivaggError(ErrorCode.UNKNOWN_SENDER, `no device ${msg.device} in IAN ${msg.ian}`, {
      device: msg.device,
    });
  }
  return msg;
}

/** Freshness, and the tag where tags are verified on ingest; throws PrivaggError. */
export function checkFreshAndTagged(
  ctx: GatewayContext,
  msg: DecodedDeviceReport,
  nowMs: number,
): void {
  const { params, key } = ctx;
  checkFreshness(msg.timestamp, nowMs, params.freshnessWindowMs);
  if (params.modes.batch !== 'each') return;
  // HMAC has no cheaper batch check, so verify now: forgeries never queue.
  const expected = computeTag(
    params.modes.mac,
    { mac: key.deviceMac[msg.device]!, identity: key.deviceIdentity[msg.device]! },
    msg.authenticated,
  );
  if (!constantTimeEqual(expected, msg.tag)) {
    throw new PrivaggError(ErrorCode.BAD_MAC, 'tag does not verify', { device: msg.device });
  }
}
