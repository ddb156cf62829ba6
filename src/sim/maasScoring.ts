import type { QueryAnswer } from '../schemes/maas/query.js';
import type { MaasRunResult, QueryRun, RoundReport } from './maasRunner.js';

/**
 * Scoring a MaaS run against its ground truth, the same for the in-process runner and
 * the networked demo: each trend query's series against the truth of the IANs it
 * selected (Pearson r, as in the paper's Fig. 4), and the all-IAN totals against the
 * truth over every device that entered a restored aggregate.
 */

/** A query's answer with its truth series (per dimension, per round) and Pearson r. */
export function scoredQuery(
  number: number,
  answer: QueryAnswer,
  rounds: readonly RoundReport[],
): QueryRun {
  const truthSeries: Record<string, number[]> = {};
  const pearson: Record<string, number | null> & { all: number | null } = { all: null };
  const flatA: number[] = [];
  const flatT: number[] = [];
  for (const d of answer.dimensions) {
    const t = rounds.map((r) =>
      r.ians
        .filter((x) => answer.ians.includes(x.ian) && x.truth)
        .reduce((sum, x) => sum + x.truth![d.index]!, 0),
    );
    const a = d.series.map((p) => p.value);
    truthSeries[d.name] = t;
    pearson[d.name] = pearsonCorrelation(a, t);
    flatA.push(...a);
    flatT.push(...t);
  }
  pearson.all = pearsonCorrelation(flatA, flatT);
  return { number, ok: true, answer, truthSeries, pearson };
}

/** Per dimension: the all-IAN answer's total (NaN without one) and the truth. */
export function totalsAgainstTruth(
  dimensions: readonly string[],
  fullAnswer: QueryAnswer | undefined,
  truthTotals: readonly number[],
): Pick<MaasRunResult, 'totals' | 'truth'> {
  const totals: MaasRunResult['totals'] = {};
  const truth: MaasRunResult['truth'] = {};
  for (const [j, name] of dimensions.entries()) {
    truth[name] = truthTotals[j]!;
    const d = fullAnswer?.dimensions.find((x) => x.index === j);
    totals[name] = d
      ? { estimate: d.total, standardError: d.totalStandardError }
      : { estimate: Number.NaN, standardError: Number.NaN };
  }
  return { totals, truth };
}

/** Pearson's r; null when either series is constant (r undefined). */
export function pearsonCorrelation(a: readonly number[], b: readonly number[]): number | null {
  const len = Math.min(a.length, b.length);
  if (len < 2) return null;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < len; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= len;
  mb /= len;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < len; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return null;
  return sab / Math.sqrt(saa * sbb);
}
