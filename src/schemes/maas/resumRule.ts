import { ErrorCode } from '../../errors.js';
import type { ReconcileParams } from './params.js';

/**
 * The no-differencing rule of re-aggregation, for both sides of it.
 *
 * A gateway's partial over a device set S is Σ_{i∈S} sh_l(d_i). Two partials of one
 * gateway over S and S∖{i} differ by sh_l(d_i); two such pairs from k gateways (or one
 * pair seen by whoever can interpolate) give device i's exact reading. So a gateway
 * answers re-sum requests only along a chain: the sets it has summed in a round are
 * A0 (its own contributor set, in its first partial) ⊃ A1 ⊃ … ⊃ A_last, and a target X is
 * answered only if
 *   - X is a set already summed (a resend: nothing new is revealed), or X = ∅ (its sum
 *     is 0, known to all), or
 *   - X ⊂ A_last with |A_last ∖ X| ≥ minDifference and |X| ≥ minDifference,
 * and at most `maxReaggregations` times per round (resends included).
 *
 * Why a chain: any linear combination of sums over nested sets is constant on each block
 * A_j ∖ A_{j+1} and on A_last, and every block the re-sums create (A_j ∖ A_{j+1}, and
 * A_last itself) holds ≥ minDifference ≥ 2 devices, so no combination isolates a device
 * that the first partial alone did not (a round whose own set is one device reveals that
 * device's share — that is the round, not a re-sum). Non-nested sets do not have this property: after the
 * first partial over S, sums over S∖{a,b}, S∖{a,c} and S∖{b,c} each differ from S by two
 * devices, yet (Σ_S − Σ_{S∖{a,b}}) + (Σ_S − Σ_{S∖{a,c}}) − (Σ_S − Σ_{S∖{b,c}}) = 2·sh(a),
 * and 2 is invertible mod p (see the tests).
 *
 * A refused request is ACCESS_DENIED (the ledger may not ask for it), CONTRIBUTOR_MISMATCH
 * when the gateway does not hold every device asked for (it cannot help), and
 * MALFORMED_MESSAGE for a target that is not a set of roster indices.
 *
 * The ledger's side (`privateTarget`): a target every asked gateway accepts.
 */
export interface ResumHistory {
  /** Every set summed this round (A0 included), as comma-joined sorted indices. */
  readonly summed: Set<string>;
  /** A_last: the smallest set summed so far. */
  last: ReadonlySet<number>;
  /** Re-sums answered this round (resends included). */
  resums: number;
}

export function startHistory(contributors: readonly number[]): ResumHistory {
  return { summed: new Set([contributors.join(',')]), last: new Set(contributors), resums: 0 };
}

export type ResumDecision =
  | { ok: true; target: number[]; resend: boolean }
  | { ok: false; code: ErrorCode; reason: string };

/**
 * Whether a gateway whose round history is `h` and whose round holds `held` devices may
 * re-sum over `target` (any order; validated here). Does not change `h`: call `recordResum`
 * once the partial is built.
 */
export function decideResum(
  h: ResumHistory,
  held: (device: number) => boolean,
  target: readonly number[],
  rosterSize: number,
  rule: ReconcileParams,
): ResumDecision {
  const sorted = [...target].sort((a, b) => a - b);
  for (let t = 0; t < sorted.length; t++) {
    const d = sorted[t]!;
    if (!Number.isInteger(d) || d < 0 || d >= rosterSize || (t > 0 && sorted[t - 1] === d)) {
      return {
        ok: false,
        code: ErrorCode.MALFORMED_MESSAGE,
        reason: 'target is not a set of roster indices',
      };
    }
  }
  if (h.resums >= rule.maxReaggregations) {
    return {
      ok: false,
      code: ErrorCode.ACCESS_DENIED,
      reason: `already re-summed ${h.resums} time(s) this round (at most ${rule.maxReaggregations})`,
    };
  }
  if (!sorted.every(held)) {
    return {
      ok: false,
      code: ErrorCode.CONTRIBUTOR_MISMATCH,
      reason: 'target holds a device this gateway did not accept',
    };
  }
  // The empty sum is 0, which everyone knows: it reveals nothing and ends no chain.
  if (sorted.length === 0 || h.summed.has(sorted.join(',')))
    return { ok: true, target: sorted, resend: true };
  if (!sorted.every((d) => h.last.has(d))) {
    return {
      ok: false,
      code: ErrorCode.ACCESS_DENIED,
      reason:
        'target is not within the last set summed (sums over non-nested sets could be differenced)',
    };
  }
  if (sorted.length < rule.minDifference) {
    return {
      ok: false,
      code: ErrorCode.ACCESS_DENIED,
      reason: `target of ${sorted.length} device(s): a sum over fewer than ${rule.minDifference} is not given out`,
    };
  }
  const difference = h.last.size - sorted.length;
  if (difference < rule.minDifference) {
    return {
      ok: false,
      code: ErrorCode.ACCESS_DENIED,
      reason: `target differs from the last set summed by ${difference} device(s), fewer than ${rule.minDifference}`,
    };
  }
  return { ok: true, target: sorted, resend: false };
}

export function recordResum(h: ResumHistory, decision: Extract<ResumDecision, { ok: true }>): void {
  h.resums++;
  if (decision.resend) return;
  h.summed.add(decision.target.join(','));
  h.last = new Set(decision.target);
}

/**
 * The ledger's side: shrinks `target` (a subset of every set in `lastSets`, the asked
 * gateways' last sums) until each gateway's difference |S_l ∖ T'| is 0 or ≥ d, so every
 * asked gateway accepts it. Removing r devices adds r to every difference, so r = 0 if
 * that already holds, else r = d − min_l |S_l ∖ T| (≥ d when some S_l = T). The removed
 * devices are T's highest indices (deterministic: the chain replays to the same target).
 * A target left with fewer than d devices (but not 0) is withheld whole, unless it is every
 * asked gateway's own set (a resend). The result may be ∅ (every gateway answers it; the
 * round then restores no device).
 */
export function privateTarget(
  lastSets: readonly (readonly number[])[],
  target: readonly number[],
  minDifference: number,
): { target: number[]; withheld: number[] } {
  const sorted = [...target].sort((a, b) => a - b);
  const differences = lastSets.map((s) => s.length - sorted.length);
  let r = 0;
  if (!differences.every((d) => d === 0 || d >= minDifference))
    r = Math.min(sorted.length, minDifference - Math.min(...differences));
  const resend = r === 0 && differences.every((d) => d === 0);
  // A sum over 1..d−1 devices is not given out (unless every gateway already gave it).
  if (!resend && sorted.length - r < minDifference) r = sorted.length;
  return { target: sorted.slice(0, sorted.length - r), withheld: sorted.slice(sorted.length - r) };
}
