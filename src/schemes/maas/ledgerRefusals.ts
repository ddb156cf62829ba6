import { isPrivaggError } from '../../errors.js';
import type { RefusedDevice, StoredPartial } from './ledgerRecords.js';
import type { LedgerRoundState } from './ledgerState.js';
import { decodingRadius, type MaasParams } from './params.js';
import type { ValidityDecision, ValidityScheme, VerifierShare } from './validity/shares.js';

/**
 * Input validity at the ledger (ledgerContract.ts, class comment 6; docs/VALIDITY.md):
 * decides every device of a set from the verifier shares of exactly the gateways that
 * will (re-)sum it, records the refused ones with the reason, and names them in outcomes.
 */

/**
 * Decides every device of `devices` not refused yet from the verifier shares the
 * attempt-0 partials of exactly `group`'s gateways carry, records the refused ones with
 * the reason, and returns all refused devices of the IAN-round. Without input validity,
 * nothing is refused.
 */
export function refuseInvalid(
  state: LedgerRoundState,
  validity: ValidityScheme | null,
  params: MaasParams,
  ian: number,
  round: number,
  devices: readonly number[],
  group: readonly StoredPartial[],
): ReadonlyMap<number, string> {
  if (!validity) return state.refusedOf(ian, round) ?? new Map();
  const first = state.firstPartials(ian, round);
  const gateways = group.map((p) => p.gateway);
  const radius = decodingRadius(gateways.length, params.threshold, params.maxLyingGateways) ?? 0;
  for (const device of devices) {
    if (state.refusedOf(ian, round)?.has(device)) continue;
    const shares = gateways.map((g) => first?.get(g)?.verifiers?.get(device));
    let reason: string | undefined;
    if (shares.some((s) => s === undefined)) {
      reason = 'verifier share missing from a first partial';
    } else {
      try {
        const decision = validity.decide(shares as VerifierShare[], { maxErrors: radius });
        if (!decision.valid) reason = describeRefusal(decision);
      } catch (e) {
        // Signed partials were decoded and checked on add; refuse rather than throw anyway.
        if (!isPrivaggError(e)) throw e;
        reason = `verifier shares unusable (${e.code})`;
      }
    }
    if (reason === undefined) continue;
    state.refuse(ian, round, device, reason);
  }
  return state.refusedOf(ian, round) ?? new Map();
}

/** `{ refused }` for an outcome when the IAN-round refused any device, else nothing. */
export function refusedField(
  state: LedgerRoundState,
  ian: number,
  round: number,
): { refused?: RefusedDevice[] } {
  const refused = state.refusedOf(ian, round);
  if (!refused || refused.size === 0) return {};
  return {
    refused: [...refused].sort(([a], [b]) => a - b).map(([device, reason]) => ({ device, reason })),
  };
}

/** A refusal as one line: the verdict and what it rests on. */
function describeRefusal(decision: Exclude<ValidityDecision, { valid: true }>): string {
  switch (decision.reason) {
    case 'proof-refused':
      return `proof-refused: the proof does not hold (${decision.failures.length} check(s) failed)`;
    case 'randomness-mismatch':
      return `randomness-mismatch: gateways derived different query seeds (${decision.groups
        .map((g) => g.join('+'))
        .join(' / ')})`;
    case 'inconsistent-verifier':
      return (
        `inconsistent-verifier: verifier shares of gateways ${decision.gateways.join(', ')} ` +
        `are not on one polynomial` +
        (decision.suspects && decision.suspects.length > 0
          ? ` (off it: ${decision.suspects.join(', ')}; a device can make an honest gateway look so)`
          : '')
      );
  }
}
