import { ErrorCode, isPrivaggError } from '../../errors.js';

/** A message's verdict: accepted, or rejected with a stable code. */
export type Verdict = { ok: true } | { ok: false; code: ErrorCode; reason: string };

export interface Rejection {
  code: ErrorCode;
  reason: string;
  device?: number;
}

export interface GatewayRoundResult {
  round: number;
  /** Sorted device indices whose shares are in `sums`. */
  contributors: number[];
  /** Σ_i sh_l(d'_ij) mod p for each dimension j. */
  sums: bigint[];
  /** The tagged partial for the ledger. */
  partial: Buffer;
  /** Rejections found while verifying and opening the batch (ingest returned the others). */
  rejected: Rejection[];
  /** Devices that sent some but not all of their per-dimension messages. */
  incomplete: number[];
}

export const ACCEPTED: Verdict = Object.freeze({ ok: true as const });

export function toRejection(e: unknown): Rejection {
  if (isPrivaggError(e)) {
    const device = typeof e.details.device === 'number' ? e.details.device : undefined;
    return { code: e.code, reason: e.message, ...(device !== undefined ? { device } : {}) };
  }
  // A bug, not bad input: still never crash the gateway on one message, but say so.
  return { code: ErrorCode.MALFORMED_MESSAGE, reason: `unexpected: ${String(e)}` };
}
