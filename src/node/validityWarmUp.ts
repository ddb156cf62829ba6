import { type RandomSource, systemRandom } from '../math/random.js';
import type { MaasParams } from '../schemes/maas/params.js';
import { ReadingCodec } from '../schemes/maas/readingCodec.js';
import { reportValidityContext, reportValidityFor } from '../schemes/maas/reportValidity.js';
import type { VerifierShare } from '../schemes/maas/validity/shares.js';

/**
 * Runs the input-validity checks of one role on synthetic reports until `passes` are done
 * or `budgetMs` is spent, and throws the results away. The proof system is BigInt-heavy:
 * cold, a gateway's first round of queries and the ledger's first decisions ran several
 * times slower than warm, and with rounds of a second the first rounds came out late
 * (the device fleet warms its report path the same way, deviceFleet.ts). Run before the
 * role says it is ready. No key is involved: the reports are random in-range values
 * under a context no real report uses (device 2^32 − 1 is outside every roster).
 */
export function warmUpValidity(
  params: MaasParams,
  role: 'gateway' | 'ledger',
  opts: { passes?: number; budgetMs?: number; rng?: RandomSource } = {},
): { reports: number; ms: number } {
  const start = performance.now();
  const scheme = reportValidityFor(params);
  if (!scheme) return { reports: 0, ms: 0 };
  const passes = opts.passes ?? 40;
  const budgetMs = opts.budgetMs ?? 1500;
  const rng = opts.rng ?? systemRandom;
  const ranges = new ReadingCodec(params).validityRanges();
  // A gateway queries its own share; the ledger decides from k gateways' verifier shares.
  const gateways = role === 'gateway' ? 1 : scheme.shamir.threshold;
  let reports = 0;
  for (; reports < passes && performance.now() - start < budgetMs; reports++) {
    // Values spread over each range, so the bit patterns vary as real readings do.
    // (As field elements: a negative fixed-point value is p − |v|, as the device encodes it.)
    const values = ranges.map((r) =>
      params.field.reduce(r.min + ((r.max - r.min) * BigInt(reports % 16)) / 15n),
    );
    const context = reportValidityContext(params, 0, 0xffff_ffff, reports);
    const report = scheme.shareReport(values, context, rng);
    const shares: VerifierShare[] = [];
    for (let l = 1; l <= gateways; l++) {
      const check = scheme.query(report.shares[l - 1]!, report.parts, context);
      if (check.ok) shares.push(check.share);
      scheme.truncate(report.shares[l - 1]!.measurement);
    }
    if (role === 'ledger' && shares.length === gateways) scheme.decide(shares);
  }
  return { reports, ms: performance.now() - start };
}
