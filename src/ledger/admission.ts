import { ErrorCode } from '../errors.js';
import type { MaasParams } from '../schemes/maas/params.js';
import { partialBytesOf } from '../schemes/maas/partialCodec.js';
import { reportValidityFor, verifierEntryBytes } from '../schemes/maas/reportValidity.js';
import { evidenceTagBytes } from '../schemes/maas/tags.js';
import { MessageType, PARTIAL_HEADER_BYTES, querySize, WIRE_VERSION } from '../wire/maas.js';

/**
 * What a submission must look like before the ledger spends anything on it. A gateway
 * partial's size is fixed by the deployment: 24 header bytes, a bitmap of ⌈n/8⌉ bytes for
 * the roster of n devices, w sums of E bytes and a 32-byte tag. So a partial of any other
 * length, or whose header claims another roster size or width, is refused here, from the
 * fixed header alone — before the bitmap is walked, the tag is computed or a byte is stored.
 * (A crafted 0.5 MB partial claiming a roster of four million devices cost ~200× the CPU
 * of a real one and ~25 MiB of memory in the decoder; it is now a 24-byte read.)
 */
export interface PartialHeader {
  attempt: number;
  width: number;
  gateway: number;
  ian: number;
  round: number;
  rosterSize: number;
}

/**
 * With input validity, a first partial (attempt 0, flag set) also carries one verifier
 * entry per contributor: its size follows from the bitmap, read only when the bytes
 * hold it (a shorter message fails the size check as it is).
 */
function verifierSectionBytes(bytes: Uint8Array, params: MaasParams): number {
  const validity = reportValidityFor(params);
  if (!validity || bytes[5] !== 1) return 0;
  const bitmapBytes = Math.ceil(params.devicesPerIan / 8);
  if (bytes.length < PARTIAL_HEADER_BYTES + bitmapBytes) return 0;
  let contributors = 0;
  for (let i = 0; i < bitmapBytes; i++) {
    let b = bytes[PARTIAL_HEADER_BYTES + i]!;
    for (; b; b &= b - 1) contributors++;
  }
  return contributors * verifierEntryBytes(validity);
}

/** The exact size of every query of this deployment. */
export function queryBytesOf(params: MaasParams): number {
  return querySize(evidenceTagBytes(params.modes.mac));
}

/** The fixed header of a partial, read without checks; undefined if the bytes are too short. */
export function peekPartialHeader(bytes: Uint8Array): PartialHeader | undefined {
  if (bytes.length < PARTIAL_HEADER_BYTES) return undefined;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    attempt: view[2]!,
    width: view[3]!,
    gateway: view[4]!,
    ian: view.readUInt16BE(6),
    round: view.readUInt32BE(8),
    rosterSize: view.readUInt32BE(20),
  };
}

export type Admission =
  | { ok: true; header: PartialHeader }
  | { ok: false; code: ErrorCode; reason: string };

/** The size and header checks above; the contract does every other check afterwards. */
export function admitPartial(bytes: Uint8Array, params: MaasParams): Admission {
  const header = peekPartialHeader(bytes);
  if (!header) {
    return {
      ok: false,
      code: ErrorCode.MALFORMED_MESSAGE,
      reason: `partial of ${bytes.length} bytes is shorter than its header`,
    };
  }
  if (bytes[0] !== WIRE_VERSION) {
    return { ok: false, code: ErrorCode.UNSUPPORTED_VERSION, reason: `wire version ${bytes[0]}` };
  }
  if (bytes[1] !== MessageType.GatewayPartial) {
    return { ok: false, code: ErrorCode.MALFORMED_MESSAGE, reason: `message type ${bytes[1]}` };
  }
  const expected = partialBytesOf(params) + verifierSectionBytes(bytes, params);
  if (bytes.length !== expected) {
    return {
      ok: false,
      code: bytes.length > expected ? ErrorCode.OVERSIZED_MESSAGE : ErrorCode.MALFORMED_MESSAGE,
      reason: `partial of ${bytes.length} bytes; this deployment's partials have ${expected}`,
    };
  }
  if (header.rosterSize !== params.devicesPerIan || header.width !== params.dimensions.length) {
    return {
      ok: false,
      code: ErrorCode.MALFORMED_MESSAGE,
      reason: 'roster size or width differs from the deployment',
    };
  }
  return { ok: true, header };
}
