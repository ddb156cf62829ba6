/**
 * Stable codes for what can go wrong between a privagg client and a Fabric network —
 * failures of the infrastructure, not refusals of the input (those come back as
 * { ok: false, code: ErrorCode } answers from the chaincode, exactly as from the core).
 *
 * Kept apart from ErrorCode on purpose: every ErrorCode is a refusal of the input and the
 * HTTP layer maps each to a 4xx (src/ledger/http/errors.ts, exhaustive by type); these are
 * the server side's fault (5xx-like) and appending them to ErrorCode would break that
 * table until it grows a status for each. Add new codes, never rename old ones.
 */
export const LedgerClientErrorCode = {
  /**
   * No peer answered in time: connection refused, DNS, TLS handshake, deadline exceeded.
   * `details.outcomeUnknown` is true when the transaction may already have been sent to
   * ordering (commit status timed out): it can still commit, so do not assume it did not.
   */
  LEDGER_UNAVAILABLE: 'LEDGER_UNAVAILABLE',
  /**
   * Peers refused to endorse (or to evaluate): the chaincode threw (not initialised,
   * InitLedger twice, a caller without the operator role, …), peers disagreed, or no set of
   * peers could satisfy the endorsement policy. `details.chaincodeCode` carries the
   * chaincode's own privagg code when its message starts with one.
   */
  ENDORSEMENT_FAILED: 'ENDORSEMENT_FAILED',
  /**
   * Endorsed but not committed: the orderer refused it, or validation marked it invalid
   * (`details.validationCode`, e.g. 11 MVCC_READ_CONFLICT after the client's retries).
   * The ledger's state is unchanged by this transaction.
   */
  COMMIT_FAILED: 'COMMIT_FAILED',
  /** The chaincode answered something that is not the JSON this client speaks (version skew). */
  UNEXPECTED_RESPONSE: 'UNEXPECTED_RESPONSE',
} as const;

export type LedgerClientErrorCode =
  (typeof LedgerClientErrorCode)[keyof typeof LedgerClientErrorCode];

export class LedgerClientError extends Error {
  override readonly name = 'LedgerClientError';
  constructor(
    readonly code: LedgerClientErrorCode,
    message: string,
    /** Structured, non-secret context: phase, gRPC code, transaction id, peer messages. */
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(`${code}: ${message}`);
  }
}

export function isLedgerClientError(
  e: unknown,
  code?: LedgerClientErrorCode,
): e is LedgerClientError {
  return e instanceof LedgerClientError && (code === undefined || e.code === code);
}
