import { ErrorCode, PrivaggError } from '../../errors.js';
import { type RandomSource, uniformUnit } from '../../math/random.js';

/**
 * Failure analysis of one IAN in one round of the MaaS scheme (paper §VI-C-2,
 * formulas 13–16), as pure functions, plus a Monte-Carlo simulator of the same model.
 *
 * The model the formulas assume (and the simulator samples):
 *   - n device sensors, m gateways, Shamir threshold k;
 *   - every DS→GW message is lost independently with probability p1 (n·m independent
 *     events: formula 15 raises (1 − p1) to n·i for i gateways, which is only right if
 *     the loss of DS i's message to GW l is independent of its message to GW l');
 *   - every gateway independently fails to aggregate and deliver with probability p2,
 *     independently of the losses.
 * One "message" is a DS's whole report to one GW (all w dimensions).
 *
 * Where the paper is questionable, and what these functions compute:
 *   1. The text calls P_fail-DCP "data perturbation and split failure in the data
 *      collection phase", but formula 14 defines it as 1 − P(at least k GWs receive the
 *      messages of all n DS): a delivery event. We compute formula 14/15.
 *   2. Requiring *all* n DS to reach a gateway is stricter than the scheme needs: §VI-C-1
 *      says aggregation proceeds over the DS that did report (formula 10). Formula 15 is
 *      the probability that the *complete* sum is recoverable. If p1 modelled a DS being
 *      down (one event for all its gateways), gateways would still agree on the
 *      contributor set and the round would succeed with fewer devices; formula 15 would
 *      then be wrong (the gateways' events would be correlated) and pessimistic.
 *   3. Formula 13 combines the phases as if independent, with DAP failure = "at least
 *      m − k + 1 of all m gateways fail" (formula 16). But recovery needs k gateways that
 *      both received everything *and* survived; the ≥ k complete gateways of DCP and the
 *      ≥ k survivors of DAP need not overlap. So formula 13 is the exact probability of
 *      the event (DCP fails) ∪ (DAP fails), which is a strict subset of the real failure
 *      event, and it *under*-estimates failure. `pFailGwJoint` gives the real one under
 *      the same independence assumptions: P[Binomial(m, (1 − p1)^n (1 − p2)) < k].
 *   4. The threat model's "k = ⌈m/2⌉ − 1" gateways compromised reuses k; it is not the
 *      Shamir threshold used here.
 */

export interface GatewayFailureModel {
  /** n: device sensors in the IAN, integer ≥ 1. */
  readonly devices: number;
  /** m: gateways, integer ≥ 1. */
  readonly gateways: number;
  /** k: Shamir threshold, integer 1 ≤ k ≤ m. */
  readonly threshold: number;
  /** p1: probability that one DS→GW message is lost. */
  readonly pMessageLoss: number;
  /** p2: probability that one gateway fails to aggregate and deliver. */
  readonly pGatewayFailure: number;
}

/** Throws INVALID_ARGUMENT unless the model is well-formed. */
export function checkFailureModel(model: GatewayFailureModel): void {
  const { devices: n, gateways: m, threshold: k, pMessageLoss: p1, pGatewayFailure: p2 } = model;
  const fail = (message: string) => {
    throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, message, { n, m, k, p1, p2 });
  };
  if (!Number.isSafeInteger(n) || n < 1) fail('devices (n) must be an integer ≥ 1');
  if (!Number.isSafeInteger(m) || m < 1) fail('gateways (m) must be an integer ≥ 1');
  if (!Number.isSafeInteger(k) || k < 1 || k > m)
    fail('threshold (k) must be an integer 1 ≤ k ≤ m');
  if (!(p1 >= 0 && p1 <= 1)) fail('pMessageLoss (p1) must be a probability in [0, 1]');
  if (!(p2 >= 0 && p2 <= 1)) fail('pGatewayFailure (p2) must be a probability in [0, 1]');
}

/** (1 − p1)^n and its complement, both computed without cancellation. */
function gatewayComplete(n: number, p1: number): { yes: number; no: number } {
  const log = n * Math.log1p(-p1);
  return { yes: Math.exp(log), no: -Math.expm1(log) };
}

/**
 * P[X < k] for X ~ Binomial(m, s), given s and f = 1 − s separately so a tiny f keeps
 * its precision. Terms are summed in log space so C(m, i) cannot overflow.
 */
function binomialBelow(m: number, k: number, s: number, f: number): number {
  if (k <= 0) return 0;
  if (k > m) return 1;
  if (s === 0) return 1; // X = 0 < k
  if (f === 0) return 0; // X = m ≥ k
  const logS = Math.log(s);
  const logF = Math.log(f);
  let logChoose = 0; // log C(m, 0)
  let total = 0;
  for (let i = 0; i < k; i++) {
    total += Math.exp(logChoose + i * logS + (m - i) * logF);
    logChoose += Math.log((m - i) / (i + 1));
  }
  return Math.min(1, total);
}

/**
 * Formula 15: P_fail-DCP = 1 − Σ_{i=k}^{m} C(m,i) q^i (1 − q)^{m−i}, q = (1 − p1)^n —
 * the probability that fewer than k gateways received every DS's message. Computed as
 * the lower tail Σ_{i<k} directly (equal, and exact where 1 − Σ would cancel).
 */
export function pFailDcp(model: GatewayFailureModel): number {
  checkFailureModel(model);
  const q = gatewayComplete(model.devices, model.pMessageLoss);
  return binomialBelow(model.gateways, model.threshold, q.yes, q.no);
}

/**
 * Formula 16: P_fail-DAP = Σ_{i=m−k+1}^{m} C(m,i) p2^i (1 − p2)^{m−i} — the probability
 * that at least m − k + 1 gateways fail, i.e. fewer than k survive.
 */
export function pFailDap(model: GatewayFailureModel): number {
  checkFailureModel(model);
  const p2 = model.pGatewayFailure;
  return binomialBelow(model.gateways, model.threshold, 1 - p2, p2);
}

/** Formula 13: P_fail-GW = P_DCP + (1 − P_DCP)·P_DAP (the paper's figure; see note 3). */
export function pFailGw(model: GatewayFailureModel): number {
  const dcp = pFailDcp(model);
  return dcp + (1 - dcp) * pFailDap(model);
}

/**
 * The probability that the IAN's complete round sum cannot be recovered under the same
 * model: fewer than k gateways both received all n messages and survived.
 * Always ≥ pFailGw (note 3).
 */
export function pFailGwJoint(model: GatewayFailureModel): number {
  checkFailureModel(model);
  const q = gatewayComplete(model.devices, model.pMessageLoss);
  const p2 = model.pGatewayFailure;
  const good = q.yes * (1 - p2);
  const bad = q.no + q.yes * p2;
  return binomialBelow(model.gateways, model.threshold, good, bad);
}

/** One sampled round of the model; the pipeline runner can use it as its fault plan. */
export interface GatewayRoundSample {
  /** delivered[i][l]: DS i's message reached GW l. */
  readonly delivered: readonly (readonly boolean[])[];
  /** gatewayUp[l]: GW l aggregated and delivered. */
  readonly gatewayUp: readonly boolean[];
  /** Gateways that received all n messages. */
  readonly completeGateways: number;
  /** Gateways that did not fail in the aggregation phase. */
  readonly survivingGateways: number;
  /** Gateways both complete and surviving: the ones recovery can use. */
  readonly usableGateways: number;
  /** Fewer than k complete gateways (formula 14's event). */
  readonly dcpFailed: boolean;
  /** Fewer than k surviving gateways (formula 16's event). */
  readonly dapFailed: boolean;
  /** dcpFailed || dapFailed: the event formula 13 measures. */
  readonly paperFailed: boolean;
  /** Fewer than k usable gateways: the complete sum is not recoverable. */
  readonly recoveryFailed: boolean;
}

/** Samples message losses (n·m draws, DS-major) then gateway failures (m draws). */
export function sampleGatewayRound(
  model: GatewayFailureModel,
  rng: RandomSource,
): GatewayRoundSample {
  checkFailureModel(model);
  const { devices: n, gateways: m, threshold: k, pMessageLoss: p1, pGatewayFailure: p2 } = model;
  const delivered: boolean[][] = [];
  const complete = new Array<boolean>(m).fill(true);
  for (let i = 0; i < n; i++) {
    const row = new Array<boolean>(m);
    for (let l = 0; l < m; l++) {
      row[l] = !bernoulli(rng, p1);
      if (!row[l]) complete[l] = false;
    }
    delivered.push(row);
  }
  const gatewayUp = Array.from({ length: m }, () => !bernoulli(rng, p2));
  const completeGateways = complete.filter(Boolean).length;
  const survivingGateways = gatewayUp.filter(Boolean).length;
  const usableGateways = complete.filter((c, l) => c && gatewayUp[l]).length;
  const dcpFailed = completeGateways < k;
  const dapFailed = survivingGateways < k;
  return {
    delivered,
    gatewayUp,
    completeGateways,
    survivingGateways,
    usableGateways,
    dcpFailed,
    dapFailed,
    paperFailed: dcpFailed || dapFailed,
    recoveryFailed: usableGateways < k,
  };
}

/** A Monte-Carlo frequency with its binomial standard error √(p̂(1 − p̂)/trials). */
export interface Estimate {
  readonly failures: number;
  readonly estimate: number;
  readonly standardError: number;
}

export interface MonteCarloFailure {
  readonly trials: number;
  readonly dcp: Estimate;
  readonly dap: Estimate;
  /** Compare with pFailGw. */
  readonly paper: Estimate;
  /** Compare with pFailGwJoint. */
  readonly recovery: Estimate;
}

/** Runs `trials` independent rounds of the model and counts each failure event. */
export function monteCarloFailure(
  model: GatewayFailureModel,
  trials: number,
  rng: RandomSource,
): MonteCarloFailure {
  checkFailureModel(model);
  if (!Number.isSafeInteger(trials) || trials < 1) {
    throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, 'trials must be an integer ≥ 1', {
      trials,
    });
  }
  let dcp = 0;
  let dap = 0;
  let paper = 0;
  let recovery = 0;
  for (let t = 0; t < trials; t++) {
    const round = sampleGatewayRound(model, rng);
    if (round.dcpFailed) dcp++;
    if (round.dapFailed) dap++;
    if (round.paperFailed) paper++;
    if (round.recoveryFailed) recovery++;
  }
  const estimate = (failures: number): Estimate => {
    const p = failures / trials;
    return { failures, estimate: p, standardError: Math.sqrt((p * (1 - p)) / trials) };
  };
  return {
    trials,
    dcp: estimate(dcp),
    dap: estimate(dap),
    paper: estimate(paper),
    recovery: estimate(recovery),
  };
}

/** True with probability p; p = 0 never, p = 1 always (uniformUnit is in [0, 1)). */
function bernoulli(rng: RandomSource, p: number): boolean {
  return uniformUnit(rng) < p;
}
