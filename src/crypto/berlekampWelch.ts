import { ErrorCode, ensure, PrivaggError } from '../errors.js';
import { solveLinearSystem } from '../math/linearAlgebra.js';
import { dividePolynomials, evaluatePolynomial } from '../math/polynomial.js';
import {
  assertAlignedVectors,
  assertShareIndices,
  type ShamirParams,
  ShamirReconstructor,
  type Share,
  type ShareVector,
  validateShares,
} from './shamir.js';

/**
 * Berlekamp–Welch decoding of Shamir shares. r ≥ k shares of a degree < k polynomial
 * are a Reed–Solomon codeword of length r and minimum distance d = r − k + 1, so up to
 * t = ⌊(r − k)/2⌋ wrong shares can be corrected and named.
 *
 * Guarantees, with e the actual number of wrong shares and τ the correction radius
 * (`maxErrors`, default and at most t):
 *  - e ≤ τ: returns the true secret and exactly the wrong indices.
 *  - τ < e ≤ r − k − τ: throws TOO_MANY_ERRORS, always (no codeword lies within τ of
 *    the received shares, and every result is checked against that before returning).
 *  - e ≥ r − k + 1 − τ: the shares may be closer to another polynomial, and then that
 *    polynomial is returned (with its ≤ τ "wrong" indices). No decoder can tell this
 *    case apart: the received shares *are* a valid sharing with ≤ τ errors. Lower τ to
 *    buy detection: τ = 0 detects any r − k wrong shares and corrects none.
 */
export interface DecodeResult {
  readonly secret: bigint;
  /** Coefficients of the decoded polynomial, f(0) = secret; length k (zero-padded). */
  readonly polynomial: readonly bigint[];
  /** x-indices of the shares that disagree with it, ascending. */
  readonly wrongIndices: readonly number[];
}

export interface DecodeOptions {
  /** Correction radius τ, 0 ≤ τ ≤ ⌊(r − k)/2⌋; default the maximum. */
  readonly maxErrors?: number;
}

function correctionRadius(params: ShamirParams, r: number, options?: DecodeOptions): number {
  const t = Math.floor((r - params.threshold) / 2);
  const tau = options?.maxErrors ?? t;
  ensure(Number.isSafeInteger(tau) && tau >= 0 && tau <= t, 'maxErrors must be in 0..⌊(r − k)/2⌋', {
    maxErrors: tau,
    r,
    k: params.threshold,
  });
  return tau;
}

function tooManyErrors(params: ShamirParams, r: number, tau: number): PrivaggError {
  return new PrivaggError(ErrorCode.TOO_MANY_ERRORS, 'more wrong shares than can be corrected', {
    received: r,
    k: params.threshold,
    maxErrors: tau,
  });
}

/** Decodes the secret from r ≥ k shares, correcting up to τ wrong ones (see guarantees above). */
export function decodeShares(
  params: ShamirParams,
  shares: readonly Share[],
  options?: DecodeOptions,
): DecodeResult {
  validateShares(params, shares);
  const r = shares.length;
  const k = params.threshold;
  const tau = correctionRadius(params, r, options);
  const field = params.field;
  const xs = shares.map((s) => BigInt(s.x));
  const ys = shares.map((s) => s.y);

  // Common case first: all shares consistent, no linear algebra needed.
  const fast = new ShamirReconstructor(
    params,
    shares.map((s) => s.x),
  );
  if (fast.isConsistent(ys)) {
    return {
      secret: fast.reconstruct(ys),
      polynomial: interpolatePolynomial(params, shares),
      wrongIndices: [],
    };
  }
  if (tau === 0) throw tooManyErrors(params, r, tau);

  // Unknowns: Q = q_0..q_{τ+k−1} and E = e_0..e_{τ−1} + x^τ (monic error locator), with
  // Q(x_i) = y_i·E(x_i) for every i: Σ q_j x_i^j − y_i Σ e_j x_i^j = y_i x_i^τ.
  const nq = tau + k;
  const rows: bigint[][] = [];
  const rhs: bigint[] = [];
  for (let i = 0; i < r; i++) {
    const x = xs[i]!;
    const y = ys[i]!;
    const row: bigint[] = [];
    let pw = 1n;
    for (let j = 0; j < nq; j++) {
      row.push(pw);
      pw = field.mul(pw, x);
    }
    pw = 1n;
    for (let j = 0; j < tau; j++) {
      row.push(field.neg(field.mul(y, pw)));
      pw = field.mul(pw, x);
    }
    rows.push(row);
    rhs.push(field.mul(y, pw));
  }
  const z = solveLinearSystem(field, rows, rhs);
  if (!z) throw tooManyErrors(params, r, tau);
  const q = z.slice(0, nq);
  const e = [...z.slice(nq), 1n];
  const { quotient, remainder } = dividePolynomials(field, q, e);
  if (remainder.length > 0 || quotient.length > k) throw tooManyErrors(params, r, tau);

  // Never trust the algebra alone: count disagreements against the decoded polynomial.
  const wrongIndices: number[] = [];
  for (let i = 0; i < r; i++) {
    if (evaluatePolynomial(field, quotient, xs[i]!) !== ys[i]) wrongIndices.push(shares[i]!.x);
  }
  if (wrongIndices.length > tau) throw tooManyErrors(params, r, tau);
  wrongIndices.sort((a, b) => a - b);
  const polynomial = [...quotient];
  while (polynomial.length < k) polynomial.push(0n);
  return { secret: polynomial[0]!, polynomial, wrongIndices };
}

/** Decodes each dimension of r ≥ k share vectors; wrongIndices is the union over dimensions. */
export function decodeShareVectors(
  params: ShamirParams,
  vectors: readonly ShareVector[],
  options?: DecodeOptions,
): { secrets: bigint[]; wrongIndices: number[] } {
  assertShareIndices(
    params,
    vectors.map((v) => v.x),
  );
  const w = assertAlignedVectors(vectors);
  const secrets: bigint[] = [];
  const wrong = new Set<number>();
  for (let d = 0; d < w; d++) {
    const res = decodeShares(
      params,
      vectors.map((v) => ({ x: v.x, y: v.ys[d]! })),
      options,
    );
    secrets.push(res.secret);
    for (const x of res.wrongIndices) wrong.add(x);
  }
  return { secrets, wrongIndices: [...wrong].sort((a, b) => a - b) };
}

/** Coefficients of the degree < k polynomial through the first k shares (Newton form). */
function interpolatePolynomial(params: ShamirParams, shares: readonly Share[]): bigint[] {
  const field = params.field;
  const k = params.threshold;
  const xs = shares.slice(0, k).map((s) => BigInt(s.x));
  // Divided differences, then expand the Newton form into coefficients.
  const dd = shares.slice(0, k).map((s) => s.y);
  for (let j = 1; j < k; j++) {
    for (let i = k - 1; i >= j; i--) {
      dd[i] = field.div(field.sub(dd[i]!, dd[i - 1]!), field.sub(xs[i]!, xs[i - j]!));
    }
  }
  let poly: bigint[] = [dd[k - 1]!];
  for (let i = k - 2; i >= 0; i--) {
    // poly = poly·(x − xs[i]) + dd[i]
    const next = new Array<bigint>(poly.length + 1).fill(0n);
    for (let j = 0; j < poly.length; j++) {
      next[j + 1] = field.add(next[j + 1]!, poly[j]!);
      next[j] = field.sub(next[j]!, field.mul(poly[j]!, xs[i]!));
    }
    next[0] = field.add(next[0]!, dd[i]!);
    poly = next;
  }
  return poly.slice(0, k);
}
