import { formatTable } from './table.js';

/**
 * How a scheme run's results read on a terminal, the same for `demo --scheme` and `up`:
 * the totals beside the truth of exactly the devices that entered, and who was flagged.
 */
export function totalsTable(
  totals: readonly { name: string; estimate: number; standardError: number; truth: number }[],
): string {
  return formatTable(
    ['dimension', 'estimate', '± SE', 'truth', 'error'],
    totals.map((t) => [t.name, t.estimate, t.standardError, t.truth, t.estimate - t.truth]),
  );
}

export function flaggedLine(
  flagged: readonly { who: string; why: string; round: number }[],
): string {
  return `Flagged: ${flagged.length === 0 ? 'nobody' : flagged.map((f) => `${f.who} in round ${f.round} (${f.why})`).join('; ')}`;
}
