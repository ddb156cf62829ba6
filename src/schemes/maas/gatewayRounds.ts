import type { DecodedDeviceReport } from '../../wire/maas.js';
import type { Rejection } from './gatewayVerdicts.js';
import type { ResumHistory } from './resumRule.js';
import type { VerifierShare } from './validity/shares.js';

/**
 * A round's accepted shares in the split-limb form of PrimeField.pack: row r holds w
 * elements of `limbs` 32-bit limbs each. Shares go from the wire into this form without
 * a bigint per share, and are summed with PrimeField.sumPacked (float64 limb sums).
 */
export interface RoundShares {
  /** Accepted device → its row. */
  rows: Map<number, number>;
  limbs: Uint32Array;
  /** The sets summed in this round so far (resumRule.ts): the chain re-sums must follow. */
  history: ResumHistory;
}

/** A round's opened shares before aggregation: rows by device, dimensions present per row. */
export interface OpenedRound {
  rows: Map<number, number>;
  limbs: Uint32Array;
  present: Uint8Array;
  failedDevices: Set<number>;
  /** Rejections found while opening (and, in batch mode, verifying) the round's messages. */
  rejected: Rejection[];
  /** Input validity on: each opened device's verifier share, for the attempt-0 partial. */
  verifiers: Map<number, VerifierShare>;
}

/**
 * In the paper's batch mode, unverified copies of one (device[, dimension]) a round may
 * queue. A flood of forgeries can then lock the genuine message out of its round — one
 * more reason the default mode verifies each tag on ingest.
 */
export const MAX_PENDING_COPIES = 8;

/** Closed rounds whose shares a gateway keeps for re-sum requests, besides the newest. */
export const HELD_ROUNDS = 4;

/** The replay cache's key of a message: one message per (device[, dimension]) a round. */
export function replayKey(msg: DecodedDeviceReport): string {
  return msg.perDimension ? `${msg.device}/${msg.dimension}` : `${msg.device}`;
}
