import { type AeadKey, aeadSeal } from '../crypto/aead.js';
import { type MacKey, macTag } from '../crypto/mac.js';
import { type RandomSource, uniformInt } from '../math/random.js';
import type { MaasDeployment } from '../schemes/maas/deployment.js';
import type { MaasGateway } from '../schemes/maas/gateway.js';
import { type MaasParams, shareBytes } from '../schemes/maas/params.js';
import { proofPayloadBytes, reportValidityFor } from '../schemes/maas/reportValidity.js';
import { paperHash } from '../schemes/maas/tags.js';
import { encodeReportHeader } from '../wire/maas.js';
import type { AttackKind } from './maasFaults.js';

/**
 * The attackers of the MaaS scenarios, as byte builders: what a compromised gateway
 * sends the ledger, what a compromised device sends a gateway, and what an outsider or
 * an insider on the broker injects next to a genuine report. The in-process runner
 * delivers these bytes directly; the networked demo publishes them on the broker (a
 * rogue MQTT client) and posts them over HTTP — the same bytes either way.
 */

/**
 * A compromised gateway's partial: its honest one (`honest`, or at re-aggregation the
 * core's own re-sum) with a random non-zero offset added to every sum, signed with its
 * real key — everything else, verifier shares included, as the honest partial has it.
 */
export function lyingPartial(
  g: MaasGateway,
  honest: Buffer | null,
  round: number,
  contributors: readonly number[],
  attempt: number,
  now: number,
  rng: RandomSource,
  params: MaasParams,
): Buffer | null {
  const partial = honest ?? g.reaggregate(round, contributors, attempt, now);
  if (!partial) return null;
  const p = params.field.p;
  const lied = g.partialSums(partial).map((s) => (s + 1n + BigInt(uniformInt(rng, 1_000_000))) % p);
  return g.withSums(partial, lied);
}

/**
 * A compromised device's report to gateway `l`: a share ≥ p under a valid tag (and a
 * valid seal), so the check that fires at the gateway is the range check.
 */
export function outOfRangeReport(
  dep: MaasDeployment,
  v: number,
  i: number,
  l: number,
  rd: number,
  now: number,
): Buffer {
  const params = dep.params;
  const key = dep.registry.deviceKey(v, i);
  // All-ones elements are ≥ p for 2^61 − 1 (and any p below 2^(8E)).
  return craftReport(
    params,
    { gateway: l, ian: v, device: i, round: rd, timestamp: now },
    Buffer.alloc(plainPayloadBytes(params), 0xff),
    { aead: key.gatewayAead[l - 1]!, mac: key.gatewayMac[l - 1]!, identity: key.identity },
  );
}

/**
 * Bytes of a report's payload before sealing: w shares, or with input validity the
 * proof-carrying layout (a crafted one fails its checks, after the tag's).
 */
export function plainPayloadBytes(params: MaasParams): number {
  const validity = reportValidityFor(params);
  if (validity) return proofPayloadBytes(validity);
  const width = params.modes.layout === 'per-dimension' ? 1 : params.dimensions.length;
  return width * shareBytes(params);
}

/**
 * A device report built by hand (for attacks): header, plaintext shares sealed when the
 * deployment seals, tag by the deployment's MAC mode — under whatever keys the sender has.
 */
export function craftReport(
  params: MaasParams,
  at: { gateway: number; ian: number; device: number; round: number; timestamp: number },
  shares: Buffer,
  keys: { aead: AeadKey; mac: MacKey; identity: Uint8Array },
): Buffer {
  const perDimension = params.modes.layout === 'per-dimension';
  const header = encodeReportHeader({
    sealed: params.modes.aead,
    perDimension,
    proven: params.validity !== null,
    width: perDimension ? 1 : params.dimensions.length,
    dimension: 0,
    ...at,
  });
  const payload = params.modes.aead ? aeadSeal(keys.aead, shares, { aad: header }) : shares;
  const authenticated = Buffer.concat([header, payload]);
  const tag =
    params.modes.mac === 'hmac'
      ? macTag(keys.mac, authenticated)
      : paperHash(keys.identity, authenticated);
  return Buffer.concat([authenticated, tag]);
}

/** One injected message; `ahead`: it must reach the gateway before the genuine ones. */
export interface InjectedReport {
  kind: AttackKind;
  bytes: Buffer;
  ahead: boolean;
}

/**
 * The messages the device-side attacks inject into IAN v's round `rd`, all aimed at the
 * gateway `sample` (a genuine report of this round, seen on the network) was for.
 * `previousRound`: a genuine report of an earlier round (for 'wrong-round', IAN 0 only);
 * `insiderTarget`: the device the insider impersonates — one that has not reported yet,
 * or the forgery would only be a replay.
 */
export function deviceAttackMessages(
  attacks: ReadonlySet<AttackKind>,
  sample: Buffer,
  insiderTarget: number,
  previousRound: Buffer | undefined,
  dep: MaasDeployment,
  v: number,
  rd: number,
  now: number,
  rng: RandomSource,
): InjectedReport[] {
  const params = dep.params;
  const out: InjectedReport[] = [];
  const push = (kind: AttackKind, bytes: Buffer, ahead = false) => out.push({ kind, bytes, ahead });
  const gateway = sample.readUInt8(5); // header byte 5: the addressee l
  if (attacks.has('forged')) {
    // An outsider claims to be the sample's sender, with a random tag.
    const f = Buffer.from(sample);
    rng.fill(f.subarray(f.length - 32));
    push('forged', f);
  }
  if (attacks.has('tampered')) {
    const t = Buffer.from(sample);
    t[24]! ^= 0x01; // first payload byte
    push('tampered', t);
  }
  if (attacks.has('replayed')) push('replayed', Buffer.from(sample));
  if (attacks.has('wrong-round') && previousRound && rd > 0 && v === 0)
    push('wrong-round', Buffer.from(previousRound));
  if (attacks.has('stale')) {
    // A genuine device message delayed past the freshness window.
    const old = Buffer.from(sample);
    old.writeBigUInt64BE(BigInt(now - 10 * params.freshnessWindowMs), 16);
    push('stale', old);
  }
  if (attacks.has('malformed')) {
    push('malformed', sample.subarray(0, 30));
    const wrongVersion = Buffer.from(sample);
    wrongVersion[0] = 9;
    push('malformed', wrongVersion);
  }
  if (attacks.has('unknown-sender')) {
    const u = Buffer.from(sample);
    u.writeUInt32BE(params.devicesPerIan + 7, 8);
    push('unknown-sender', u);
  }
  if (attacks.has('insider-forgery') && params.gateways >= 2) {
    // Another gateway of this IAN, which knows every device's public identity, fabricates
    // a report from `insiderTarget` with shares of its choosing. The best it can do: the
    // paper's hash (computable from public IDs), or seal and HMAC under its *own* link
    // keys with that device (it holds no other).
    const insider = gateway === 2 ? 1 : 2;
    const gw = dep.registry.gatewayKey(v, insider);
    push(
      'insider-forgery',
      craftReport(
        params,
        { gateway, ian: v, device: insiderTarget, round: rd, timestamp: now },
        // Small elements (0x0101… < p): shares of the insider's choosing.
        Buffer.alloc(plainPayloadBytes(params), 0x01),
        {
          aead: gw.deviceAead[insiderTarget]!,
          mac: gw.deviceMac[insiderTarget]!,
          identity: gw.deviceIdentity[insiderTarget]!,
        },
      ),
      true,
    );
  }
  return out;
}
