import { ED25519_SIGNATURE_BYTES } from '../../crypto/ed25519.js';
import { MAC_TAG_BYTES } from '../../crypto/mac.js';
import { ErrorCode, PrivaggError } from '../../errors.js';
import { WireReader, WireWriter } from '../../wire/reader.js';
import { fromBytesBE, toBytesBE } from './modArith.js';

/**
 * The two Joye–Libert messages, big-endian, version 1. Both start with the header of the
 * project's other frames:
 *
 *   version u8 = 1 │ kind u8 │ group u32 │ sender u32 │ round u32 │ timestamp u64 (ms) │ dims u16
 *
 * report (device → its group's aggregator), kind 1:
 *   header 24 │ dims × y (C bytes each) │ HMAC-SHA256 tag 32            = 24 + w·C + 32
 * partial (aggregator → center), kind 2:
 *   header 24 │ devices u32 │ contributor bitmap ⌈n/8⌉ │ dims × Π y (C bytes each)
 *   │ Ed25519 signature 64                                              = 28 + ⌈n/8⌉ + w·C + 64
 *
 * C = ⌈|N|/4⌉ bytes holds any element of Z_{N²} (N² has 2|N| − 1 or 2|N| bits, and both
 * round up to the same byte count). Bit i of the bitmap is bit (i mod 8) of byte ⌊i/8⌋,
 * least significant first; bits at or past n must be 0, so each message has exactly one
 * encoding. The tag or signature covers every byte before it.
 */
export const JL_VERSION = 1;
export const KIND_REPORT = 1;
export const KIND_PARTIAL = 2;
const HEADER_BYTES = 24;

export function elementBytes(modulusBits: number): number {
  return Math.ceil(modulusBits / 4);
}

export function reportBytes(modulusBits: number, dims: number): number {
  return HEADER_BYTES + dims * elementBytes(modulusBits) + MAC_TAG_BYTES;
}

export function bitmapBytes(devices: number): number {
  return Math.ceil(devices / 8);
}

export function partialBytes(modulusBits: number, dims: number, devices: number): number {
  return (
    HEADER_BYTES +
    4 +
    bitmapBytes(devices) +
    dims * elementBytes(modulusBits) +
    ED25519_SIGNATURE_BYTES
  );
}

interface Header {
  readonly group: number;
  readonly sender: number;
  readonly round: number;
  readonly timestampMs: number;
}

export interface Report extends Header {
  readonly ciphertexts: readonly bigint[];
}

export interface Partial extends Header {
  readonly contributors: readonly number[];
  readonly products: readonly bigint[];
}

/** What the codecs need to know of the deployment to size and range-check elements. */
export interface Shape {
  readonly modulusBits: number;
  /** N²: every element on the wire is below it. */
  readonly modulusSquared: bigint;
  readonly dims: number;
  readonly devices: number;
}

function writeHeader(w: WireWriter, kind: number, h: Header, dims: number): void {
  w.u8(JL_VERSION).u8(kind).u32(h.group).u32(h.sender).u32(h.round).u64(h.timestampMs).u16(dims);
}

function readHeader(r: WireReader, kind: number, dims: number): Header {
  const version = r.u8('version');
  if (version !== JL_VERSION)
    throw new PrivaggError(ErrorCode.UNSUPPORTED_VERSION, `joye-libert version ${version}`);
  const k = r.u8('kind');
  if (k !== kind)
    throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, `kind ${k}, expected ${kind}`);
  const group = r.u32('group');
  const sender = r.u32('sender');
  const round = r.u32('round');
  const timestampMs = r.u53('timestamp');
  const d = r.u16('dims');
  if (d !== dims)
    throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, `${d} dimensions, expected ${dims}`);
  return { group, sender, round, timestampMs };
}

function readElement(r: WireReader, s: Shape, what: string): bigint {
  const x = fromBytesBE(r.bytesOf(elementBytes(s.modulusBits), what));
  // Range only: invertibility costs a gcd, which a receiver runs after the tag.
  if (x >= s.modulusSquared) throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, `${what} ≥ N²`);
  return x;
}

function exactLength(bytes: Uint8Array, expected: number, what: string): void {
  if (bytes.length !== expected) {
    throw new PrivaggError(
      ErrorCode.MALFORMED_MESSAGE,
      `a ${what} is ${expected} bytes, got ${bytes.length}`,
      {
        expected,
        length: bytes.length,
      },
    );
  }
}

/** The report's bytes up to its tag; the caller appends HMAC(link key, these bytes). */
export function encodeReportBody(report: Report, s: Shape): Buffer {
  const w = new WireWriter(reportBytes(s.modulusBits, s.dims) - MAC_TAG_BYTES);
  writeHeader(w, KIND_REPORT, report, s.dims);
  for (const y of report.ciphertexts) w.raw(toBytesBE(y, elementBytes(s.modulusBits)));
  return w.done();
}

/** A report's fields, its tag not yet checked. MALFORMED_MESSAGE / UNSUPPORTED_VERSION on any mismatch. */
export function decodeReport(
  bytes: Uint8Array,
  s: Shape,
): { report: Report; body: Uint8Array; tag: Uint8Array } {
  exactLength(bytes, reportBytes(s.modulusBits, s.dims), 'report');
  const r = new WireReader(bytes);
  const header = readHeader(r, KIND_REPORT, s.dims);
  const ciphertexts: bigint[] = [];
  for (let j = 0; j < s.dims; j++) ciphertexts.push(readElement(r, s, `ciphertext ${j}`));
  const body = bytes.subarray(0, r.offset);
  const tag = r.bytesOf(MAC_TAG_BYTES, 'tag');
  r.finish('report');
  return { report: { ...header, ciphertexts }, body, tag };
}

export function encodePartialBody(p: Partial, s: Shape): Buffer {
  const w = new WireWriter(
    partialBytes(s.modulusBits, s.dims, s.devices) - ED25519_SIGNATURE_BYTES,
  );
  writeHeader(w, KIND_PARTIAL, p, s.dims);
  w.u32(s.devices);
  const bitmap = Buffer.alloc(bitmapBytes(s.devices));
  for (const i of p.contributors) {
    if (!Number.isInteger(i) || i < 0 || i >= s.devices)
      throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, `contributor ${i} is not a device`);
    bitmap[i >> 3]! |= 1 << (i & 7);
  }
  w.raw(bitmap);
  for (const y of p.products) w.raw(toBytesBE(y, elementBytes(s.modulusBits)));
  return w.done();
}

/** A partial's fields, its signature not yet checked. */
export function decodePartial(
  bytes: Uint8Array,
  s: Shape,
): { partial: Partial; body: Uint8Array; signature: Uint8Array } {
  exactLength(bytes, partialBytes(s.modulusBits, s.dims, s.devices), 'partial');
  const r = new WireReader(bytes);
  const header = readHeader(r, KIND_PARTIAL, s.dims);
  const devices = r.u32('devices');
  if (devices !== s.devices)
    throw new PrivaggError(
      ErrorCode.MALFORMED_MESSAGE,
      `${devices} devices, expected ${s.devices}`,
    );
  const bitmap = r.bytesOf(bitmapBytes(s.devices), 'bitmap');
  const contributors: number[] = [];
  for (let i = 0; i < 8 * bitmap.length; i++) {
    if ((bitmap[i >> 3]! >> (i & 7)) & 1) {
      if (i >= s.devices)
        throw new PrivaggError(
          ErrorCode.MALFORMED_MESSAGE,
          `bitmap names device ${i} ≥ ${s.devices}`,
        );
      contributors.push(i);
    }
  }
  const products: bigint[] = [];
  for (let j = 0; j < s.dims; j++) products.push(readElement(r, s, `product ${j}`));
  const body = bytes.subarray(0, r.offset);
  const signature = r.bytesOf(ED25519_SIGNATURE_BYTES, 'signature');
  r.finish('partial');
  return { partial: { ...header, contributors, products }, body, signature };
}
