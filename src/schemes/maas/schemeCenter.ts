import { ErrorCode } from '../../errors.js';
import { encodeSignedControl } from '../../wire/control.js';
import { MAX_MESSAGE_BYTES, PARTIAL_HEADER_BYTES } from '../../wire/maas.js';
import { Receiving } from '../receiving.js';
import {
  aggregatorAt,
  CENTER,
  type CenterRole,
  deviceAt,
  type Envelope,
  type Flag,
  type Inbound,
  type Recovery,
} from '../scheme.js';
import { MaasLedgerContract, type RestoreOutcome } from './ledgerContract.js';
import type { MaasParams } from './params.js';
import { centerKeysOf } from './schemeKeys.js';
import { type MaasRoleContext, refuse, refused } from './schemeRoles.js';

/**
 * The center behind the seam: today's ledger contract (Add, Restore with reconciliation)
 * and nothing else yet — queries stay outside the seam in this step. Deterministic: no
 * randomness, and reconcile requests are Ed25519-signed (deterministic signatures).
 *
 * `recover` maps the restore outcome: 'restored' → recovered (values named after the
 * population's dimensions, liars flagged as aggregator (v, l − 1), the notes of today's
 * network status); 'reconcile' → pending, `next` one signed reconcile envelope per gateway
 * named (the same bytes to each) and a note per device dropped; 'failed' → failed with the
 * contract's reason. Notes carry over from one phase to the next.
 */
/** What the center remembers of a group-round across its pending phases. */
interface Phases {
  readonly notes: string[];
  readonly withheld: Set<number>;
  reconciliations: number;
}

export function maasCenter(ctx: MaasRoleContext, blob: Uint8Array): CenterRole {
  const { params } = ctx;
  const keys = centerKeysOf(ctx.setup, CENTER, blob);
  const contract = new MaasLedgerContract(keys.ledger, params, ctx.shamir, ctx.codec);
  const rx = new Receiving();
  const phases = new Map<string, Phases>();
  const phasesOf = (g: number, round: number): Phases => {
    const k = `${g}/${round}`;
    let p = phases.get(k);
    if (!p) {
      p = { notes: [], withheld: new Set(), reconciliations: 0 };
      phases.set(k, p);
    }
    return p;
  };
  const note = (p: Phases, s: string) => {
    if (!p.notes.includes(s)) p.notes.push(s);
  };
  const flagsOf = (g: number, out: RestoreOutcome): Flag[] => {
    const flags: Flag[] = [];
    if (out.status === 'restored') {
      for (const l of out.liars)
        flags.push({ who: aggregatorAt(g, l - 1), why: 'lied and was corrected' });
    }
    if (out.status !== 'failed') {
      for (const r of out.refused ?? [])
        flags.push({ who: deviceAt(g, r.device), why: `input validity refused: ${r.reason}` });
    }
    return flags;
  };

  const partial = (m: Inbound, nowMs: number): readonly Envelope[] => {
    if (m.bytes.length > MAX_MESSAGE_BYTES)
      refuse(ErrorCode.OVERSIZED_MESSAGE, 'partial too large');
    if (m.from.role !== 'aggregator')
      refuse(ErrorCode.UNKNOWN_SENDER, 'partials come from aggregators');
    if (m.bytes.length < PARTIAL_HEADER_BYTES) refuse(ErrorCode.MALFORMED_MESSAGE, 'short partial');
    // The header's IAN (bytes 6–7) and gateway (byte 4) must be the sender the transport
    // vouches for (the ledger's HTTP API binds them to the client certificate).
    const b = Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
    if (b.readUInt16BE(6) !== m.from.group || b[4] !== m.from.index + 1)
      refuse(ErrorCode.UNKNOWN_SENDER, 'the partial names another gateway than its sender');
    const r = contract.add(m.bytes, nowMs);
    if (!r.ok) refused(r.code, r.reason);
    return [];
  };

  return {
    receive(m, nowMs) {
      return rx.answer(() => {
        if (m.channel === 'partial') return partial(m, nowMs);
        return refuse(ErrorCode.MALFORMED_MESSAGE, `no channel ${m.channel} at the center`);
      });
    },
    recover(group, round): Recovery {
      const out = contract.restore(group, round);
      const p = phasesOf(group, round);
      const flagged = flagsOf(group, out);
      if (out.status === 'reconcile') {
        p.reconciliations++;
        for (const d of out.withheld ?? []) p.withheld.add(d);
        const refusedDevices = new Set((out.refused ?? []).map((r) => r.device));
        // As the runner's reasons say (devices withheld for privacy are counted apart).
        for (const d of out.dropped) {
          if (d.missingAt.length > 0)
            note(p, `device ${d.device} dropped: missing at gateway(s) ${d.missingAt.join(',')}`);
          else if (refusedDevices.has(d.device))
            note(p, `device ${d.device} dropped: input validity refused`);
          else if (!p.withheld.has(d.device)) note(p, `device ${d.device} dropped`);
        }
        if (out.gateways.length === 0) {
          return {
            status: 'failed',
            group,
            round,
            reason: 'a re-aggregation that asks no gateway',
            flagged,
            notes: [...p.notes, ...withheldNote(p.withheld.size)],
          };
        }
        const bytes = encodeSignedControl(
          'reconcile',
          {
            deployment: params.deployment,
            epochMs: ctx.registeredAtMs,
            ian: group,
            round,
            attempt: out.attempt,
            rosterSize: params.devicesPerIan,
            gatewayCount: params.gateways,
            contributors: [...out.contributors].sort((a, b) => a - b),
            gateways: [...out.gateways].sort((a, b) => a - b),
          },
          keys.control,
        );
        return {
          status: 'pending',
          group,
          round,
          next: out.gateways.map((l) => ({
            to: aggregatorAt(group, l - 1),
            channel: 'reconcile',
            bytes,
          })),
          flagged,
          notes: [...p.notes, ...withheldNote(p.withheld.size)],
        };
      }
      if (out.status === 'failed') {
        return {
          status: 'failed',
          group,
          round,
          reason: out.reason,
          flagged,
          notes: [...p.notes, ...withheldNote(p.withheld.size)],
          detail: { reason: out.reason, reconciliations: p.reconciliations },
        };
      }
      return {
        status: 'recovered',
        group,
        round,
        values: out.estimates.map((e, j) => ({
          name: params.dimensions[j]!,
          estimate: e.estimate,
          standardError: e.standardError,
        })),
        contributors: [...out.contributors],
        flagged,
        notes: [...p.notes, ...restoredNotes(params, out, p.withheld.size)],
        detail: restoredDetail(out, p),
      };
    },
    counters: () => rx.counters(),
  };
}

/**
 * The reasons of today's network status (`statusOf`, src/node/ledgerServer.ts) for a
 * restored IAN-round, in its order, without the device count (roundStatusOf adds
 * "N device(s) missing") and the liars (flagged instead). The withheld count is said on
 * its own ("of them" referred to the device count there).
 */
function restoredNotes(
  params: MaasParams,
  out: Extract<RestoreOutcome, { status: 'restored' }>,
  withheld: number,
): string[] {
  const notes: string[] = [];
  const heard = out.gateways.length + out.liars.length + out.excluded.length;
  if (heard < params.gateways) notes.push(`${params.gateways - heard} gateway(s) sent no partial`);
  if (out.excluded.length) {
    notes.push(
      params.modes.restore === 'paper'
        ? `gateway(s) ${out.excluded.join(',')} not used (the paper's restore takes the first k partials)`
        : `gateway(s) ${out.excluded.join(',')} left out (contributor set differs)`,
    );
  }
  notes.push(...withheldNote(withheld));
  if (!out.crossChecked) notes.push('only k partials: not cross-checked');
  return notes;
}

function withheldNote(withheld: number): string[] {
  return withheld > 0
    ? [
        `${withheld} device(s) left out of the re-sum to keep sums private (no two sums of a gateway differ by fewer devices than the minimum)`,
      ]
    : [];
}

/** The restore outcome's MaaS-specific fields, as plain JSON. */
function restoredDetail(
  out: Extract<RestoreOutcome, { status: 'restored' }>,
  p: Phases,
): Record<string, unknown> {
  return {
    attempt: out.attempt,
    gateways: [...out.gateways],
    liars: [...out.liars],
    excluded: [...out.excluded],
    crossChecked: out.crossChecked,
    rawSums: out.estimates.map((e) => e.rawSum),
    reconciliations: p.reconciliations,
    withheld: [...p.withheld].sort((a, b) => a - b),
    ...(out.refused ? { refused: out.refused.map((r) => ({ ...r })) } : {}),
  };
}
