import type { RestoreOutcome, StoredPartial } from './ledgerRecords.js';
import { refusedField } from './ledgerRefusals.js';
import type { LedgerRoundState } from './ledgerState.js';
import type { MaasParams } from './params.js';
import { privateTarget } from './resumRule.js';

/**
 * Reconciling contributor sets (ledgerContract.ts, class comment 1, 2 and 4): which group
 * of partials restores, which set the gateways are asked to re-sum over when none can,
 * and the request itself — shrunk by the no-differencing rule of resumRule.ts.
 */

/** How many re-aggregation requests a round may need before it is declared failed. */
export const MAX_ATTEMPTS = 3;

/** Whether a round at `attempt` may still ask for one more re-aggregation. */
export function mayReaggregate(attempt: number, params: MaasParams): boolean {
  return attempt + 1 < MAX_ATTEMPTS && attempt + 1 <= params.reconcile.maxReaggregations;
}

/**
 * The largest group of ≥ k partials over one contributor set (most redundancy), then the
 * one over the larger set; undefined when no k partials agree on a set.
 */
export function largestAgreeingGroup(
  partials: readonly StoredPartial[],
  threshold: number,
): StoredPartial[] | undefined {
  const groups = new Map<string, StoredPartial[]>();
  for (const p of partials) {
    const key = p.contributors.join(',');
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  return [...groups.values()]
    .filter((g) => g.length >= threshold)
    .sort(
      (a, b) => b.length - a.length || b[0]!.contributors.length - a[0]!.contributors.length,
    )[0];
}

/**
 * When no k gateways agree (class comment, 2): every device that at least `needed`
 * (k + f) gateways hold, shrunk — least-held device first — until `needed` gateways hold
 * all of it; `covering` are the partials that hold the whole target.
 */
export function heldByEnough(
  partials: readonly StoredPartial[],
  needed: number,
): { target: number[]; covering: StoredPartial[] } {
  const holders = new Map<number, number[]>();
  for (const p of partials)
    for (const d of p.contributors) holders.set(d, [...(holders.get(d) ?? []), p.gateway]);
  let target = [...holders.keys()].filter((d) => holders.get(d)!.length >= needed);
  let covering = partials.filter((p) => target.every((d) => p.contributors.includes(d)));
  while (covering.length < needed && target.length > 0) {
    // The device fewest gateways hold (ties: the highest index) goes first.
    const worst = [...target].sort(
      (a, b) => holders.get(a)!.length - holders.get(b)!.length || b - a,
    )[0]!;
    target = target.filter((d) => d !== worst);
    covering = partials.filter((p) => target.every((d) => p.contributors.includes(d)));
  }
  return { target, covering };
}

/** The devices of any partial (`union`) and those every partial holds (`common`). */
export function commonDevices(all: readonly StoredPartial[]): {
  union: ReadonlySet<number>;
  common: number[];
} {
  const union = new Set(all.flatMap((p) => p.contributors));
  const common = [...union].filter((d) => all.every((p) => p.contributors.includes(d)));
  return { union, common };
}

/**
 * A re-aggregation over `target` by the gateways of `asked`, shrunk so that every asked
 * gateway's set differs from its last sum (its partial of the latest attempt) by 0 or at
 * least `minDifference` devices — the only targets gateways answer (resumRule.ts). The
 * devices left out for it are named in `withheld`.
 */
export function requestPrivateReaggregation(
  state: LedgerRoundState,
  params: MaasParams,
  ian: number,
  round: number,
  attempt: number,
  partials: readonly StoredPartial[],
  target: readonly number[],
  asked: readonly StoredPartial[],
): RestoreOutcome {
  const shrunk = privateTarget(
    asked.map((p) => p.contributors),
    target,
    params.reconcile.minDifference,
  );
  return requestReaggregation(
    state,
    ian,
    round,
    attempt,
    partials,
    shrunk.target,
    asked.map((p) => p.gateway),
    shrunk.withheld,
  );
}

/** Records and returns a re-aggregation request over `target` to `asked`. */
function requestReaggregation(
  state: LedgerRoundState,
  ian: number,
  round: number,
  attempt: number,
  partials: readonly StoredPartial[],
  target: number[],
  asked: number[],
  withheld: readonly number[] = [],
): RestoreOutcome {
  target.sort((a, b) => a - b);
  const inTarget = new Set(target);
  const held = new Set(partials.flatMap((p) => p.contributors));
  state.setRequest(ian, round, {
    attempt,
    contributors: target.join(','),
    gateways: asked,
  });
  return {
    status: 'reconcile',
    ian,
    round,
    attempt,
    contributors: target,
    gateways: asked,
    dropped: [...held]
      .filter((d) => !inTarget.has(d))
      .sort((a, b) => a - b)
      .map((device) => ({
        device,
        missingAt: partials.filter((p) => !p.contributors.includes(device)).map((p) => p.gateway),
      })),
    ...(withheld.length > 0 ? { withheld: [...withheld] } : {}),
    ...refusedField(state, ian, round),
  };
}
