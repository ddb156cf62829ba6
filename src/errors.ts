/**
 * Every error privagg throws on purpose is a PrivaggError with a stable `code`.
 * Callers (and the network layers later) switch on `code`, never on message text,
 * so codes are part of the public API: add new ones, never rename old ones.
 */
export const ErrorCode = {
  /** An argument is outside the documented domain (k > m, ε ≤ 0, NaN, …). */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** A field element is not in [0, p). */
  VALUE_OUT_OF_FIELD: 'VALUE_OUT_OF_FIELD',
  /** A modular inverse of 0 (mod p) was asked for. */
  NOT_INVERTIBLE: 'NOT_INVERTIBLE',
  /** A Shamir share index is outside 1..m or repeated. */
  SHARE_INDEX_OUT_OF_RANGE: 'SHARE_INDEX_OUT_OF_RANGE',
  DUPLICATE_SHARE_INDEX: 'DUPLICATE_SHARE_INDEX',
  /** A share value is not in [0, p). */
  SHARE_OUT_OF_RANGE: 'SHARE_OUT_OF_RANGE',
  /** Fewer than k shares were given. */
  NOT_ENOUGH_SHARES: 'NOT_ENOUGH_SHARES',
  /** Share vectors of different lengths or index sets were combined. */
  SHARE_MISMATCH: 'SHARE_MISMATCH',
  /** More than k shares do not lie on one polynomial of degree < k. */
  INCONSISTENT_SHARES: 'INCONSISTENT_SHARES',
  /** Berlekamp–Welch found more errors than it can correct. */
  TOO_MANY_ERRORS: 'TOO_MANY_ERRORS',
  /** A fixed-point value is outside the codec's signed range. */
  FIXED_POINT_OUT_OF_RANGE: 'FIXED_POINT_OUT_OF_RANGE',
  /** A sum of n values in the configured range could wrap modulo p. */
  SUM_MAY_WRAP: 'SUM_MAY_WRAP',
  /** A MAC / AEAD tag failed to verify. */
  BAD_MAC: 'BAD_MAC',
  /** AEAD open failed (bad tag, wrong key, wrong AAD, truncated). */
  DECRYPT_FAILED: 'DECRYPT_FAILED',
  /** A key has the wrong length or type. */
  BAD_KEY: 'BAD_KEY',
  /** A signature failed to verify. */
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  /** LDP parameters for which the mechanism is undefined (b ≤ 0). */
  INVALID_PRIVACY_PARAMETERS: 'INVALID_PRIVACY_PARAMETERS',
  /** A spend would exceed the principal's privacy budget. */
  BUDGET_EXCEEDED: 'BUDGET_EXCEEDED',
  /** A principal has no budget registered with the accountant. */
  UNKNOWN_PRINCIPAL: 'UNKNOWN_PRINCIPAL',
  /** A data file (CSV trace) is not in the expected format; details name line and column. */
  MALFORMED_DATA: 'MALFORMED_DATA',
  /** A data file's sha256 differs from the published one. */
  DATA_CHECKSUM_MISMATCH: 'DATA_CHECKSUM_MISMATCH',
  /** A data file could not be found or read. */
  DATA_UNAVAILABLE: 'DATA_UNAVAILABLE',
  /** No MQTT broker answers at the URL (refused, host not found, timed out). */
  BROKER_UNREACHABLE: 'BROKER_UNREACHABLE',
  /** The MQTT broker refused this client (TLS certificate, CONNACK). */
  BROKER_REFUSED: 'BROKER_REFUSED',
  /** A state directory, ledger file or output directory another live privagg process holds. */
  STATE_LOCKED: 'STATE_LOCKED',
  // ── Untrusted messages (stable codes counted by gateways and the ledger) ──
  /** Bytes that do not decode: truncated, wrong lengths, trailing bytes, bad enum. */
  MALFORMED_MESSAGE: 'MALFORMED_MESSAGE',
  /** A wire version this build does not speak. */
  UNSUPPORTED_VERSION: 'UNSUPPORTED_VERSION',
  /** A message larger than the protocol allows. */
  OVERSIZED_MESSAGE: 'OVERSIZED_MESSAGE',
  /** The sender is not registered for this role, IAN or link. */
  UNKNOWN_SENDER: 'UNKNOWN_SENDER',
  /** A message addressed to another gateway or IAN than the one that received it. */
  WRONG_RECIPIENT: 'WRONG_RECIPIENT',
  /** The timestamp is outside the freshness window. */
  STALE_TIMESTAMP: 'STALE_TIMESTAMP',
  /** A second message for an already-seen (sender, round[, index]). */
  REPLAY: 'REPLAY',
  /** A message for a round that is not open (closed, too old or in the future). */
  WRONG_ROUND: 'WRONG_ROUND',
  /** The querier has no access right to what it asked for. */
  ACCESS_DENIED: 'ACCESS_DENIED',
  /** A re-aggregated partial whose contributor set is not the one the ledger asked for. */
  CONTRIBUTOR_MISMATCH: 'CONTRIBUTOR_MISMATCH',
  /**
   * A report's input-validity proof does not hold: its commitments do not match the shares
   * a gateway received, or the ledger's verdict on the proof refuses the device.
   */
  INVALID_PROOF: 'INVALID_PROOF',
  /** A recovery could not produce an aggregate (fewer than k usable partials, …). */
  RESTORE_FAILED: 'RESTORE_FAILED',
  /**
   * A ledger file is behind, or forked from, a signed chain head it acknowledged:
   * acknowledged transactions were lost or rewritten (a file copied without its WAL, a
   * torn WAL, deleted blocks). The ledger refuses to run on it.
   */
  ROLLBACK_DETECTED: 'ROLLBACK_DETECTED',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class PrivaggError extends Error {
  override readonly name = 'PrivaggError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Structured, non-secret context (indices, sizes) for logs and tests. */
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(`${code}: ${message}`);
  }
}

/** Throws INVALID_ARGUMENT unless `condition` holds. */
export function ensure(
  condition: boolean,
  message: string,
  details?: Record<string, unknown>,
): asserts condition {
  if (!condition) throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, message, details);
}

export function isPrivaggError(e: unknown, code?: ErrorCode): e is PrivaggError {
  return e instanceof PrivaggError && (code === undefined || e.code === code);
}
