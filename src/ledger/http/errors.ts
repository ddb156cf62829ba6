import { ErrorCode } from '../../errors.js';

/**
 * The HTTP API's error vocabulary: every ErrorCode the ledger can answer with, plus the
 * few conditions only HTTP has. Codes are stable (clients switch on them, never on the
 * message); add new ones, never rename.
 */
export const HttpErrorCode = {
  /** No route for this method and path. */
  NOT_FOUND: 'NOT_FOUND',
  /** GET /v1/blocks/:height for a height the ledger does not have (yet). */
  BLOCK_NOT_FOUND: 'BLOCK_NOT_FOUND',
  /** A Content-Type the route does not take (or a body where none is taken). */
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  /** No verified client certificate naming an identity of this deployment (HTTPS only). */
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** GET /v1/verify found a bad block: the chain does not verify. */
  CHAIN_INVALID: 'CHAIN_INVALID',
  /** The ledger reports itself unhealthy (GET /v1/health). */
  UNHEALTHY: 'UNHEALTHY',
  /** A bug or an unavailable store: nothing about the request is implied. */
  INTERNAL: 'INTERNAL',
} as const;
export type HttpErrorCode = (typeof HttpErrorCode)[keyof typeof HttpErrorCode];

export type ApiErrorCode = ErrorCode | HttpErrorCode;

/**
 * HTTP status of each ErrorCode, in one table (documented in docs/openapi.json's info and
 * kept exhaustive by the type: a new ErrorCode does not compile until it has a status).
 *
 * Every ErrorCode maps to a 4xx: the service answers { ok: false, code } only for input it
 * refuses, so a code is never the server's fault; a 500 is only ever an exception.
 *  - 400: the bytes or JSON do not decode, or a value is outside its domain.
 *  - 401: a tag or signature does not verify (the sender could not prove who it is).
 *  - 403: the sender is known not to be allowed: not registered, not granted the dimension,
 *    or out of privacy budget. BUDGET_EXCEEDED is 403, not 429: 429 invites a retry after a
 *    while, and a spent ε budget never comes back.
 *  - 409: conflicts with what the ledger already holds: a replay, or a re-aggregation that
 *    is not the one the ledger asked for.
 *  - 413: larger than the wire format allows.
 *  - 422: well-formed and authentic, but not acceptable now: a stale timestamp, or a round
 *    that is not open (a query window past the newest restored round). Kept apart from
 *    409 because retrying with a fresh timestamp or later can succeed.
 */
export const STATUS_OF_CODE: Readonly<Record<ErrorCode, number>> = {
  [ErrorCode.MALFORMED_MESSAGE]: 400,
  [ErrorCode.UNSUPPORTED_VERSION]: 400,
  [ErrorCode.INVALID_ARGUMENT]: 400,
  [ErrorCode.VALUE_OUT_OF_FIELD]: 400,
  [ErrorCode.SHARE_OUT_OF_RANGE]: 400,
  [ErrorCode.SHARE_INDEX_OUT_OF_RANGE]: 400,
  [ErrorCode.DUPLICATE_SHARE_INDEX]: 400,
  [ErrorCode.FIXED_POINT_OUT_OF_RANGE]: 400,
  [ErrorCode.MALFORMED_DATA]: 400,
  [ErrorCode.BAD_MAC]: 401,
  [ErrorCode.BAD_SIGNATURE]: 401,
  [ErrorCode.DECRYPT_FAILED]: 401,
  [ErrorCode.BAD_KEY]: 401,
  [ErrorCode.UNKNOWN_SENDER]: 403,
  [ErrorCode.WRONG_RECIPIENT]: 403,
  [ErrorCode.ACCESS_DENIED]: 403,
  [ErrorCode.UNKNOWN_PRINCIPAL]: 403,
  [ErrorCode.BUDGET_EXCEEDED]: 403,
  [ErrorCode.REPLAY]: 409,
  [ErrorCode.CONTRIBUTOR_MISMATCH]: 409,
  [ErrorCode.INVALID_PROOF]: 422,
  [ErrorCode.OVERSIZED_MESSAGE]: 413,
  [ErrorCode.STALE_TIMESTAMP]: 422,
  [ErrorCode.WRONG_ROUND]: 422,
  [ErrorCode.NOT_INVERTIBLE]: 422,
  [ErrorCode.NOT_ENOUGH_SHARES]: 422,
  [ErrorCode.SHARE_MISMATCH]: 422,
  [ErrorCode.INCONSISTENT_SHARES]: 422,
  [ErrorCode.TOO_MANY_ERRORS]: 422,
  [ErrorCode.SUM_MAY_WRAP]: 422,
  [ErrorCode.INVALID_PRIVACY_PARAMETERS]: 422,
  [ErrorCode.RESTORE_FAILED]: 422,
  [ErrorCode.DATA_CHECKSUM_MISMATCH]: 422,
  [ErrorCode.DATA_UNAVAILABLE]: 422,
  // Never an answer to a request (a role's connection to its broker); listed for completeness.
  [ErrorCode.BROKER_UNREACHABLE]: 503,
  [ErrorCode.BROKER_REFUSED]: 503,
  // Never an answer to a request (a second process on one state directory).
  [ErrorCode.STATE_LOCKED]: 409,
  // Never an answer to a request (the ledger refuses to start instead); listed for completeness.
  [ErrorCode.ROLLBACK_DETECTED]: 409,
};

export const STATUS_OF_HTTP_CODE: Readonly<Record<HttpErrorCode, number>> = {
  [HttpErrorCode.NOT_FOUND]: 404,
  [HttpErrorCode.BLOCK_NOT_FOUND]: 404,
  [HttpErrorCode.UNSUPPORTED_MEDIA_TYPE]: 415,
  [HttpErrorCode.UNAUTHORIZED]: 401,
  [HttpErrorCode.CHAIN_INVALID]: 409,
  [HttpErrorCode.UNHEALTHY]: 503,
  [HttpErrorCode.INTERNAL]: 500,
};

export function statusOf(code: ApiErrorCode): number {
  return (
    (STATUS_OF_CODE as Record<string, number>)[code] ??
    (STATUS_OF_HTTP_CODE as Record<string, number>)[code] ??
    500
  );
}

/** A refusal decided by the HTTP layer itself (before or instead of the service). */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    readonly reason: string,
  ) {
    super(`${code}: ${reason}`);
    this.status = statusOf(code);
  }
}
