import { lengthPrefixed } from '../../crypto/bytes.js';
import { macTag } from '../../crypto/mac.js';
import type { PrivacyAccountant } from '../../dp/accountant.js';
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
import { computeTag, verifyTag } from './tags.js';

/**
 * Query (Algorithm 2, "weighted noise injection").
 *
 * For each queried dimension j, round rd and IAN v the answer adds strong noise
 * noise_j^v = η_v − mean_z(η), with η from DpUtils (dpUtils.ts) and the mean over all z
 * IANs, so Σ_v noise_j^v = 0: summing all z IANs cancels the noise exactly — but only if
 * all z are restored for that round — and summing fewer leaves it in. `number` IANs are
 * chosen at random and summed over [startRound, endRound]; only rounds every IAN has
 * finished restoring can be queried.
 *
 * privagg's default ('derived'): η is fixed per (OEM, IAN, round, dimension) and the IAN
 * choice is derived from the query window, so repeating a query returns the same answer
 * and no set of queries averages the noise away; every distinct window still spends
 * Σ_j ε_j of the OEM's budget (basic composition — conservative, see dpUtils.ts), checked
 * before the answer is computed and charged after, refused with BUDGET_EXCEEDED past it.
 * The paper's mode ('paper-fresh') draws fresh noise every time and keeps no budget.
 *
 * What the zero-sum noise protects is the paper's claim (one IAN's trend hidden inside
 * partial sums); the device-level guarantee is the LDP of each report.
 */
export interface SeriesPoint {
  round: number;
  value: number;
  /** Standard error of the LDP estimate inside `value` (query noise not included). */
  standardError: number;
  /** Selected IANs with no restored aggregate for this round. */
  missingIans: number[];
}

export interface DimensionAnswer {
  index: number;
  name: string;
  series: SeriesPoint[];
  total: number;
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

/** The OEM side: a MAC-authenticated query transaction. */
export function buildQuery(params: MaasParams, key: OemKey, q: Omit<QueryFields, 'oem'>): Buffer {
  const body = encodeQueryBody({ ...q, oem: key.oem });
  return Buffer.concat([
    body,
    computeTag(params.modes.mac, { mac: key.mac, identity: key.identity }, body),
  ]);
}

export function dimensionMask(dimensions: readonly number[]): number {
  return dimensions.reduce((m, j) => m | (1 << j), 0);
}

export class MaasQueryEngine {
  private readonly answers = new Map<string, QueryAnswer>();
  private readonly seenQueries = new Map<string, number>();
  readonly rejections = new Map<ErrorCode, number>();

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
      // Derive each restored IAN-round's noise cells as it is restored, not at query time.
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
    const q = decodeQuery(bytes);
    const oem = this.key.oems[q.oem];
    if (!oem) throw new PrivaggError(ErrorCode.UNKNOWN_SENDER, `no OEM ${q.oem}`);
    checkFreshness(q.timestamp, nowMs, params.freshnessWindowMs);
    if (
      !verifyTag(params.modes.mac, { mac: oem.mac, identity: oem.identity }, q.authenticated, q.tag)
    ) {
      throw new PrivaggError(ErrorCode.BAD_MAC, 'query tag does not verify');
    }
    const tagHex = Buffer.from(q.tag).toString('hex');
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
    // Only finished rounds can be queried: an answer over rounds still open would be
    // cached and charged while the data under it could still change. This also bounds
    // the work of one query by the rounds that exist.
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

  /**
   * Drops the derived noise cells of every round (rounds < `round` are no longer kept by the
   * contract either; the cells of newer ones are derived again when a query needs them: they
   * are a function of the noise key, so answers do not change). Cached answers and spent
   * budgets are kept: their number is bounded by the OEMs' privacy budgets, not by time.
   */
  pruneBefore(_round: number): void {
    if (this.ownsDp) this.dp = new DpUtils(this.key, this.params, this.contract.codec);
  }

  /** Sizes of the engine's caches, for tests and metrics (entries). */
  retained(): { answers: number; seenQueries: number } {
    return { answers: this.answers.size, seenQueries: this.seenQueries.size };
  }

  /**
   * Algorithm 2 steps 3–18 (Restore is done for the window's rounds). `pickRng` chooses
   * the IANs; `freshRng` is null in the derived mode (η from the cells) and the source
   * of fresh η in the paper's mode.
   */
  private compute(
    q: { number: number; startRound: number; endRound: number },
    dims: number[],
    oem: number,
    pickRng: RandomSource,
    freshRng: RandomSource | null,
  ): Omit<QueryAnswer, 'oem' | 'spent' | 'remaining' | 'cached'> {
    const z = this.params.ians;
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
    const etas = new Array<Int32Array>(z);
    for (let rd = q.startRound; rd <= q.endRound; rd++) {
      const restored = selected.map((v) => this.contract.restoredOf(v, rd));
      const missingIans = selected.filter((_, i) => !restored[i]);
      const inSelection = selected.length - missingIans.length;
      // All z IANs restored and summed: the zero-sum noise cancels, so none is read.
      const noisy = inSelection !== z;
      if (noisy) {
        for (let v = 0; v < z; v++) {
          etas[v] = freshRng ? this.dp.freshCell(oem, freshRng) : this.dp.cell(oem, v, rd);
        }
      }
      for (const d of out) {
        const j = d.index;
        let value = 0;
        let variance = 0;
        for (let i = 0; i < selected.length; i++) {
          const est = restored[i]?.estimates[j];
          if (!est) continue;
          value += est.estimate;
          variance += est.standardError ** 2;
        }
        if (noisy) {
          // Σ_{v ∈ S, restored}(η_v − η̄), η̄ the mean over all z IANs.
          let sumEta = 0;
          for (let v = 0; v < z; v++) sumEta += etas[v]![j]!;
          let noise = 0;
          for (let i = 0; i < selected.length; i++)
            if (restored[i]) noise += etas[selected[i]!]![j]!;
          value += noise - (inSelection * sumEta) / z;
        }
        d.series.push({ round: rd, value, standardError: Math.sqrt(variance), missingIans });
        d.total += value;
        d.variance += variance;
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
