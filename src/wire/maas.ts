import { AEAD_OVERHEAD_BYTES } from '../crypto/aead.js';
import { MAC_TAG_BYTES } from '../crypto/mac.js';
import { ErrorCode, PrivaggError } from '../errors.js';
import { WireReader, WireWriter } from './reader.js';

/**
 * Binary codecs of the MaaS messages (docs/SCHEMES.md §1), version 1, big-endian.
 * Sizes are exact and documented here and in docs/WIRE.md; decoders check every
 * length, index and range before any cryptography runs, and return the bytes the tag
 * covers so the verifier never re-encodes.
 *
 * DS → GW report (`MessageType.DeviceReport`):
 *   0  u8   version = 1
 *   1  u8   type = 1
 *   2  u8   flags: bit0 payload is AES-256-GCM sealed, bit1 per-dimension layout,
 *               bit2 proof-carrying (input validity on: the payload is the validity
 *               layout of schemes/maas/reportValidity.ts instead of w shares)
 *   3  u8   w = number of dimensions carried (1 in the per-dimension layout)
 *   4  u8   j = dimension index (per-dimension layout; 0 otherwise)
 *   5  u8   l = gateway index 1..m
 *   6  u16  v = IAN index
 *   8  u32  i = device index
 *  12  u32  rd = round
 *  16  u64  t_cur = timestamp, ms since the epoch
 *  24  …    payload: w shares × E bytes (E = ⌈log2 p / 8⌉), or the proof-carrying layout;
 *           or its sealed box (+28 bytes)
 *  …   32   tag over bytes [0, 24 + |payload|)
 *
 * GW → ledger partial (`MessageType.GatewayPartial`):
 *   0  u8   version, 1 u8 type = 2, 2 u8 attempt (0 = first, 1.. = re-aggregation),
 *   3  u8   w, 4 u8 l, 5 u8 flags (bit0: a verifier section follows the sums; other bits 0),
 *   6  u16 v, 8 u32 rd, 12 u64 t_cur,
 *  20  u32  n = roster size, 24 ⌈n/8⌉ contributor bitmap (bit i of byte i>>3, LSB first),
 *   …  w × E aggregated shares, then (flag bit0) one verifier share and query seed per
 *      contributor (schemes/maas/reportValidity.ts), then the tag: the gateway's 64-byte
 *      Ed25519 signature (the paper's mode: its 32-byte hash).
 *
 * OEM → ledger query (`MessageType.Query`), 24 bytes and the tag (88 bytes signed, 56 in
 * the paper's mode):
 *   0 u8 version, 1 u8 type = 3, 2 u16 OEM index, 4 u16 number of IANs,
 *   6 u32 startRound, 10 u32 endRound (inclusive), 14 u8 dimension mask, 15 u8 reserved = 0,
 *  16 u64 t_cur, 24 tag: the querier's 64-byte Ed25519 signature (paper: 32-byte hash).
 *
 * The tag length of partials and queries is fixed by the deployment's mode
 * (`evidenceTagBytes` in schemes/maas/tags.ts), so decoders are told it.
 */
export const WIRE_VERSION = 1;
export const MessageType = { DeviceReport: 1, GatewayPartial: 2, Query: 3 } as const;

export const REPORT_HEADER_BYTES = 24;
export const PARTIAL_HEADER_BYTES = 24;
/** A query without its tag. */
export const QUERY_BODY_BYTES = 24;

export function querySize(tagBytes: number): number {
  return QUERY_BODY_BYTES + tagBytes;
}
/** No MaaS message is larger than this; bigger input is rejected before parsing. */
export const MAX_MESSAGE_BYTES = 1 << 20;

export interface DeviceReportFields {
  sealed: boolean;
  perDimension: boolean;
  /** The payload is proof-carrying (input validity); absent means false. */
  proven?: boolean;
  /** Number of shares carried. */
  width: number;
  dimension: number;
  gateway: number;
  ian: number;
  device: number;
  round: number;
  timestamp: number;
}

export interface DecodedDeviceReport extends DeviceReportFields {
  proven: boolean;
  payload: Uint8Array;
  tag: Uint8Array;
  /** The bytes the tag covers. */
  authenticated: Uint8Array;
}

export function deviceReportSize(width: number, elementBytes: number, sealed: boolean): number {
  return deviceReportSizeFor(width * elementBytes, sealed);
}

/** A report around a payload of `payloadBytes` (w shares, or a proof-carrying payload). */
export function deviceReportSizeFor(payloadBytes: number, sealed: boolean): number {
  return REPORT_HEADER_BYTES + payloadBytes + (sealed ? AEAD_OVERHEAD_BYTES : 0) + MAC_TAG_BYTES;
}

/** The header alone: it is also the AAD of the sealed payload. */
export function encodeReportHeader(f: DeviceReportFields): Buffer {
  const out = Buffer.alloc(REPORT_HEADER_BYTES);
  writeReportHeader(f, out);
  return out;
}

/**
 * Writes the 24-byte header into bytes [0, 24) of `out`, so a device builds its message in
 * one buffer. Same bytes and range checks (RangeError) as a WireWriter would give.
 */
export function writeReportHeader(f: DeviceReportFields, out: Buffer): void {
  out[0] = WIRE_VERSION;
  out[1] = MessageType.DeviceReport;
  out[2] = (f.sealed ? 1 : 0) | (f.perDimension ? 2 : 0) | (f.proven ? 4 : 0);
  out.writeUInt8(f.width, 3);
  out.writeUInt8(f.dimension, 4);
  out.writeUInt8(f.gateway, 5);
  out.writeUInt16BE(f.ian, 6);
  out.writeUInt32BE(f.device, 8);
  out.writeUInt32BE(f.round, 12);
  const t = f.timestamp;
  if (Number.isSafeInteger(t) && t >= 0) {
    // Two u32 halves: the bigint round trip of writeBigUInt64BE is most of the header's cost.
    out.writeUInt32BE(Math.floor(t / 0x1_0000_0000), 16);
    out.writeUInt32BE(t >>> 0, 20);
  } else {
    out.writeBigUInt64BE(BigInt(t), 16);
  }
}

function checkHeader(r: WireReader, type: number, bytes: Uint8Array): void {
  if (bytes.length > MAX_MESSAGE_BYTES) {
    throw new PrivaggError(ErrorCode.OVERSIZED_MESSAGE, `message of ${bytes.length} bytes`, {
      length: bytes.length,
    });
  }
  const version = r.u8('version');
  if (version !== WIRE_VERSION) {
    throw new PrivaggError(ErrorCode.UNSUPPORTED_VERSION, `wire version ${version}`, { version });
  }
  const t = r.u8('type');
  if (t !== type)
    throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, `message type ${t}, expected ${type}`);
}

/**
 * Parses a report. `expectedPayload(width, sealed)` returns the payload length the
 * receiver's parameters imply, so a message whose length disagrees is MALFORMED.
 *
 * The gateway runs this once per message, so a message of the expected length is read
 * with direct byte access; anything shorter, longer or odd takes the WireReader path,
 * which yields the very same errors.
 */
export function decodeDeviceReport(
  bytes: Uint8Array,
  expectedPayload: (width: number, sealed: boolean, proven: boolean) => number,
): DecodedDeviceReport {
  if (bytes.length < REPORT_HEADER_BYTES || bytes.length > MAX_MESSAGE_BYTES) {
    return decodeDeviceReportChecked(bytes, expectedPayload);
  }
  const version = bytes[0]!;
  if (version !== WIRE_VERSION) {
    throw new PrivaggError(ErrorCode.UNSUPPORTED_VERSION, `wire version ${version}`, { version });
  }
  const t = bytes[1]!;
  if (t !== MessageType.DeviceReport) {
    throw new PrivaggError(
      ErrorCode.MALFORMED_MESSAGE,
      `message type ${t}, expected ${MessageType.DeviceReport}`,
    );
  }
  const flags = bytes[2]!;
  if ((flags & ~7) !== 0)
    throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, `unknown flags ${flags}`);
  const width = bytes[3]!;
  const dimension = bytes[4]!;
  const gateway = bytes[5]!;
  const ian = (bytes[6]! << 8) | bytes[7]!;
  const device = u32At(bytes, 8);
  const round = u32At(bytes, 12);
  const timestampHigh = u32At(bytes, 16);
  // ≤ 2^53 − 1 exactly when the high word is ≤ 2^21 − 1.
  if (timestampHigh > 0x1f_ffff) {
    throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, 't_cur exceeds 2^53', { offset: 16 });
  }
  const timestamp = timestampHigh * 0x1_0000_0000 + u32At(bytes, 20);
  const sealed = (flags & 1) !== 0;
  const perDimension = (flags & 2) !== 0;
  const proven = (flags & 4) !== 0;
  if (width === 0 || (perDimension && width !== 1)) {
    throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, `bad share count ${width}`);
  }
  const payloadLength = expectedPayload(width, sealed, proven);
  const tagAt = REPORT_HEADER_BYTES + payloadLength;
  if (!(payloadLength >= 0 && bytes.length === tagAt + MAC_TAG_BYTES)) {
    // Truncated or trailing bytes: let the reader name the field, as it always has.
    const r = new WireReader(bytes);
    r.bytesOf(REPORT_HEADER_BYTES, 'header');
    r.bytesOf(payloadLength, 'payload');
    r.bytesOf(MAC_TAG_BYTES, 'tag');
    r.finish('device report');
  }
  return {
    sealed,
    perDimension,
    proven,
    width,
    dimension,
    gateway,
    ian,
    device,
    round,
    timestamp,
    payload: bytes.subarray(REPORT_HEADER_BYTES, tagAt),
    tag: bytes.subarray(tagAt),
    authenticated: bytes.subarray(0, tagAt),
  };
}

function u32At(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0
  );
}

/** The field-by-field reader: the reference the fast path above must agree with. */
function decodeDeviceReportChecked(
  bytes: Uint8Array,
  expectedPayload: (width: number, sealed: boolean, proven: boolean) => number,
): DecodedDeviceReport {
  const r = new WireReader(bytes);
  checkHeader(r, MessageType.DeviceReport, bytes);
  const flags = r.u8('flags');
  if ((flags & ~7) !== 0)
    throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, `unknown flags ${flags}`);
  const width = r.u8('w');
  const dimension = r.u8('j');
  const gateway = r.u8('l');
  const ian = r.u16('v');
  const device = r.u32('i');
  const round = r.u32('rd');
  const timestamp = r.u53('t_cur');
  const sealed = (flags & 1) !== 0;
  const perDimension = (flags & 2) !== 0;
  const proven = (flags & 4) !== 0;
  if (width === 0 || (perDimension && width !== 1)) {
    throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, `bad share count ${width}`);
  }
  const payload = r.bytesOf(expectedPayload(width, sealed, proven), 'payload');
  const tag = r.bytesOf(MAC_TAG_BYTES, 'tag');
  r.finish('device report');
  return {
    sealed,
    perDimension,
    proven,
    width,
    dimension,
    gateway,
    ian,
    device,
    round,
    timestamp,
    payload,
    tag,
    authenticated: bytes.subarray(0, REPORT_HEADER_BYTES + payload.length),
  };
}

export interface GatewayPartialFields {
  attempt: number;
  gateway: number;
  ian: number;
  round: number;
  timestamp: number;
  /** Roster size n; the bitmap has ⌈n/8⌉ bytes. */
  rosterSize: number;
  /** Sorted device indices whose shares were summed. */
  contributors: readonly number[];
}

export interface DecodedGatewayPartial extends GatewayPartialFields {
  width: number;
  sums: Uint8Array;
  /** The verifier section (input validity, attempt 0), or null when the flag is off. */
  verifiers: Uint8Array | null;
  tag: Uint8Array;
  authenticated: Uint8Array;
}

export function gatewayPartialSize(
  rosterSize: number,
  width: number,
  elementBytes: number,
  tagBytes: number,
): number {
  return PARTIAL_HEADER_BYTES + Math.ceil(rosterSize / 8) + width * elementBytes + tagBytes;
}

/**
 * The partial up to (not including) its tag; the caller appends the tag. `verifiers`
 * (input validity, attempt 0) follow the sums and set flag bit 0.
 */
export function encodeGatewayPartialBody(
  f: GatewayPartialFields,
  sums: Uint8Array,
  width: number,
  verifiers?: Uint8Array,
): Buffer {
  const bitmap = Buffer.alloc(Math.ceil(f.rosterSize / 8));
  for (const i of f.contributors) {
    if (i < 0 || i >= f.rosterSize) throw new Error(`codec bug: contributor ${i} outside roster`);
    bitmap[i >> 3]! |= 1 << (i & 7);
  }
  const extra = verifiers?.length ?? 0;
  const w = new WireWriter(PARTIAL_HEADER_BYTES + bitmap.length + sums.length + extra)
    .u8(WIRE_VERSION)
    .u8(MessageType.GatewayPartial)
    .u8(f.attempt)
    .u8(width)
    .u8(f.gateway)
    .u8(verifiers ? 1 : 0)
    .u16(f.ian)
    .u32(f.round)
    .u64(f.timestamp)
    .u32(f.rosterSize)
    .raw(bitmap)
    .raw(sums);
  return (verifiers ? w.raw(verifiers) : w).done();
}

/**
 * `verifierEntryBytes`: bytes per contributor of the verifier section where the
 * deployment uses input validity (0: it does not, and the flag must be off).
 */
export function decodeGatewayPartial(
  bytes: Uint8Array,
  elementBytes: number,
  tagBytes: number,
  verifierEntryBytes = 0,
): DecodedGatewayPartial {
  const r = new WireReader(bytes);
  checkHeader(r, MessageType.GatewayPartial, bytes);
  const attempt = r.u8('attempt');
  const width = r.u8('w');
  const gateway = r.u8('l');
  const flags = r.u8('flags');
  if (flags & ~1) throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, 'unknown partial flags');
  if (flags === 1 && verifierEntryBytes === 0)
    throw new PrivaggError(
      ErrorCode.MALFORMED_MESSAGE,
      'verifier section in a deployment without input validity',
    );
  const ian = r.u16('v');
  const round = r.u32('rd');
  const timestamp = r.u53('t_cur');
  const rosterSize = r.u32('n');
  if (width === 0) throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, 'partial carries no sums');
  if (rosterSize === 0 || rosterSize > 8 * (MAX_MESSAGE_BYTES / 2)) {
    throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, `roster size ${rosterSize}`);
  }
  const bitmap = r.bytesOf(Math.ceil(rosterSize / 8), 'contributor bitmap');
  const contributors: number[] = [];
  for (let i = 0; i < rosterSize; i++) if (bitmap[i >> 3]! & (1 << (i & 7))) contributors.push(i);
  // Bits past n must be zero, so one set has one encoding.
  for (let i = rosterSize; i < bitmap.length * 8; i++) {
    if (bitmap[i >> 3]! & (1 << (i & 7)))
      throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, 'bitmap bit past n');
  }
  const sums = r.bytesOf(width * elementBytes, 'sums');
  const verifiers =
    flags === 1 ? r.bytesOf(contributors.length * verifierEntryBytes, 'verifier section') : null;
  const tag = r.bytesOf(tagBytes, 'tag');
  r.finish('gateway partial');
  return {
    attempt,
    gateway,
    ian,
    round,
    timestamp,
    rosterSize,
    contributors,
    width,
    sums,
    verifiers,
    tag,
    authenticated: bytes.subarray(0, bytes.length - tagBytes),
  };
}

export interface QueryFields {
  oem: number;
  number: number;
  startRound: number;
  endRound: number;
  dimensionMask: number;
  timestamp: number;
}

export interface DecodedQuery extends QueryFields {
  tag: Uint8Array;
  authenticated: Uint8Array;
}

export function encodeQueryBody(q: QueryFields): Buffer {
  return new WireWriter(QUERY_BODY_BYTES)
    .u8(WIRE_VERSION)
    .u8(MessageType.Query)
    .u16(q.oem)
    .u16(q.number)
    .u32(q.startRound)
    .u32(q.endRound)
    .u8(q.dimensionMask)
    .u8(0)
    .u64(q.timestamp)
    .done();
}

export function decodeQuery(bytes: Uint8Array, tagBytes: number): DecodedQuery {
  const r = new WireReader(bytes);
  checkHeader(r, MessageType.Query, bytes);
  const oem = r.u16('oem');
  const number = r.u16('number');
  const startRound = r.u32('startRound');
  const endRound = r.u32('endRound');
  const dimensionMask = r.u8('dimension mask');
  if (r.u8('reserved') !== 0)
    throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, 'reserved byte is not 0');
  const timestamp = r.u53('t_cur');
  const tag = r.bytesOf(tagBytes, 'tag');
  r.finish('query');
  if (number === 0) throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, 'query for 0 IANs');
  if (endRound < startRound)
    throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, 'endRound before startRound');
  if (dimensionMask === 0)
    throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, 'query for no dimension');
  return {
    oem,
    number,
    startRound,
    endRound,
    dimensionMask,
    timestamp,
    tag,
    authenticated: bytes.subarray(0, QUERY_BODY_BYTES),
  };
}
