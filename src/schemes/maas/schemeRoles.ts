import { ShamirParams } from '../../crypto/shamir.js';
import { ErrorCode, PrivaggError } from '../../errors.js';
import { openControl } from '../../wire/control.js';
import { MAX_MESSAGE_BYTES } from '../../wire/maas.js';
import { Receiving } from '../receiving.js';
import {
  type Address,
  type AggregatorRole,
  aggregatorAt,
  CENTER,
  type DeviceRole,
  deviceAt,
  type Envelope,
  type Inbound,
  sameAddress,
} from '../scheme.js';
import { deviceReport } from './device.js';
import { MaasGateway } from './gateway.js';
import { MAX_ATTEMPTS } from './ledgerContract.js';
import type { MaasParams } from './params.js';
import { ReadingCodec } from './readingCodec.js';
import { deviceKeyOf, gatewayKeyOf, type OpenedSetup } from './schemeKeys.js';

/**
 * The MaaS roles behind the seam: today's cores (device.ts, gateway.ts, and
 * ledgerContract.ts in schemeCenter.ts) unchanged, with the seam's addressing, channels
 * and status mapping around them.
 *
 * Addresses: aggregator (v, l − 1) is gateway l of IAN v — the seam's aggregator index is
 * 0-based, the wire's gateway number 1-based (reports, partials and reconcile bitmaps all
 * say l = 1..m).
 *
 * Channels: 'report' (device → each of its m gateways, one message per gateway, w per
 * gateway in the paper's per-dimension layout), 'partial' (gateway → center, first
 * partials at close and re-sums on request), 'reconcile' (center → a gateway: "re-sum
 * round rd over C", the ledger's signed control message of wire/control.ts with
 * epochMs = the parameters' registeredAtMs, signed with the center's control key from
 * its blob and checked against the public setup's).
 */

/** What every role of one configuration shares: parameters, setup, codec, sharing. */
export interface MaasRoleContext {
  readonly params: MaasParams;
  readonly setup: OpenedSetup;
  readonly registeredAtMs: number;
  readonly shamir: ShamirParams;
  readonly codec: ReadingCodec;
}

export function roleContext(
  params: MaasParams,
  setup: OpenedSetup,
  registeredAtMs: number,
): MaasRoleContext {
  return {
    params,
    setup,
    registeredAtMs,
    shamir: new ShamirParams(params.threshold, params.gateways, params.field),
    codec: new ReadingCodec(params),
  };
}

export const refuse = (code: ErrorCode, message: string): never => {
  throw new PrivaggError(code, message);
};

/** A core's refusal, rethrown with the core's own reason (which already names the code). */
export const refused = (code: ErrorCode, reason: string): never => {
  const e = new PrivaggError(code, '');
  e.message = reason;
  throw e;
};

function checkAddress(ctx: MaasRoleContext, at: Address, role: 'device' | 'aggregator'): void {
  const { ians, devicesPerIan, gateways } = ctx.params;
  const size = role === 'device' ? devicesPerIan : gateways;
  if (
    at.role !== role ||
    !Number.isInteger(at.group) ||
    !Number.isInteger(at.index) ||
    at.group < 0 ||
    at.group >= ians ||
    at.index < 0 ||
    at.index >= size
  ) {
    refuse(ErrorCode.INVALID_ARGUMENT, `no MaaS ${role} at ${at.role}/${at.group}/${at.index}`);
  }
}

export function maasDevice(
  ctx: MaasRoleContext,
  group: number,
  index: number,
  blob: Uint8Array,
): DeviceRole {
  const address = deviceAt(group, index);
  checkAddress(ctx, address, 'device');
  const key = deviceKeyOf(ctx.setup, address, blob, ctx.params.gateways);
  const core = { key, params: ctx.params, shamir: ctx.shamir, codec: ctx.codec };
  return {
    address,
    report(round, reading, nowMs, rng) {
      return deviceReport(core, round, reading, nowMs, rng).map((msg) => ({
        to: aggregatorAt(group, msg.gateway - 1),
        channel: 'report',
        bytes: msg.bytes,
      }));
    },
  };
}

export function maasAggregator(
  ctx: MaasRoleContext,
  at: Address,
  blob: Uint8Array,
): AggregatorRole {
  checkAddress(ctx, at, 'aggregator');
  const { params } = ctx;
  const core = new MaasGateway(gatewayKeyOf(ctx.setup, at, blob, params.devicesPerIan), params);
  const gateway = at.index + 1;
  const rx = new Receiving();
  let openRound = -1;
  let lastClosed = -1;
  /** Highest reconcile attempt answered, per round still held (as GatewayService). */
  const answered = new Map<number, number>();

  const report = (m: Inbound, nowMs: number): readonly Envelope[] => {
    if (m.bytes.length > MAX_MESSAGE_BYTES)
      refuse(ErrorCode.OVERSIZED_MESSAGE, `message of ${m.bytes.length} bytes`);
    if (m.from.role !== 'device' || m.from.group !== at.group)
      refuse(ErrorCode.UNKNOWN_SENDER, `reports come from the devices of IAN ${at.group}`);
    // The header's device (bytes 8–11) must be the sender the transport vouches for, as
    // the networked gateway checks it against the report's topic.
    const b = Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
    if (b.length >= 12 && b.readUInt32BE(8) !== m.from.index)
      refuse(ErrorCode.UNKNOWN_SENDER, 'the report names another device than its sender');
    const v = core.ingest(m.bytes, nowMs);
    if (!v.ok) refused(v.code, v.reason);
    return [];
  };

  const reconcile = (m: Inbound, nowMs: number): readonly Envelope[] => {
    if (!sameAddress(m.from, CENTER))
      refuse(ErrorCode.UNKNOWN_SENDER, 'reconcile requests come from the center');
    const req = openControl(m.bytes, {
      deployment: params.deployment,
      ledgerPublicKey: ctx.setup.centerPublicKey,
      rosterSize: params.devicesPerIan,
      gatewayCount: params.gateways,
    });
    if (req.kind !== 'reconcile')
      return refuse(ErrorCode.MALFORMED_MESSAGE, `a ${req.kind} message on the reconcile channel`);
    if (req.ian !== at.group) refuse(ErrorCode.WRONG_RECIPIENT, `for IAN ${req.ian}`);
    if (req.epochMs !== ctx.registeredAtMs)
      refuse(ErrorCode.WRONG_ROUND, `for the epoch ${req.epochMs}`);
    if (!req.gateways.includes(gateway))
      refuse(ErrorCode.WRONG_RECIPIENT, `the request does not name gateway ${gateway}`);
    if (req.attempt > MAX_ATTEMPTS) refuse(ErrorCode.WRONG_ROUND, `attempt ${req.attempt}`);
    if (!core.holdsRound(req.round) || req.round > lastClosed)
      refuse(ErrorCode.WRONG_ROUND, `round ${req.round} is not held`);
    const done = answered.get(req.round) ?? 0;
    if (req.attempt <= done) {
      refuse(
        ErrorCode.REPLAY,
        `attempt ${req.attempt} of round ${req.round}; ${done} already answered`,
      );
    }
    const res = core.resum(req.round, req.contributors, req.attempt, nowMs);
    if (!res.ok) return refuse(res.code, res.reason);
    answered.set(req.round, req.attempt);
    return [{ to: CENTER, channel: 'partial', bytes: res.partial }];
  };

  return {
    address: at,
    open(round) {
      // A round opens once: reopening a closed one would let a second first partial out.
      if (round === openRound || round <= lastClosed) return;
      core.beginRound(round);
      openRound = round;
    },
    receive(m, nowMs) {
      return rx.answer(() => {
        if (m.channel === 'report') return report(m, nowMs);
        if (m.channel === 'reconcile') return reconcile(m, nowMs);
        return refuse(ErrorCode.MALFORMED_MESSAGE, `no channel ${m.channel} at a gateway`);
      });
    },
    close(round, nowMs, _rng, lie) {
      if (round !== openRound) return [];
      const res = core.closeRound(nowMs);
      openRound = -1;
      lastClosed = round;
      for (const r of res.rejected) rx.count(r.code);
      for (const r of answered.keys()) if (!core.holdsRound(r)) answered.delete(r);
      // A lie: every share sum moved by the shift, re-signed with this gateway's key.
      const p = params.field.p;
      const bytes = lie
        ? core.withSums(
            res.partial,
            core.partialSums(res.partial).map((s) => (s + BigInt(lie.shift)) % p),
          )
        : res.partial;
      return [{ to: CENTER, channel: 'partial', bytes }];
    },
    counters: () => rx.counters(),
  };
}
