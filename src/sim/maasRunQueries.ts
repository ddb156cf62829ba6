import { seededRandom } from '../math/random.js';
import { buildQuery, dimensionMask, type QueryAnswer } from '../schemes/maas/query.js';
import type { QueryRun, RunTally } from './maasRunResult.js';
import type { MaasRun } from './maasRunSetup.js';
import { scoredQuery } from './maasScoring.js';

/**
 * After the rounds, the OEM's queries and the query-side attacks. Returns each query's run
 * and the all-IAN answer (number = z), from which the result's totals are taken.
 */
export function runQueries(
  run: MaasRun,
  tally: RunTally,
): { queryRuns: QueryRun[]; fullAnswer: QueryAnswer | undefined } {
  const { s, params, z, w, t0, roundMs, dep, attacks, ledger } = run;
  const { count, rounds } = tally;
  // Queries: number = 1..z over every round, all dimensions (Fig. 3–4 of the paper).
  const oemKey = dep.registry.oemKey(0);
  const all = Array.from({ length: w }, (_, j) => j);
  const qrng = seededRandom('paper-fresh-query-noise');
  const queryRuns: QueryRun[] = [];
  const tq = t0 + s.rounds * roundMs;
  const ask = (number: number, dims = all, at = tq) =>
    buildQuery(params, oemKey, {
      number,
      startRound: 0,
      endRound: s.rounds - 1,
      dimensionMask: dimensionMask(dims),
      timestamp: at,
    });
  let fullAnswer: QueryAnswer | undefined;
  if (s.queries ?? true) {
    for (let number = 1; number <= z; number++) {
      const bytes = ask(number);
      const res = ledger.query(bytes, tq, qrng);
      if (!res.ok) {
        count(res.code);
        queryRuns.push({ number, ok: false, code: res.code });
        continue;
      }
      queryRuns.push(scoredQuery(number, res.answer, rounds));
      if (number === z) fullAnswer = res.answer;
      if (attacks.has('replayed-query') && number === z) {
        const again = ledger.query(bytes, tq + 10, qrng);
        if (!again.ok) count(again.code);
      }
    }
    if (attacks.has('forged-query')) {
      const forged = Buffer.from(ask(z, all, tq + 20));
      forged[forged.length - 5]! ^= 0x10;
      const r = ledger.query(forged, tq + 20, qrng);
      if (!r.ok) count(r.code);
    }
    if (attacks.has('unauthorised-query') && w > 0) {
      const bad = buildQuery(params, oemKey, {
        number: z,
        startRound: 0,
        endRound: s.rounds - 1,
        dimensionMask: 0x80,
        timestamp: tq + 30,
      });
      const r = ledger.query(bad, tq + 30, qrng);
      if (!r.ok) count(r.code);
    }
    if (attacks.has('over-budget-query')) {
      // Distinct windows (each spends budget; a repeated one would be answered from
      // cache) until the OEM's budget is spent; the first refusal is counted.
      let tries = 0;
      outer: for (let start = 0; start < s.rounds; start++) {
        for (let end = start; end < s.rounds; end++) {
          tries++;
          const b = buildQuery(params, oemKey, {
            number: 1,
            startRound: start,
            endRound: end,
            dimensionMask: dimensionMask(all),
            timestamp: tq + 40 + tries,
          });
          const r = ledger.query(b, tq + 40 + tries, qrng);
          if (!r.ok) {
            count(r.code);
            break outer;
          }
        }
      }
    }
  }
  return { queryRuns, fullAnswer };
}
