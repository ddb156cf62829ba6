import { SqliteBlockStore } from '../../src/ledger/sqliteStore.js';
import { type ParsedDeploymentSpec, workloadFor } from '../../src/node/deploymentFile.js';
import { auditorCipher, ianRoundOnChain } from '../ledgerAndProc.js';

/**
 * Nothing lost, from the chain itself: after the run the ledger file is opened read-only
 * and every IAN-round's recorded status and restored estimates are read back. Estimates
 * are compared with the workload's ground truth over the round's contributors (LDP is
 * off, so a correct restore is exact); every device report not inside an exact restore
 * counts as lost. The same check as bench/e2e's, over thousands of rounds.
 */
export interface LedgerCheck {
  ianRounds: {
    expected: number;
    complete: number;
    degraded: number;
    failed: number;
    /** Restored, and every estimate equals the ground truth over its contributors. */
    exact: number;
    /** Restored but some estimate differs from the truth: wrong, not lost. */
    inexact: number;
  };
  reports: { expected: number; aggregated: number; lost: number };
  /**
   * The same over rounds from `firstRound` on (the rounds after the warm-up): start-up
   * losses (cold processes in the first rounds) apart from losses in the steady state.
   */
  afterWarmUp: { firstRound: number; ianRounds: number; complete: number; lost: number };
  /** Up to 10 IAN-rounds that were not complete and exact, for a look at the logs. */
  examples: Array<{ ian: number; round: number; status: string; contributors: number }>;
}

export function checkLedger(spec: ParsedDeploymentSpec, firstRound: number): LedgerCheck {
  // Built only now, after the run: for an hour of rounds it is ~150 MB the bench process
  // (which hosts the embedded broker) must not carry while its memory is sampled.
  const workload = workloadFor(spec);
  const store = new SqliteBlockStore(spec.ledger.file, { readonly: true });
  const cipher = auditorCipher(spec);
  const { ians, devicesPerIan } = spec.scheme;
  const rounds = spec.rounds.count;
  const ianRounds = {
    expected: ians * rounds,
    complete: 0,
    degraded: 0,
    failed: 0,
    exact: 0,
    inexact: 0,
  };
  const examples: LedgerCheck['examples'] = [];
  let aggregated = 0;
  const after = { firstRound, ianRounds: 0, complete: 0, lost: 0 };
  try {
    for (let r = 0; r < rounds; r++) {
      for (let v = 0; v < ians; v++) {
        const { restored, status } = ianRoundOnChain(store, cipher, v, r);
        if (status === 'complete') ianRounds.complete++;
        else if (status === 'degraded') ianRounds.degraded++;
        else ianRounds.failed++;
        const contributors = restored?.contributors ?? [];
        let exact = false;
        if (restored?.status === 'restored' && restored.estimates) {
          const truth = workload.groundTruthOver(
            contributors.map((device) => ({ ian: v, device, round: r })),
          );
          exact = truth.every((t, j) => Math.abs(t - restored.estimates![j]!.estimate) < 1e-6);
          if (exact) {
            ianRounds.exact++;
            aggregated += contributors.length;
          } else ianRounds.inexact++;
        }
        const whole = status === 'complete' && exact && contributors.length === devicesPerIan;
        if (r >= firstRound) {
          after.ianRounds++;
          if (status === 'complete') after.complete++;
          after.lost += devicesPerIan - (exact ? contributors.length : 0);
        }
        if (!whole && examples.length < 10)
          examples.push({
            ian: v,
            round: r,
            status: status ?? 'missing',
            contributors: contributors.length,
          });
      }
    }
  } finally {
    store.close();
  }
  const expected = ians * devicesPerIan * rounds;
  return {
    ianRounds,
    reports: { expected, aggregated, lost: expected - aggregated },
    afterWarmUp: after,
    examples,
  };
}
