import { lengthPrefixed, utf8 } from '../../crypto/bytes.js';
import { macTag } from '../../crypto/mac.js';
import { discreteLaplaceVariance, sampleDiscreteLaplace } from '../../dp/discreteLaplace.js';
import {
  compareRational,
  divRational,
  formatRational,
  type Rational,
  rational,
  rationalFromDecimal,
  rationalToNumber,
  toRational,
} from '../../dp/rational.js';
import { ErrorCode, PrivaggError } from '../../errors.js';
import { ceilScaled } from '../../math/fixedPoint.js';
import { type RandomSource, seededRandom } from '../../math/random.js';
import type { LedgerKey } from './keys.js';
import type { MaasParams } from './params.js';
import type { ReadingCodec } from './readingCodec.js';

/**
 * DpUtils: the strong noise of Algorithm 2.
 *
 * privagg's default ('derived'). One cell per (IAN, round) holds one integer η per
 * dimension, in the fixed-point units of the restored sums (the integers Restore
 * interpolates, before de-biasing): the noise lives in the same integer domain as the
 * value, so no fractional part can strip it (issue 10, finding 1). A cell is derived,
 * not drawn: a PRG (AES-256-CTR) keyed by HMAC(ledger noise key, IAN ‖ round) yields its w
 * values. Every query, of every OEM, that touches a cell sees the same η — there is one
 * cell per (IAN, round, dimension) whatever the OEM, so neither repeating a query nor
 * pooling the answers of several OEMs (or one firm under several names) averages anything.
 *
 * Calibration. The unit of privacy is one IAN's restored value for one round and
 * dimension, over its whole range: n devices each contributing a fixed-point integer in
 * [−⌈b·scale⌉, ⌈(1+b)·scale⌉] (the LDP output window [−b, 1+b], i.e. the IAN's range
 * n·maxReading_j stretched by (1+2b)/B once de-biased), or [0, ⌈maxReading_j⌉] with LDP
 * off. Δ = n · (that per-device range). η_v ~ discrete Laplace with scale 2Δ/ε*_j, where
 * ε*_j is the smallest ε_j any OEM holds for dimension j: the cells are shared, so their
 * scale is the one for the whole release, and every OEM is charged at least what it gets.
 * Why 2Δ: the zero-sum construction (query.ts) releases z·s_v + zη_v − Σ_u η_u per IAN;
 * moving δ ≤ Δ between two IANs u, v of a round is absorbed by η ↦ η + δ(e_v − e_u),
 * which changes two cells by δ each, so the likelihood ratio is ≤ e^{2Δ/scale} = e^{ε*_j}.
 *
 * Representation. Draws are exact (CKS 2020) and kept as float64 integers; the sampler
 * refuses a draw ≥ 2^53, and the constructor refuses any ε whose scale exceeds 2^47, so
 * such a draw has probability < e^{−64} (the old 32-bit cells wrapped at tiny ε).
 *
 * The paper's mode ('paper-fresh') draws fresh η for every query (`freshCell`), per OEM,
 * with the paper's calibration to one device (maxReading_j·(1+2b)/B / ε_j) and in
 * estimate units; it is kept to show what goes wrong with it.
 */

/** Largest noise scale accepted: a draw beyond 2^53 then has probability < e^{−64}. */
export const MAX_NOISE_SCALE = 2 ** 47;

/** (round · 2^16 + IAN) is exact: IAN < 2^16, round < 2^32. */
const cellKey = (ian: number, round: number) => round * 65_536 + ian;

export class DpUtils {
  /** Δ_j in fixed-point units (the same for every j with LDP on). */
  private readonly sensitivities: bigint[];
  /** Derived mode: the shared scale 2Δ_j/ε*_j per dimension (null when no OEM may read j). */
  private readonly scales: (Rational | null)[];
  private readonly variances: (number | null)[];
  /** Paper mode: scale[oem][j], the paper's per-device calibration. */
  private readonly paperScales: Rational[][];
  private readonly cells = new Map<number, Float64Array>();
  /** Values per unit of the restored integers (params.scale with LDP on, 1 without). */
  readonly fixedScale: number;

  constructor(
    private readonly key: LedgerKey,
    params: MaasParams,
    codec: ReadingCodec,
  ) {
    const ldp = codec.ldp;
    const n = BigInt(params.devicesPerIan);
    this.fixedScale = ldp ? params.scale : 1;
    this.sensitivities = params.maxReading.map((max) =>
      ldp
        ? n * (ceilScaled(1 + ldp.b, params.scale) + ceilScaled(ldp.b, params.scale))
        : n * ceilScaled(max, 1),
    );
    this.scales = params.dimensions.map((_, j) => {
      let eps: Rational | null = null;
      for (const o of key.oems) {
        if (!o.grant.dimensions.includes(j)) continue;
        const e = toRational(o.grant.epsilonPerDimension[j]!, 'epsilon');
        if (!eps || compareRational(e, eps) < 0) eps = e;
      }
      if (!eps) return null;
      const scale = divRational(rational(2n * this.sensitivities[j]!), eps);
      checkRepresentable(scale, j, eps);
      return scale;
    });
    this.variances = this.scales.map((s) => (s ? discreteLaplaceVariance(s) : null));
    const stretch = ldp ? (1 + 2 * ldp.b) / ldp.B : 1;
    this.paperScales = key.oems.map((o) =>
      params.maxReading.map((max, j) => {
        const eps = o.grant.epsilonPerDimension[j]!;
        // Rounded to 12 significant digits: a decimal the rational parser takes exactly.
        const scale = rationalFromDecimal(((max * stretch) / eps).toPrecision(12));
        checkRepresentable(scale, j, toRational(eps, 'epsilon'));
        return scale;
      }),
    );
  }

  /** Δ_j: how far one IAN's restored integer can move (fixed-point units). */
  sensitivity(j: number): bigint {
    return this.sensitivities[j]!;
  }

  /** The shared noise scale 2Δ_j/ε*_j of dimension j (fixed-point units), or null. */
  scale(j: number): Rational | null {
    return this.scales[j] ?? null;
  }

  /** Var(η) of dimension j in fixed-point units (0 when no OEM may read j). */
  noiseVariance(j: number): number {
    return this.variances[j] ?? 0;
  }

  /** The paper mode's noise scale for one OEM and dimension (estimate units). */
  paperScale(oem: number, j: number): number {
    return rationalToNumber(this.paperScales[oem]![j]!);
  }

  /** Var(η) of the paper mode for one OEM and dimension (estimate units). */
  paperNoiseVariance(oem: number, j: number): number {
    return discreteLaplaceVariance(this.paperScales[oem]![j]!);
  }

  /** η of every dimension for (IAN, round), derived once and kept; shared by every OEM. */
  cell(ian: number, round: number): Float64Array {
    const k = cellKey(ian, round);
    let c = this.cells.get(k);
    if (!c) {
      const seed = macTag(
        { algorithm: 'hmac-sha256', bytes: this.key.queryNoiseKey },
        lengthPrefixed(utf8('ian-cell/v2'), utf8(String(ian)), utf8(String(round))),
      );
      c = draw(this.scales, seededRandom(seed.toString('hex')));
      this.cells.set(k, c);
    }
    return c;
  }

  /** Fresh η for one query (the paper's mode), at the OEM's own scale. */
  freshCell(oem: number, rng: RandomSource): Float64Array {
    return draw(this.paperScales[oem]!, rng);
  }

  /** Derives the cell of a newly restored IAN-round (so a query only adds numbers). */
  prepare(ian: number, round: number): void {
    if (this.scales.some((s) => s !== null)) this.cell(ian, round);
  }

  /** Cells held (for retention tests and metrics). */
  get cellCount(): number {
    return this.cells.size;
  }
}

function checkRepresentable(scale: Rational, j: number, eps: Rational): void {
  if (rationalToNumber(scale) > MAX_NOISE_SCALE) {
    throw new PrivaggError(
      ErrorCode.INVALID_PRIVACY_PARAMETERS,
      `ε_${j} = ${formatRational(eps)} is too small: noise of scale ${rationalToNumber(scale).toExponential(3)} cannot be represented exactly (limit 2^47)`,
      { dimension: j, epsilon: formatRational(eps) },
    );
  }
}

function draw(scales: readonly (Rational | null)[], rng: RandomSource): Float64Array {
  const out = new Float64Array(scales.length);
  for (let j = 0; j < scales.length; j++) {
    const s = scales[j];
    if (!s) continue;
    const x = sampleDiscreteLaplace(rng, s);
    // The sampler refuses draws ≥ 2^53; checked again since exact sums rest on it.
    if (!Number.isSafeInteger(x)) {
      throw new PrivaggError(ErrorCode.INVALID_PRIVACY_PARAMETERS, 'noise draw not representable');
    }
    out[j] = x;
  }
  return out;
}
