import type { KeyObject } from 'node:crypto';
import { sha256, utf8 } from '../crypto/bytes.js';
import {
  ED25519_SIGNATURE_BYTES,
  type Ed25519PrivateKey,
  ed25519Sign,
  ed25519Verify,
} from '../crypto/ed25519.js';
import { exportRawPublic } from '../crypto/rawKeys.js';
import { ErrorCode, PrivaggError } from '../errors.js';
import { WireReader, WireWriter } from './reader.js';

/**
 * The control plane's messages (ledger → gateways, devices, observers), version 1,
 * big-endian, each signed by the ledger's Ed25519 key. Every process of a deployment holds
 * the ledger's public key (its credential bundle), so a message nobody but the ledger could
 * have sent is the only kind a role acts on.
 *
 * Common header:
 *   0  u8   version = 1
 *   1  u8   kind: 1 epoch, 2 reconcile, 3 outcome
 *   2  32   deployment = SHA-256(UTF-8 deployment name): fixed size, and a message for
 *           another deployment never verifies as this one's
 *
 * Epoch (kind 1), 118 bytes — the start of round 0, published retained:
 *  34  u64  epochMs     start of round 0, ms since the Unix epoch (≤ 2^53 − 1)
 *  42  u32  roundMs     round duration (≥ 1)
 *  46  u64  issuedAtMs  when the ledger signed it (≤ 2^53 − 1); the newest one wins
 *  54  64   signature
 *
 * Reconcile (kind 2), 118 + ⌈m/8⌉ + ⌈n/8⌉ bytes — "gateways G, re-sum round rd over C":
 *  34  u64  epochMs     the run's epoch: a request of an earlier run is refused
 *  42  u16  v = IAN
 *  44  u32  rd = round
 *  48  u8   attempt (1..255; 0 is the gateways' own first partial, never requested)
 *  49  u8   m = gateways per IAN (1..255)
 *  50  u32  n = roster size (1..MAX_ROSTER)
 *  54  ⌈m/8⌉ asked gateways: bit (l−1) of byte (l−1)>>3, LSB first, for gateway l; at
 *           least one bit; bits past m zero
 *   …  ⌈n/8⌉ contributors C: bit i of byte i>>3, LSB first, for device i (as in a
 *           partial); bits past n zero. A bitmap, so C is sorted and unique by construction
 *   …  64   signature
 *
 * Outcome (kind 3), 116 + Σ(2 + |reason|) bytes — an IAN-round's final status:
 *  34  u64  epochMs
 *  42  u16  v = IAN
 *  44  u32  rd = round
 *  48  u8   status: 0 complete, 1 degraded, 2 failed (complete ⇔ no reasons)
 *  49  u8   c = number of reasons (0..MAX_REASONS)
 *  50  u16  R = bytes of the reasons that follow
 *  52  R    c × (u16 length 1..MAX_REASON_BYTES, UTF-8 without control characters)
 *   …  64   signature
 *
 * Signature: Ed25519 (RFC 8032, pure) over CONTROL_DOMAIN ‖ every byte before the
 * signature (version and kind included). The domain keeps these signatures from ever
 * verifying as another privagg signature by the same key (signed chain heads, blocks);
 * pure Ed25519 hashes the public key into every signature, so a message is bound to the
 * ledger key that signed it, and a retained message of an earlier run (another ledger key)
 * never verifies.
 *
 * Decoding checks size, version, kind, every length, range and bitmap padding, and (given
 * the deployment's roster) n and m, before the signature; each failure throws PrivaggError
 * with a stable code: OVERSIZED_MESSAGE, UNSUPPORTED_VERSION, MALFORMED_MESSAGE,
 * WRONG_RECIPIENT (another deployment, another roster), BAD_SIGNATURE.
 */
export const CONTROL_VERSION = 1;
export const CONTROL_DOMAIN = utf8('privagg/v1/control');
export const ControlKind = { epoch: 1, reconcile: 2, outcome: 3 } as const;
export type ControlKind = keyof typeof ControlKind;

export const CONTROL_HEADER_BYTES = 34;
export const EPOCH_BYTES = 118;
export const RECONCILE_FIXED_BYTES = 118;
export const OUTCOME_FIXED_BYTES = 116;
/** Largest roster a reconcile carries (the MaaS parameters' limit on devicesPerIan). */
export const MAX_ROSTER = 1_000_000;
export const MAX_GATEWAYS = 255;
export const MAX_REASONS = 16;
export const MAX_REASON_BYTES = 512;
/** No control message is larger: bigger input is OVERSIZED_MESSAGE before any parsing. */
export const CONTROL_MAX_BYTES =
  RECONCILE_FIXED_BYTES + Math.ceil(MAX_GATEWAYS / 8) + Math.ceil(MAX_ROSTER / 8);

export const OutcomeStatus = ['complete', 'degraded', 'failed'] as const;
export type OutcomeStatus = (typeof OutcomeStatus)[number];

export interface EpochBody {
  deployment: string;
  epochMs: number;
  roundMs: number;
  issuedAtMs: number;
}

export interface ReconcileBody {
  deployment: string;
  epochMs: number;
  ian: number;
  round: number;
  attempt: number;
  /** n: the deployment's roster size (devices per IAN). */
  rosterSize: number;
  /** m: the deployment's gateways per IAN. */
  gatewayCount: number;
  /** Sorted, unique device indices in [0, n). */
  contributors: readonly number[];
  /** Sorted, unique gateway indices in [1, m], at least one: the gateways asked. */
  gateways: readonly number[];
}

export interface OutcomeBody {
  deployment: string;
  epochMs: number;
  ian: number;
  round: number;
  status: OutcomeStatus;
  /** Empty exactly when complete; at most MAX_REASONS of 1..MAX_REASON_BYTES UTF-8 bytes. */
  reasons: readonly string[];
}

export interface ControlBodies {
  epoch: EpochBody;
  reconcile: ReconcileBody;
  outcome: OutcomeBody;
}

export type ControlMessage = {
  [K in ControlKind]: { kind: K } & ControlBodies[K];
}[ControlKind];

/** What a receiver knows and checks a message against. */
export interface ControlContext {
  deployment: string;
  /** The ledger's Ed25519 public key: 32 raw bytes, or a KeyObject. */
  ledgerPublicKey: Uint8Array | KeyObject;
  /** When given, a reconcile must carry exactly this roster size n … */
  rosterSize?: number;
  /** … and this number of gateways m. */
  gatewayCount?: number;
}

/** A private Ed25519 key the ledger signs with. */
export type ControlSigningKey = KeyObject | Ed25519PrivateKey;

// ─── encoding ──────────────────────────────────────────────────────────────────────────

const invalid = (message: string, details?: Record<string, unknown>) =>
  new PrivaggError(ErrorCode.INVALID_ARGUMENT, message, details);

function checkInt(x: number, lo: number, hi: number, what: string): void {
  if (!Number.isSafeInteger(x) || x < lo || x > hi)
    throw invalid(`${what} must be an integer in [${lo}, ${hi}]`, { [what]: x });
}

/** The unsigned bytes of a control message (what the signature covers, after the domain). */
export function encodeControlBody<K extends ControlKind>(kind: K, body: ControlBodies[K]): Buffer {
  switch (kind) {
    case 'epoch':
      return encodeEpoch(body as EpochBody);
    case 'reconcile':
      return encodeReconcile(body as ReconcileBody);
    case 'outcome':
      return encodeOutcome(body as OutcomeBody);
    default:
      throw invalid(`unknown control kind ${String(kind)}`);
  }
}

function header(w: WireWriter, kind: ControlKind, deployment: string): WireWriter {
  if (typeof deployment !== 'string' || deployment.length === 0)
    throw invalid('deployment name must be a non-empty string');
  return w.u8(CONTROL_VERSION).u8(ControlKind[kind]).raw(deploymentId(deployment));
}

/** SHA-256 of the deployment name's UTF-8: how a control message names its deployment. */
export function deploymentId(deployment: string): Buffer {
  return sha256(utf8(deployment));
}

function encodeEpoch(b: EpochBody): Buffer {
  checkInt(b.epochMs, 0, Number.MAX_SAFE_INTEGER, 'epochMs');
  checkInt(b.roundMs, 1, 0xffff_ffff, 'roundMs');
  checkInt(b.issuedAtMs, 0, Number.MAX_SAFE_INTEGER, 'issuedAtMs');
  return header(new WireWriter(EPOCH_BYTES - ED25519_SIGNATURE_BYTES), 'epoch', b.deployment)
    .u64(b.epochMs)
    .u32(b.roundMs)
    .u64(b.issuedAtMs)
    .done();
}

/** A bitmap of `size` bits with bit (x − offset) set for each x; checks sorted, unique, in range. */
function bitmapOf(xs: readonly number[], size: number, offset: number, what: string): Buffer {
  const out = Buffer.alloc(Math.ceil(size / 8));
  let previous = -1;
  for (const x of xs) {
    checkInt(x, offset, offset + size - 1, what);
    if (x <= previous) throw invalid(`${what} must be sorted and unique`);
    previous = x;
    const bit = x - offset;
    out[bit >> 3]! |= 1 << (bit & 7);
  }
  return out;
}

function encodeReconcile(b: ReconcileBody): Buffer {
  checkInt(b.epochMs, 0, Number.MAX_SAFE_INTEGER, 'epochMs');
  checkInt(b.ian, 0, 0xffff, 'ian');
  checkInt(b.round, 0, 0xffff_ffff, 'round');
  checkInt(b.attempt, 1, 255, 'attempt');
  checkInt(b.gatewayCount, 1, MAX_GATEWAYS, 'gatewayCount');
  checkInt(b.rosterSize, 1, MAX_ROSTER, 'rosterSize');
  if (b.gateways.length === 0) throw invalid('a reconcile asks at least one gateway');
  const gateways = bitmapOf(b.gateways, b.gatewayCount, 1, 'gateway');
  const contributors = bitmapOf(b.contributors, b.rosterSize, 0, 'contributor');
  return header(
    new WireWriter(
      RECONCILE_FIXED_BYTES - ED25519_SIGNATURE_BYTES + gateways.length + contributors.length,
    ),
    'reconcile',
    b.deployment,
  )
    .u64(b.epochMs)
    .u16(b.ian)
    .u32(b.round)
    .u8(b.attempt)
    .u8(b.gatewayCount)
    .u32(b.rosterSize)
    .raw(gateways)
    .raw(contributors)
    .done();
}

function encodeOutcome(b: OutcomeBody): Buffer {
  checkInt(b.epochMs, 0, Number.MAX_SAFE_INTEGER, 'epochMs');
  checkInt(b.ian, 0, 0xffff, 'ian');
  checkInt(b.round, 0, 0xffff_ffff, 'round');
  const status = OutcomeStatus.indexOf(b.status);
  if (status < 0) throw invalid(`unknown outcome status ${String(b.status)}`);
  if (b.reasons.length > MAX_REASONS) throw invalid(`more than ${MAX_REASONS} reasons`);
  if ((b.status === 'complete') !== (b.reasons.length === 0))
    throw invalid('an outcome has reasons exactly when it is not complete');
  const reasons = b.reasons.map((r) => {
    const bytes = utf8(r);
    if (bytes.length < 1 || bytes.length > MAX_REASON_BYTES || !printable(r))
      throw invalid(
        `a reason must be 1..${MAX_REASON_BYTES} UTF-8 bytes without control characters`,
      );
    return bytes;
  });
  const R = reasons.reduce((a, r) => a + 2 + r.length, 0);
  const w = header(
    new WireWriter(OUTCOME_FIXED_BYTES - ED25519_SIGNATURE_BYTES + R),
    'outcome',
    b.deployment,
  )
    .u64(b.epochMs)
    .u16(b.ian)
    .u32(b.round)
    .u8(status)
    .u8(reasons.length)
    .u16(R);
  for (const r of reasons) w.u16(r.length).raw(r);
  return w.done();
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

function printable(s: string): boolean {
  return !CONTROL_CHARACTERS.test(s);
}

/**
 * Reasons as an outcome can carry them: at most MAX_REASONS, each cut (at a character
 * boundary) to MAX_REASON_BYTES with control characters replaced — for a sender whose
 * reasons come from elsewhere (the ledger's round statuses).
 */
export function boundedReasons(reasons: readonly string[]): string[] {
  return reasons.slice(0, MAX_REASONS).map((r) => {
    let s = r.replace(new RegExp(CONTROL_CHARACTERS.source, 'g'), ' ');
    if (s.length === 0) s = '-';
    // At most MAX_REASON_BYTES characters first (each is ≥ 1 byte), then trim to the byte bound.
    let chars = [...s].slice(0, MAX_REASON_BYTES);
    while (utf8(chars.join('')).length > MAX_REASON_BYTES) chars = chars.slice(0, -1);
    s = chars.join('');
    return s;
  });
}

// ─── signing ───────────────────────────────────────────────────────────────────────────

/** CONTROL_DOMAIN ‖ the unsigned bytes: what the ledger's key signs. */
export function controlSigningInput(unsigned: Uint8Array): Buffer {
  return Buffer.concat([CONTROL_DOMAIN, unsigned]);
}

const imported = new WeakMap<KeyObject, Ed25519PrivateKey>();

function signerOf(key: ControlSigningKey): Ed25519PrivateKey {
  if (!('keyObject' in key)) {
    let k = imported.get(key);
    if (!k) {
      if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519')
        throw new PrivaggError(ErrorCode.BAD_KEY, 'the control key must be a private Ed25519 key');
      k = { algorithm: 'ed25519', keyObject: key, publicKey: exportRawPublic(key) };
      imported.set(key, k);
    }
    return k;
  }
  return key;
}

/** The signed message: the body's bytes, then the ledger's signature over domain ‖ them. */
export function encodeSignedControl<K extends ControlKind>(
  kind: K,
  body: ControlBodies[K],
  key: ControlSigningKey,
): Buffer {
  const unsigned = encodeControlBody(kind, body);
  return Buffer.concat([unsigned, ed25519Sign(signerOf(key), controlSigningInput(unsigned))]);
}

// ─── decoding ──────────────────────────────────────────────────────────────────────────

export type DecodedControl = {
  [K in ControlKind]: { kind: K } & Omit<ControlBodies[K], 'deployment'>;
}[ControlKind] & {
  /** SHA-256 of the deployment name the message claims. */
  deploymentId: Uint8Array;
  /** The bytes the signature covers (after the domain). */
  signed: Uint8Array;
  signature: Uint8Array;
};

const malformed = (message: string, details?: Record<string, unknown>) =>
  new PrivaggError(ErrorCode.MALFORMED_MESSAGE, message, details);

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses a control message's structure — no deployment, no signature (see `openControl`).
 * `limits` (the receiver's roster) makes a reconcile for another n or m WRONG_RECIPIENT.
 */
export function decodeControl(
  bytes: Uint8Array,
  limits: { rosterSize?: number; gatewayCount?: number } = {},
): DecodedControl {
  if (!(bytes instanceof Uint8Array)) throw malformed('control message is not bytes');
  if (bytes.length > CONTROL_MAX_BYTES) {
    throw new PrivaggError(
      ErrorCode.OVERSIZED_MESSAGE,
      `control message of ${bytes.length} bytes`,
      {
        length: bytes.length,
      },
    );
  }
  const r = new WireReader(bytes);
  const version = r.u8('version');
  if (version !== CONTROL_VERSION)
    throw new PrivaggError(ErrorCode.UNSUPPORTED_VERSION, `control version ${version}`, {
      version,
    });
  const kindByte = r.u8('kind');
  const deploymentIdBytes = r.bytesOf(32, 'deployment');
  const tail = () => {
    const signed = bytes.subarray(0, r.offset);
    const signature = r.bytesOf(ED25519_SIGNATURE_BYTES, 'signature');
    r.finish('control message');
    return { deploymentId: deploymentIdBytes, signed, signature };
  };
  switch (kindByte) {
    case ControlKind.epoch: {
      const epochMs = r.u53('epochMs');
      const roundMs = r.u32('roundMs');
      const issuedAtMs = r.u53('issuedAtMs');
      if (roundMs === 0) throw malformed('round duration 0');
      return { kind: 'epoch', epochMs, roundMs, issuedAtMs, ...tail() };
    }
    case ControlKind.reconcile: {
      const epochMs = r.u53('epochMs');
      const ian = r.u16('ian');
      const round = r.u32('round');
      const attempt = r.u8('attempt');
      const gatewayCount = r.u8('m');
      const rosterSize = r.u32('n');
      if (attempt === 0) throw malformed('attempt 0 is never requested');
      if (gatewayCount === 0) throw malformed('m = 0');
      if (rosterSize === 0 || rosterSize > MAX_ROSTER)
        throw malformed(`roster size ${rosterSize}`, { rosterSize });
      if (limits.gatewayCount !== undefined && gatewayCount !== limits.gatewayCount) {
        throw new PrivaggError(
          ErrorCode.WRONG_RECIPIENT,
          `reconcile for m = ${gatewayCount}, this deployment has ${limits.gatewayCount}`,
        );
      }
      if (limits.rosterSize !== undefined && rosterSize !== limits.rosterSize) {
        throw new PrivaggError(
          ErrorCode.WRONG_RECIPIENT,
          `reconcile for n = ${rosterSize}, this deployment has ${limits.rosterSize}`,
        );
      }
      const gateways = readBitmap(r, gatewayCount, 1, 'gateway bitmap');
      if (gateways.length === 0) throw malformed('a reconcile that asks no gateway');
      const contributors = readBitmap(r, rosterSize, 0, 'contributor bitmap');
      return {
        kind: 'reconcile',
        epochMs,
        ian,
        round,
        attempt,
        gatewayCount,
        rosterSize,
        gateways,
        contributors,
        ...tail(),
      };
    }
    case ControlKind.outcome: {
      const epochMs = r.u53('epochMs');
      const ian = r.u16('ian');
      const round = r.u32('round');
      const statusByte = r.u8('status');
      const count = r.u8('reason count');
      const R = r.u16('reasons length');
      const status = OutcomeStatus[statusByte];
      if (status === undefined) throw malformed(`outcome status ${statusByte}`);
      if (count > MAX_REASONS) throw malformed(`${count} reasons`);
      if ((status === 'complete') !== (count === 0))
        throw malformed('an outcome has reasons exactly when it is not complete');
      const block = new WireReader(r.bytesOf(R, 'reasons'));
      const reasons: string[] = [];
      for (let c = 0; c < count; c++) {
        const length = block.u16('reason length');
        if (length === 0 || length > MAX_REASON_BYTES) throw malformed(`reason of ${length} bytes`);
        let text: string;
        try {
          text = strictUtf8.decode(block.bytesOf(length, 'reason'));
        } catch {
          throw malformed('reason is not UTF-8');
        }
        if (!printable(text)) throw malformed('control character in a reason');
        reasons.push(text);
      }
      block.finish('reasons');
      return { kind: 'outcome', epochMs, ian, round, status, reasons, ...tail() };
    }
    default:
      throw malformed(`control kind ${kindByte}`);
  }
}

/** Set bits of a `size`-bit LSB-first bitmap as sorted indices + offset; padding must be 0. */
function readBitmap(r: WireReader, size: number, offset: number, what: string): number[] {
  const bitmap = r.bytesOf(Math.ceil(size / 8), what);
  const out: number[] = [];
  for (let byte = 0; byte < bitmap.length; byte++) {
    const b = bitmap[byte]!;
    if (b === 0) continue;
    for (let bit = 0; bit < 8; bit++) {
      if ((b & (1 << bit)) === 0) continue;
      const at = byte * 8 + bit;
      if (at >= size) throw malformed(`${what}: bit past ${size}`);
      out.push(at + offset);
    }
  }
  return out;
}

function rawPublicKey(key: Uint8Array | KeyObject): Uint8Array {
  return key instanceof Uint8Array ? key : exportRawPublic(key);
}

/**
 * Decodes and authenticates: structure, then the deployment (WRONG_RECIPIENT), then the
 * ledger's signature (BAD_SIGNATURE). Throws PrivaggError; returns the message.
 */
export function openControl(bytes: Uint8Array, ctx: ControlContext): ControlMessage {
  const limits = {
    ...(ctx.rosterSize !== undefined ? { rosterSize: ctx.rosterSize } : {}),
    ...(ctx.gatewayCount !== undefined ? { gatewayCount: ctx.gatewayCount } : {}),
  };
  const d = decodeControl(bytes, limits);
  if (!Buffer.from(d.deploymentId).equals(deploymentId(ctx.deployment)))
    throw new PrivaggError(ErrorCode.WRONG_RECIPIENT, 'control message of another deployment');
  if (!ed25519Verify(rawPublicKey(ctx.ledgerPublicKey), controlSigningInput(d.signed), d.signature))
    throw new PrivaggError(ErrorCode.BAD_SIGNATURE, 'control message not signed by the ledger');
  const { deploymentId: _id, signed: _signed, signature: _signature, ...fields } = d;
  return { ...fields, deployment: ctx.deployment } as ControlMessage;
}
