import { lengthPrefixed, sha256 } from '../../crypto/bytes.js';
import { macTag } from '../../crypto/mac.js';
import type { PrivacyAccountant } from '../../dp/accountant.js';
import { estimateSum } from '../../dp/ldpSquareWave.js';
import { addRational, formatRational, rational, toRational } from '../../dp/rational.js';
import { ErrorCode, isPrivaggError, PrivaggError } from '../../errors.js';
import { type RandomSource, seededRandom, uniformInt } from '../../math/random.js';
import {
  decodeQuery,
  encodeQueryBody,
  MAX_MESSAGE_BYTES,
  type QueryFields,
} from '../../wire/maas.js';
import { checkFreshness } from '../common/freshness.js';
import { DpUtils } from './dpUtils.js';
import type { LedgerKey, OemKey } from './keys.js';
import type { MaasLedgerContract } from './ledgerContract.js';
import type { MaasParams } from './params.js';
import { evidenceTagBytes, signEvidence, verifyEvidence } from './tags.js';

/**
 * Query (Algorithm 2, "weighted noise injection").
 *
 * `number` IANs are chosen at random (in the default mode, derived from the query window,
 * so a repeated query picks the same ones) and their restored aggregates summed per round
 * over [startRound, endRound] for each queried dimension j.
 *
 * Complete rounds only. A window is answered only when every round in it is final: each
 * of the z IANs has a final outcome (restored, or failed for good: Restore never retries
 * a failed IAN-round), or the round is older than the ledger's retention window
 * (`pruneBefore`: nothing can be added to it any more). Otherwise WRONG_ROUND, before
 * anything is charged or cached, so a cached answer can never change under its OEM.
 * Each point names the selected IANs it covers and those that failed (`missingIans`).
 *
 * Noise in privagg's default mode ('derived'), in the integer domain. For one round and
 * dimension, IAN v's restored fixed-point integer q_v (the sum Restore interpolated,
 * before de-biasing) is released as z·q_v + N_v, with N_v = z·η_v − Σ_u η_u and η from
 * the shared cells of DpUtils (dpUtils.ts). Σ_v N_v = 0 exactly, in integers. An answer
 * over the selected restored IANs K is the integer T = Σ_{v∈K} (z·q_v + N_v), de-biased
 * after: value = maxReading_j·(T/(z·scale) − n_K·A)/B with LDP on, T/z with it off. The
 * value is a public affine function of T, so its digits tell T and nothing finer; and
 * T mod z = −|K|·Σ_u η_u mod z does not depend on the data. (Integer η added to the
 * de-biased, fractional estimate — the paper's construction — is stripped by the
 * fractional part; test/schemes/maas/queryNoise.test.ts replays that attack.)
 *
 * Why this zero-sum construction. η_v − mean(η) has the right law but is not an
 * integer; at resolution 1/z it is the integer z·η_v − Σ_u η_u. "Draw z − 1 and set the
 * last" is integral at scale 1 with the same ε, but the last IAN carries z − 1 cells of
 * noise and a subset's noise depends on whether it holds that IAN; cyclic differences
 * η_v − η_{v+1} need a shift of up to z/2 cells to absorb a move between two far-apart
 * IANs, so their ε grows with z. The centred form is symmetric, gives every k-subset the
 * least variance, σ_j²·k(z − k)/z, and the same ε for every pair of IANs: moving δ from
 * IAN u to IAN v is absorbed by η ↦ η + δ(e_v − e_u), two cells; hence the scale 2Δ/ε.
 *
 * What the noise protects (the unit of privacy): one IAN's value for one round and
 * dimension, over its whole range Δ (dpUtils.ts). Every answer, of every OEM, over any
 * subsets and windows, is a sum of the per-IAN releases z·q_v + N_v of final rounds:
 * post-processing of one release per (round, dimension), which is ε*_j-DP (ε*_j the
 * smallest ε_j any OEM holds) for
 *  (a) moving up to one IAN's range between two IANs of that round. The all-IAN total is
 *      an invariant: released exactly when all z IANs are restored — that is what the
 *      zero-sum is for — and protected by the devices' LDP alone. So the difference of the
 *      all-IAN answer and a (z − 1)-subset does isolate one IAN, with noise N_v/z of
 *      scale 2Δ/ε*: calibrated to the IAN's whole range, not to one device (the audit's
 *      Pearson 0.80 against the truth becomes ≈ 0.1, queryNoise.test.ts). What no query
 *      noise can do while the total is exact: hide an IAN from an OEM that knows all the
 *      others.
 *  (b) when an IAN of the round failed: changing any one restored IAN's value by up to
 *      its range (η ↦ η + δ(e_v − e_failed)); the total then carries noise as well.
 *
 * Composition. The cells are derived and shared, so per (round, dimension) the loss to
 * all OEMs together is ε*_j however many queries they ask, and an IAN's trend over R
 * rounds costs R·ε*_j per dimension (basic composition over independent cells). Each
 * distinct window still spends Σ_j ε_j (ε_j ≥ ε*_j) of its OEM's budget, checked before
 * the answer is computed and charged after, refused with BUDGET_EXCEEDED past it: a cap
 * on distinct windows that over-counts the loss, kept so a budget means what it says.
 *
 * Standard errors: every point reports the LDP standard error of the covered IANs plus
 * the query noise actually in it, σ_j²·k(z − k)/z for k covered of z (0 when all z are
 * selected and restored; not 0 when an IAN failed), in value units.
 *
 * The paper's mode ('paper-fresh') draws fresh η per query, per OEM, calibrated to one
 * device, and adds η_v − mean(η) to the de-biased estimate as floats: repeated queries
 * average it away and the fractional part strips it. No budget. Kept for comparison.
 */
export interface SeriesPoint {
  round: number;
  value: number;
  /** Standard error of `value`: the LDP estimate's and the query noise in it, combined. */
  standardError: number;
  /** The query noise's part of `standardError` (0 when the zero-sum noise cancels). */
  noiseStandardError: number;
  /** Selected IANs whose restored aggregate for this round is in `value`. */
  coveredIans: number[];
  /** Selected IANs with no restored aggregate for this round (failed for good). */
  missingIans: number[];
}

export interface DimensionAnswer {
  index: number;
  name: string;
  series: SeriesPoint[];
  total: number;
  /** Standard error of `total` (LDP and query noise; rounds are independent). */
  totalStandardError: number;
}

export interface QueryAnswer {
  oem: string;
  number: number;
  startRound: number;
  endRound: number;
  ians: number[];
  dimensions: DimensionAnswer[];
  /** What this query charged (null when answered from cache or in the paper's mode). */
  spent: { epsilon: string; delta: string } | null;
  remaining: { epsilon: string; delta: string } | null;
  cached: boolean;
}

export type QueryResult =
  | { ok: true; answer: QueryAnswer }
  | { ok: false; code: ErrorCode; reason: string };

/** The OEM side: a query signed with the querier's own key (the paper's mode: its hash). */
export function buildQuery(params: MaasParams, key: OemKey, q: Omit<QueryFields, 'oem'>): Buffer {
  const body = encodeQueryBody({ ...q, oem: key.oem });
  return Buffer.concat([
    body,
    signEvidence(params.modes.mac, { signer: key.signingKey, identity: key.identity }, body),
  ]);
}

/**
 * What the replay cache remembers a query by: what was asked (SHA-256 of the signed
 * bytes), not the tag's bytes, so a second valid encoding of a signature could not pass as
 * a new query. The Fabric contract keys its record of answered queries the same way.
 */
export function queryReplayKey(q: { authenticated: Uint8Array }): string {
  return sha256(q.authenticated).toString('hex');
}

export function dimensionMask(dimensions: readonly number[]): number {
  return dimensions.reduce((m, j) => m | (1 << j), 0);
}

export class MaasQueryEngine {
  private readonly answers = new Map<string, QueryAnswer>();
  private readonly seenQueries = new Map<string, number>();
  readonly rejections = new Map<ErrorCode, number>();
  /** Rounds below this are concluded (the ledger pruned them): final whatever is missing. */
  private concludedBefore = 0;

  /** Replaced by `pruneBefore` when this engine made it (cells are derived, so none is lost). */
  dp: DpUtils;
  private readonly ownsDp: boolean;

  constructor(
    readonly contract: MaasLedgerContract,
    readonly key: LedgerKey,
    readonly params: MaasParams,
    readonly accountant: PrivacyAccountant,
    /** Shared noise cells (e.g. a second engine over the same ledger); new ones when absent. */
    dp?: DpUtils,
  ) {
    for (const o of key.oems) {
      if (!accountant.has(o.grant.name)) accountant.register(o.grant.name, o.grant.budget);
    }
    this.dp = dp ?? new DpUtils(key, params, contract.codec);
    this.ownsDp = !dp;
    if (!dp && params.modes.queryNoise === 'derived') {
      // Derive each restored IAN-round's noise cell as it is restored, not at query time.
      contract.onRestored((o) => this.dp.prepare(o.ian, o.round));
    }
  }

  /** Never throws: a bad query is rejected with a code and changes nothing. */
  query(bytes: Uint8Array, nowMs: number, freshRng: RandomSource): QueryResult {
    try {
      return { ok: true, answer: this.answer(bytes, nowMs, freshRng) };
    } catch (e) {
      const code = isPrivaggError(e) ? e.code : ErrorCode.MALFORMED_MESSAGE;
      this.rejections.set(code, (this.rejections.get(code) ?? 0) + 1);
      return { ok: false, code, reason: e instanceof Error ? e.message : String(e) };
    }
  }

  private answer(bytes: Uint8Array, nowMs: number, freshRng: RandomSource): QueryAnswer {
    const { params } = this;
    if (bytes.length > MAX_MESSAGE_BYTES)
      throw new PrivaggError(ErrorCode.OVERSIZED_MESSAGE, 'query too large');
    const q = decodeQuery(bytes, evidenceTagBytes(params.modes.mac));
    const oem = this.key.oems[q.oem];
    if (!oem) throw new PrivaggError(ErrorCode.UNKNOWN_SENDER, `no OEM ${q.oem}`);
    checkFreshness(q.timestamp, nowMs, params.freshnessWindowMs);
    if (!verifyEvidence(params.modes.mac, oem, q.authenticated, q.tag)) {
      throw new PrivaggError(ErrorCode.BAD_MAC, 'query signature does not verify');
    }
    const tagHex = queryReplayKey(q);
    for (const [t, at] of this.seenQueries)
      if (nowMs - at > 2 * params.freshnessWindowMs) this.seenQueries.delete(t);
    if (this.seenQueries.has(tagHex))
      throw new PrivaggError(ErrorCode.REPLAY, 'this query message was already answered');
    const dims: number[] = [];
    for (let j = 0; j < 8; j++) if (q.dimensionMask & (1 << j)) dims.push(j);
    for (const j of dims) {
      if (j >= params.dimensions.length || !oem.grant.dimensions.includes(j)) {
        throw new PrivaggError(
          ErrorCode.ACCESS_DENIED,
          `${oem.grant.name} may not query dimension ${j}`,
        );
      }
    }
    if (q.number > params.ians) {
      throw new PrivaggError(
        ErrorCode.MALFORMED_MESSAGE,
        `number = ${q.number} > z = ${params.ians}`,
      );
    }
    // A cheap bound first (it also bounds the work of one query by the rounds that exist):
    // no round past the newest one any IAN has finished can be final.
    const latest = this.contract.latestFinalRound;
    if (q.endRound > latest) {
      throw new PrivaggError(
        ErrorCode.WRONG_ROUND,
        `window ends at round ${q.endRound}; the newest restored round is ${latest}`,
      );
    }
    const windowKey = `${q.number}/${q.startRound}/${q.endRound}/${q.dimensionMask}`;
    const derived = params.modes.queryNoise === 'derived';
    if (derived) {
      const cached = this.answers.get(`${oem.grant.name}|${windowKey}`);
      if (cached) {
        this.seenQueries.set(tagHex, nowMs);
        return { ...cached, spent: null, cached: true };
      }
    }
    // Only complete rounds: an answer over a round some IAN may still restore would be
    // charged and cached while the data under it can still change.
    const pending = this.firstPending(q.startRound, q.endRound);
    if (pending) {
      throw new PrivaggError(
        ErrorCode.WRONG_ROUND,
        `round ${pending.round} is not final: IAN ${pending.ian} is neither restored nor failed yet`,
        pending,
      );
    }
    // Σ_j ε_j as an exact rational (0.1 + 0.2 is 3/10, not 0.30000000000000004).
    const epsilon = dims.reduce(
      (acc, j) => addRational(acc, toRational(oem.grant.epsilonPerDimension[j]!, 'epsilon')),
      rational(0),
    );
    // Check first, answer, then charge: a query that fails on the way costs nothing.
    if (derived && !this.accountant.canSpend(oem.grant.name, epsilon, 0)) {
      this.accountant.spend(oem.grant.name, epsilon, 0, `query ${windowKey}`); // throws BUDGET_EXCEEDED
    }
    const rng = derived
      ? seededRandom(
          macTag(
            { algorithm: 'hmac-sha256', bytes: this.key.queryNoiseKey },
            lengthPrefixed(Buffer.from('pick'), Buffer.from(windowKey)),
          ).toString('hex'),
        )
      : freshRng;
    const answer = this.compute(q, dims, q.oem, rng, derived ? null : freshRng);
    let spent: QueryAnswer['spent'] = null;
    if (derived) {
      const spend = this.accountant.spend(oem.grant.name, epsilon, 0, `query ${windowKey}`);
      spent = { epsilon: formatRational(spend.epsilon), delta: formatRational(spend.delta) };
    }
    this.seenQueries.set(tagHex, nowMs);
    const remaining = this.accountant.remaining(oem.grant.name);
    const full: QueryAnswer = {
      ...answer,
      oem: oem.grant.name,
      spent,
      remaining: derived
        ? { epsilon: formatRational(remaining.epsilon), delta: formatRational(remaining.delta) }
        : null,
      cached: false,
    };
    if (derived) this.answers.set(`${oem.grant.name}|${windowKey}`, full);
    return full;
  }

  /** The first (IAN, round) of the window with no final outcome, if any. */
  private firstPending(start: number, end: number): { ian: number; round: number } | undefined {
    const z = this.params.ians;
    for (let rd = Math.max(start, this.concludedBefore); rd <= end; rd++) {
      for (let v = 0; v < z; v++) {
        // finalOutcomeOf holds the restored and failed outcomes in memory; restoredOf also
        // reaches a store's archive (a contract that serves pruned rounds from its blocks).
        if (!this.contract.finalOutcomeOf(v, rd) && !this.contract.restoredOf(v, rd)) {
          return { ian: v, round: rd };
        }
      }
    }
    return undefined;
  }

  /**
   * Rounds < `round` are concluded (the contract no longer keeps them, and refuses partials
   * and restores for them): they count as final from now on. Drops the derived noise cells
   * of every round (those still needed are derived again from the noise key, so answers do
   * not change). Cached answers and spent budgets are kept: their number is bounded by the
   * OEMs' privacy budgets, not by time.
   */
  pruneBefore(round: number): void {
    if (round > this.concludedBefore) this.concludedBefore = round;
    if (this.ownsDp) this.dp = new DpUtils(this.key, this.params, this.contract.codec);
  }

  /** Sizes of the engine's caches, for tests and metrics (entries). */
  retained(): { answers: number; seenQueries: number } {
    return { answers: this.answers.size, seenQueries: this.seenQueries.size };
  }

  /**
   * Algorithm 2 steps 3–18 over final rounds (see the class comment). `pickRng` chooses
   * the IANs; `freshRng` is null in the derived mode (η from the shared cells) and the
   * source of fresh η in the paper's mode.
   */
  private compute(
    q: { number: number; startRound: number; endRound: number },
    dims: number[],
    oem: number,
    pickRng: RandomSource,
    freshRng: RandomSource | null,
  ): Omit<QueryAnswer, 'oem' | 'spent' | 'remaining' | 'cached'> {
    const z = this.params.ians;
    const ldp = this.contract.codec.ldp;
    const unit = this.dp.fixedScale;
    // A uniformly random `number`-subset of the IANs (partial Fisher–Yates).
    const order = Array.from({ length: z }, (_, v) => v);
    for (let i = 0; i < q.number; i++) {
      const j = i + uniformInt(pickRng, z - i);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const selected = order.slice(0, q.number).sort((a, b) => a - b);
    const out = dims.map((j) => ({
      index: j,
      name: this.params.dimensions[j]!,
      series: [] as SeriesPoint[],
      total: 0,
      variance: 0,
    }));
    const etas = new Array<Float64Array>(z);
    for (let rd = q.startRound; rd <= q.endRound; rd++) {
      const outcomes = selected.map((v) => this.contract.restoredOf(v, rd));
      const covered = outcomes.filter((o) => o !== undefined);
      const coveredIans = covered.map((o) => o.ian);
      const missingIans = selected.filter((_, i) => !outcomes[i]);
      const k = covered.length;
      const contributors = covered.reduce((n, o) => n + o.contributors.length, 0);
      // All z IANs restored and summed: the zero-sum noise cancels, so none is read.
      const noisy = k !== z;
      if (noisy) {
        for (let v = 0; v < z; v++) {
          etas[v] = freshRng ? this.dp.freshCell(oem, freshRng) : this.dp.cell(v, rd);
        }
      }
      // Var(Σ_{v∈K} (η_v − η̄)) = σ²·k(z − k)/z for k of z IANs, whatever the construction's scale.
      const share = (k * (z - k)) / z;
      for (const d of out) {
        const j = d.index;
        let ldpVariance = 0;
        for (const o of covered) ldpVariance += o.estimates[j]!.standardError ** 2;
        let value: number;
        let noiseVariance: number;
        if (!freshRng) {
          // T = Σ_{v∈K} (z·q_v + z·η_v − Σ_u η_u), exactly, then de-biased.
          let t = BigInt(z) * exactSum(k, (i) => restoredInteger(covered[i]!, j, unit));
          if (noisy) {
            t +=
              BigInt(z) * exactSum(k, (i) => etas[coveredIans[i]!]![j]!) -
              BigInt(k) * exactSum(z, (v) => etas[v]![j]!);
          }
          const raw = Number(t) / (z * unit);
          const max = this.params.maxReading[j]!;
          value = ldp ? max * estimateSum(ldp, raw, contributors) : raw;
          const toValue = ldp ? max / (ldp.B * unit) : 1;
          noiseVariance = share * this.dp.noiseVariance(j) * toValue * toValue;
        } else {
          // The paper: Σ_{v ∈ S, restored}(η_v − η̄) added to the de-biased estimates.
          value = 0;
          for (const o of covered) value += o.estimates[j]!.estimate;
          if (noisy) {
            let sumEta = 0;
            for (let v = 0; v < z; v++) sumEta += etas[v]![j]!;
            let noise = 0;
            for (const v of coveredIans) noise += etas[v]![j]!;
            value += noise - (k * sumEta) / z;
          }
          noiseVariance = share * this.dp.paperNoiseVariance(oem, j);
        }
        d.series.push({
          round: rd,
          value,
          standardError: Math.sqrt(ldpVariance + noiseVariance),
          noiseStandardError: Math.sqrt(noiseVariance),
          coveredIans,
          missingIans,
        });
        d.total += value;
        d.variance += ldpVariance + noiseVariance;
      }
    }
    return {
      number: q.number,
      startRound: q.startRound,
      endRound: q.endRound,
      ians: selected,
      dimensions: out.map((d) => ({
        index: d.index,
        name: d.name,
        series: d.series,
        total: d.total,
        totalStandardError: Math.sqrt(d.variance),
      })),
    };
  }
}

const TWO_53 = 2 ** 53;

/**
 * Σ of `count` safe integers, exactly, as a bigint. Float adds while every partial sum
 * stays below 2^53 in magnitude (then each is exact); otherwise the sum is redone in bigint.
 */
function exactSum(count: number, at: (i: number) => number): bigint {
  let s = 0;
  for (let i = 0; i < count; i++) {
    s += at(i);
    if (!(Math.abs(s) < TWO_53)) {
      let big = 0n;
      for (let m = 0; m < count; m++) big += BigInt(at(m));
      return big;
    }
  }
  return BigInt(s);
}

/**
 * The restored fixed-point integer of one IAN-round and dimension, from the raw sum the
 * codec recorded (raw = integer / scale, so raw·scale is the integer to within rounding
 * while |integer| ≤ 2^51; larger sums were not recorded exactly and are refused).
 */
function restoredInteger(
  outcome: { estimates: readonly { rawSum: number }[] },
  j: number,
  unit: number,
): number {
  const scaled = outcome.estimates[j]!.rawSum * unit;
  const q = Math.round(scaled);
  if (!(Math.abs(q) <= 2 ** 51) || Math.abs(scaled - q) > 1e-3) {
    throw new PrivaggError(
      ErrorCode.FIXED_POINT_OUT_OF_RANGE,
      'restored sum is not an exactly recorded fixed-point integer',
      { dimension: j, rawSum: outcome.estimates[j]!.rawSum },
    );
  }
  return q;
}
