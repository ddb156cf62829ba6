import type { ErrorCode } from '../../errors.js';
import type { DimensionEstimate } from './readingCodec.js';
import type { VerifierShare } from './validity/shares.js';

/**
 * What the ledger contract (ledgerContract.ts) records and answers: the partials it
 * stores, the result of adding one, and the outcome of restoring an IAN-round.
 */
export interface StoredPartial {
  gateway: number;
  attempt: number;
  contributors: readonly number[];
  sums: readonly bigint[];
  timestamp: number;
  /** Input validity, attempt 0: each contributor's verifier share from this gateway. */
  verifiers?: ReadonlyMap<number, VerifierShare>;
}

/** A device whose input-validity proof the ledger refused, and why. */
export interface RefusedDevice {
  device: number;
  reason: string;
}

export type RestoreOutcome =
  | {
      status: 'restored';
      ian: number;
      round: number;
      attempt: number;
      contributors: readonly number[];
      /** Gateways whose partials were used. */
      gateways: readonly number[];
      /** Gateways whose partials Berlekamp–Welch found wrong. */
      liars: readonly number[];
      /** Gateways whose partials were left out because their contributor set differs from the group used. */
      excluded: readonly number[];
      /** False when exactly k partials were used: a lie could not have been detected. */
      crossChecked: boolean;
      estimates: readonly DimensionEstimate[];
      /** Devices whose validity proofs were refused (left out). Present only when non-empty. */
      refused?: readonly RefusedDevice[];
    }
  | {
      status: 'reconcile';
      ian: number;
      round: number;
      /** The attempt number gateways must use for their re-aggregated partials. */
      attempt: number;
      contributors: readonly number[];
      /** The gateways asked to re-aggregate (those holding every device of `contributors`). */
      gateways: readonly number[];
      /** Devices some gateway had and the target set drops, with the gateways that lacked them. */
      dropped: readonly { device: number; missingAt: readonly number[] }[];
      /**
       * Devices every asked gateway holds, left out anyway so that each gateway's new set
       * differs from its last one by 0 or ≥ `params.reconcile.minDifference` devices (the
       * no-differencing rule, resumRule.ts). Also in `dropped`. Present only when non-empty.
       */
      withheld?: readonly number[];
      /** Devices whose validity proofs were refused (also in `dropped`). Present only when non-empty. */
      refused?: readonly RefusedDevice[];
    }
  | { status: 'failed'; ian: number; round: number; reason: string };

/** A restored IAN-round: final, and what queries are answered from. */
export type RestoredOutcome = Extract<RestoreOutcome, { status: 'restored' }>;
/** A failed IAN-round: final too (a query reports the IAN as missing). */
export type FailedOutcome = Extract<RestoreOutcome, { status: 'failed' }>;

export type AddResult =
  | { ok: true; ian: number; round: number; gateway: number; attempt: number }
  | { ok: false; code: ErrorCode; reason: string };
