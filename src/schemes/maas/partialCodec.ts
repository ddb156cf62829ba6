import { ErrorCode, PrivaggError } from '../../errors.js';
import {
  type DecodedGatewayPartial,
  decodeGatewayPartial,
  gatewayPartialSize,
  MAX_MESSAGE_BYTES,
} from '../../wire/maas.js';
import { type MaasParams, shareBytes } from './params.js';
import { reportValidityFor, verifierEntryBytes } from './reportValidity.js';
import { evidenceTagBytes } from './tags.js';

/**
 * A gateway partial decoded with the sizes the deployment fixes: element width, the tag
 * of its evidence mode, and the verifier section where input validity is on. Every
 * reader of partials (ledger, gateway, chain audits, Fabric) goes through this, so a
 * deployment setting is never forgotten in one of them.
 */
export function decodePartialOf(params: MaasParams, bytes: Uint8Array): DecodedGatewayPartial {
  const validity = reportValidityFor(params);
  return decodeGatewayPartial(
    bytes,
    shareBytes(params),
    evidenceTagBytes(params.modes.mac),
    validity ? verifierEntryBytes(validity) : 0,
  );
}

/** The size of every partial of this deployment, before any verifier section (input validity). */
export function partialBytesOf(params: MaasParams): number {
  return bareSizeAt(params, params.devicesPerIan);
}

/** The largest partial of this deployment: a first one over the whole roster, with validity. */
export function maxPartialBytesOf(params: MaasParams): number {
  return firstSizeAt(params, params.devicesPerIan, verifierEntryBytesOf(params));
}

/**
 * Refuses a deployment whose largest partial exceeds MAX_MESSAGE_BYTES, the limit every
 * reader of partials applies (ledger contract, gateway, Fabric): with input validity a
 * first partial carries one verifier entry per contributor (560 bytes at the default LDP
 * range), so above ~1,870 devices per IAN every honest first partial would be refused
 * and no round would ever restore. Failing at setup says so instead.
 */
export function ensurePartialsFit(params: MaasParams): void {
  const perDevice = verifierEntryBytesOf(params);
  const bytes = firstSizeAt(params, params.devicesPerIan, perDevice);
  if (bytes <= MAX_MESSAGE_BYTES) return;
  let fits: number | undefined;
  if (perDevice > 0) {
    // The largest roster whose first partial fits: the bitmap grows by a byte every 8.
    fits = Math.floor(MAX_MESSAGE_BYTES / perDevice);
    while (fits > 0 && firstSizeAt(params, fits, perDevice) > MAX_MESSAGE_BYTES) fits--;
  }
  throw new PrivaggError(
    ErrorCode.INVALID_ARGUMENT,
    `a partial of this deployment would be ${bytes} bytes, over the ${MAX_MESSAGE_BYTES}-byte message limit` +
      (fits !== undefined
        ? `: with input validity each contributor adds ${perDevice} bytes to a first partial, so at most ${fits} devices per IAN fit (split the IANs, or turn input validity off)`
        : ''),
    { bytes, limit: MAX_MESSAGE_BYTES, devicesPerIan: params.devicesPerIan },
  );
}

/** Bytes one contributor adds to a first partial: 0 without input validity. */
function verifierEntryBytesOf(params: MaasParams): number {
  const validity = reportValidityFor(params);
  return validity ? verifierEntryBytes(validity) : 0;
}

function bareSizeAt(params: MaasParams, devices: number): number {
  return gatewayPartialSize(
    devices,
    params.dimensions.length,
    shareBytes(params),
    evidenceTagBytes(params.modes.mac),
  );
}

function firstSizeAt(params: MaasParams, devices: number, perDevice: number): number {
  return bareSizeAt(params, devices) + devices * perDevice;
}
