import { MAC_TAG_BYTES, type MacKey, macTag, macVerify } from '../../crypto/mac.js';
import { ErrorCode, PrivaggError } from '../../errors.js';
import { WireReader, WireWriter } from '../../wire/reader.js';

/**
 * The one message layout of the test schemes: a fixed header, a body of u64 words and an
 * HMAC-SHA256 tag over everything before it, keyed per link.
 *
 *   version u8 = 1 │ kind u8 │ group u32 │ sender u32 │ round u32 │ timestamp u64 (ms)
 *   │ count u16 │ count × u64 │ tag 32
 *
 * The size is 24 + 8·count + 32 bytes. Test schemes exist to exercise the runtime, so they
 * authenticate like real ones: a forged, relabelled or replayed frame must be refused there
 * exactly as in MaaS, or the runtime's handling of refusals goes untested.
 */
export const FRAME_VERSION = 1;
const HEADER_BYTES = 24;

export interface Frame {
  readonly kind: number;
  readonly group: number;
  readonly sender: number;
  readonly round: number;
  readonly timestampMs: number;
  readonly words: readonly bigint[];
}

export function frameBytes(words: number): number {
  return HEADER_BYTES + 8 * words + MAC_TAG_BYTES;
}

export function encodeFrame(f: Frame, key: MacKey): Buffer {
  const w = new WireWriter(frameBytes(f.words.length));
  w.u8(FRAME_VERSION).u8(f.kind).u32(f.group).u32(f.sender).u32(f.round).u64(f.timestampMs);
  w.u16(f.words.length);
  for (const x of f.words) w.u64(x);
  const body = w.bytes.subarray(0, w.offset);
  w.raw(macTag(key, body));
  return w.done();
}

/**
 * The frame's fields, the tag not yet checked (the sender it names picks the key). Throws
 * MALFORMED_MESSAGE / UNSUPPORTED_VERSION on any length, version or kind mismatch.
 */
export function decodeFrame(bytes: Uint8Array, kind: number, words: number): Frame {
  if (bytes.length !== frameBytes(words)) {
    throw new PrivaggError(
      ErrorCode.MALFORMED_MESSAGE,
      `a frame of kind ${kind} is ${frameBytes(words)} bytes, got ${bytes.length}`,
    );
  }
  const r = new WireReader(bytes);
  const version = r.u8('version');
  if (version !== FRAME_VERSION)
    throw new PrivaggError(ErrorCode.UNSUPPORTED_VERSION, `frame version ${version}`);
  const k = r.u8('kind');
  if (k !== kind)
    throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, `kind ${k}, expected ${kind}`);
  const group = r.u32('group');
  const sender = r.u32('sender');
  const round = r.u32('round');
  const timestampMs = r.u53('timestamp');
  const count = r.u16('count');
  if (count !== words) throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, `${count} words`);
  const out: bigint[] = [];
  for (let i = 0; i < count; i++) out.push(r.u64('word'));
  r.bytesOf(MAC_TAG_BYTES, 'tag');
  r.finish('frame');
  return { kind, group, sender, round, timestampMs, words: out };
}

/** BAD_MAC unless the frame's tag verifies under `key` (constant-time). */
export function checkFrameTag(bytes: Uint8Array, key: MacKey): void {
  const body = bytes.subarray(0, bytes.length - MAC_TAG_BYTES);
  const tag = bytes.subarray(bytes.length - MAC_TAG_BYTES);
  if (!macVerify(key, tag, body))
    throw new PrivaggError(ErrorCode.BAD_MAC, 'HMAC-SHA256 tag does not verify');
}

/**
 * UNKNOWN_SENDER unless the frame names a device of `group` below `devices` and the
 * transport vouches for that same device (a report relabelled as another device's fails
 * here before its tag is looked at).
 */
export function checkSender(
  f: Frame,
  group: number,
  devices: number,
  from: { role: string; group: number; index: number },
): void {
  if (f.group !== group || f.sender >= devices)
    throw new PrivaggError(ErrorCode.UNKNOWN_SENDER, `device ${f.group}/${f.sender}`);
  if (from.role !== 'device' || from.group !== f.group || from.index !== f.sender)
    throw new PrivaggError(
      ErrorCode.UNKNOWN_SENDER,
      'the report names another device than its sender',
    );
}
