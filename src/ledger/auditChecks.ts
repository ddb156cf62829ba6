import { type Ed25519PublicKey, ed25519PublicKey } from '../crypto/ed25519.js';
import { isPrivaggError } from '../errors.js';
import type { LedgerKey } from '../schemes/maas/keys.js';
import type { MaasModes, MaasParams } from '../schemes/maas/params.js';
import { decodePartialOf } from '../schemes/maas/partialCodec.js';
import { queryReplayKey } from '../schemes/maas/query.js';
import { verifyEvidence } from '../schemes/maas/tags.js';
import { decodeQuery } from '../wire/maas.js';
import type { LedgerTransaction, LiarRecord } from './service.js';

/**
 * The checks an auditor runs over a chain beyond its structure and replay (verifyChain.ts):
 * signatures of partials and queries, each query answered once, and named liars' evidence.
 *
 * What an auditor holding the senders' public keys gets from a chain beyond its
 * structure: every partial and query checked against its sender's signature, and each
 * gateway a restore named as a liar tied to the partial it signed. The ledger holds no
 * gateway's or querier's private key, so a signed partial in the chain is the gateway's
 * own word: a named liar is evidence to anyone, not the ledger's claim.
 */
export class LiarEvidence {
  readonly named: LiarRecord[] = [];
  /** `${ian}/${round}` → gateway/attempt → where its partial is and its signature. */
  private readonly partials = new Map<string, Map<string, { height: number; signature: string }>>();

  observe(tx: LedgerTransaction, height: number, params: MaasParams, _tagBytes: number): void {
    if (tx.kind === 'partial') {
      // The replay accepted it, so it decodes and its signature verified.
      const p = decodePartialOf(params, tx.body);
      const key = `${p.ian}/${p.round}`;
      let byGateway = this.partials.get(key);
      if (!byGateway) {
        byGateway = new Map();
        this.partials.set(key, byGateway);
      }
      byGateway.set(`${p.gateway}/${p.attempt}`, {
        height,
        signature: Buffer.from(p.tag).toString('hex'),
      });
      return;
    }
    if (tx.kind !== 'restore') return;
    const outcome = parseOutcome(tx.body);
    if (outcome?.status !== 'restored' || outcome.liars.length === 0) return;
    const byGateway = this.partials.get(`${outcome.ian}/${outcome.round}`);
    for (const gateway of outcome.liars) {
      const at = byGateway?.get(`${gateway}/${outcome.attempt}`);
      if (!at) continue; // the replay recomputed this outcome from stored partials: unreachable
      this.named.push({
        ian: outcome.ian,
        round: outcome.round,
        gateway,
        attempt: outcome.attempt,
        partialHeight: at.height,
        namedAt: height,
        signature: at.signature,
      });
    }
  }

  /** Rounds the retention window has left can no longer be restored: drop their partials. */
  forgetBefore(round: number): void {
    for (const key of this.partials.keys()) {
      if (Number(key.slice(key.indexOf('/') + 1)) < round) this.partials.delete(key);
    }
  }
}

interface ParsedOutcome {
  status: string;
  ian: number;
  round: number;
  attempt: number;
  liars: number[];
}

function parseOutcome(body: Buffer): ParsedOutcome | undefined {
  try {
    const o = JSON.parse(body.toString('utf8')) as Partial<ParsedOutcome>;
    if (
      typeof o.status !== 'string' ||
      !Number.isInteger(o.ian) ||
      !Number.isInteger(o.round) ||
      !Number.isInteger(o.attempt ?? 0)
    )
      return undefined;
    return {
      status: o.status,
      ian: o.ian!,
      round: o.round!,
      attempt: o.attempt ?? 0,
      liars: Array.isArray(o.liars) ? o.liars.filter(Number.isInteger) : [],
    };
  } catch {
    return undefined;
  }
}

/**
 * The queries a chain has answered, by what was asked (queryReplayKey, as the node's
 * replay cache keys them): a second recorded copy would charge its OEM twice.
 */
export class AnsweredQueries {
  private readonly seen = new Set<string>();

  check(body: Buffer, tagBytes: number): string | undefined {
    let key: string;
    try {
      key = queryReplayKey(decodeQuery(body, tagBytes));
    } catch (e) {
      return `a recorded query does not decode (${isPrivaggError(e) ? e.code : 'MALFORMED_MESSAGE'})`;
    }
    if (this.seen.has(key)) return 'a query recorded and answered twice';
    this.seen.add(key);
    return undefined;
  }
}

/** Why a recorded query's signature does not check, or undefined. */
export function checkQuerySignature(
  body: Buffer,
  oems: readonly Ed25519PublicKey[],
  mode: MaasModes['mac'],
  tagBytes: number,
): string | undefined {
  try {
    const q = decodeQuery(body, tagBytes);
    const key = oems[q.oem];
    if (!key) return `a query from unknown OEM ${q.oem}`;
    return verifyEvidence(
      mode,
      { publicKey: key, identity: Buffer.alloc(0) },
      q.authenticated,
      q.tag,
    )
      ? undefined
      : `the query's signature does not verify under OEM ${q.oem}'s key`;
  } catch (e) {
    return `a recorded query does not decode (${isPrivaggError(e) ? e.code : 'MALFORMED_MESSAGE'})`;
  }
}

/** Why the senders' keys cannot belong to this deployment, or undefined. */
export function checkSenderShape(
  senders: { gatewayPublicKey: readonly (readonly Uint8Array[])[] },
  ians: number,
  gateways: number,
): string | undefined {
  if (
    senders.gatewayPublicKey.length !== ians ||
    senders.gatewayPublicKey.some((row) => row.length !== gateways)
  )
    return `the senders' keys are for another deployment shape (expected ${ians} IANs × ${gateways} gateways)`;
  return undefined;
}

/** A LedgerKey holding only public keys: enough to check every partial's signature. */
export function senderLedgerKey(senders: {
  gatewayPublicKey: readonly (readonly Uint8Array[])[];
}): LedgerKey {
  return {
    gatewayPublicKey: senders.gatewayPublicKey.map((row) => row.map((k) => ed25519PublicKey(k))),
    // The paper's hash mode binds identities; the sound mode checks signatures only.
    gatewayIdentity: senders.gatewayPublicKey.map((row) => row.map(() => Buffer.alloc(32))),
    oems: [],
    queryNoiseKey: Buffer.alloc(32),
  };
}
