import { lengthPrefixed, sha256, utf8 } from '../../crypto/bytes.js';
import { ErrorCode, PrivaggError } from '../../errors.js';
import {
  type Address,
  addressKey,
  type Inbound,
  type Recovery,
  type RoleKind,
} from '../../schemes/scheme.js';
import { canonicalJson } from '../canonicalJson.js';

/**
 * The clear bodies of the scheme ledger's two transaction kinds (sealed before they are
 * stored, sealing.ts):
 * - 'inbound': lengthPrefixed(addressKey(from), channel, bytes) — what the transport
 *   vouched for, on which channel, and the bytes exactly as the center accepted them;
 * - 'recovery': the canonical JSON of `recoveryRecord` — what the center recovered, in a
 *   form every scheme shares. A pending phase is recorded by the count of its envelopes
 *   (`next`) and, per envelope, its addressee, channel and the SHA-256 of its bytes
 *   (`sent`): replay then holds the center to the same requests, byte for byte, and a
 *   role that kept a request (a gateway's signed reconcile) can find it on the chain.
 *   What the envelopes cause arrives back as recorded inbounds.
 */
export function encodeInbound(m: Inbound): Buffer {
  return lengthPrefixed(utf8(addressKey(m.from)), utf8(m.channel), m.bytes);
}

const ROLES: ReadonlySet<string> = new Set<RoleKind>(['device', 'aggregator', 'center', 'querier']);

/** The inbound a body records; MALFORMED_DATA for bytes that are not one. */
export function decodeInbound(body: Uint8Array): Inbound {
  const parts = splitPrefixed(Buffer.from(body), 3);
  const [role, group, index] = parts[0]!.toString('utf8').split('/');
  const from: Address = { role: role as RoleKind, group: Number(group), index: Number(index) };
  if (
    !ROLES.has(from.role) ||
    !Number.isSafeInteger(from.group) ||
    !Number.isSafeInteger(from.index)
  )
    throw new PrivaggError(ErrorCode.MALFORMED_DATA, 'an inbound body names no address');
  return { from, channel: parts[1]!.toString('utf8'), bytes: parts[2]! };
}

function splitPrefixed(buf: Buffer, count: number): Buffer[] {
  const parts: Buffer[] = [];
  let at = 0;
  while (parts.length < count && at + 4 <= buf.length) {
    const n = buf.readUInt32BE(at);
    if (at + 4 + n > buf.length) break;
    parts.push(buf.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  if (parts.length !== count || at !== buf.length)
    throw new PrivaggError(ErrorCode.MALFORMED_DATA, 'an inbound body does not decode');
  return parts;
}

/** What a recovery is recorded as: the same fields for every scheme, flags by address key. */
export function recoveryRecord(r: Recovery): Record<string, unknown> {
  const common = {
    status: r.status,
    group: r.group,
    round: r.round,
    flagged: r.flagged.map((f) => ({ who: addressKey(f.who), why: f.why })),
    notes: [...r.notes],
  };
  switch (r.status) {
    case 'recovered':
      return {
        ...common,
        values: r.values.map((v) => ({
          name: v.name,
          estimate: v.estimate,
          standardError: v.standardError,
        })),
        contributors: [...r.contributors],
        detail: r.detail,
      };
    case 'pending':
      return {
        ...common,
        next: r.next.length,
        sent: r.next.map((e) => ({
          to: addressKey(e.to),
          channel: e.channel,
          sha256: sha256(e.bytes).toString('hex'),
        })),
      };
    case 'failed':
      return { ...common, reason: r.reason, detail: r.detail };
  }
}

export function encodeRecovery(r: Recovery): Buffer {
  return utf8(canonicalJson(recoveryRecord(r)));
}
