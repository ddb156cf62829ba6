import { lengthPrefixed, utf8 } from '../../crypto/bytes.js';
import { macTag } from '../../crypto/mac.js';
import { sampleDiscreteLaplace } from '../../dp/discreteLaplace.js';
import { type Rational, rationalFromDecimal } from '../../dp/rational.js';
import { type RandomSource, seededRandom } from '../../math/random.js';
import type { LedgerKey } from './keys.js';
import type { MaasParams } from './params.js';
import type { ReadingCodec } from './readingCodec.js';

/**
 * DpUtils: the strong noise of Algorithm 2, one integer η per (OEM, IAN, round,
 * dimension) — a "cell".
 *
 * η is discrete Laplace with scale Δ_j/ε_j, where ε_j is the OEM's grant for dimension j
 * and Δ_j bounds how far one device moves an IAN's restored estimate: maxReading_j
 * without LDP, maxReading_j·(1+2b)/B with it (y spans 1+2b; the estimator divides by B).
 *
 * In privagg's default mode a cell's η is derived, not drawn: a PRG (AES-256-CTR)
 * keyed by HMAC(ledger noise key, OEM ‖ IAN ‖ round) yields the w values of the cell.
 * So every query that touches a cell sees the same η: repeating or overlapping queries
 * reveal nothing an average could remove. Whatever subsets an OEM sums, what it can
 * learn is a function of the values s_v + η_v and of the all-IAN total (which the
 * zero-sum makes noise-free), i.e. of one ε_j-DP release per IAN-cell plus that total.
 * Cells are computed when an IAN-round is restored, so a query only adds numbers.
 *
 * The paper's mode draws fresh η for every query (`freshCell`).
 */
export class DpUtils {
  /** scale[oem][j] as an exact rational, parsed once. */
  private readonly scales: Rational[][];
  /** cells[oem]: (round · 2^16 + IAN) → η of every dimension. */
  private readonly cells: Map<number, Int32Array>[];

  constructor(
    private readonly key: LedgerKey,
    params: MaasParams,
    codec: ReadingCodec,
  ) {
    const ldp = codec.ldp;
    const stretch = ldp ? (1 + 2 * ldp.b) / ldp.B : 1;
    this.scales = key.oems.map((o) =>
      params.maxReading.map((max, j) =>
        // Rounded to 12 significant digits: a decimal the rational parser takes exactly.
        rationalFromDecimal(((max * stretch) / o.grant.epsilonPerDimension[j]!).toPrecision(12)),
      ),
    );
    this.cells = key.oems.map(() => new Map());
  }

  /** The OEM's noise scale for dimension j (for reports). */
  scale(oem: number, j: number): number {
    const r = this.scales[oem]![j]!;
    return Number(r.num) / Number(r.den);
  }

  /** η of every dimension for (oem, ian, round), derived once and kept. */
  cell(oem: number, ian: number, round: number): Int32Array {
    const k = round * 65_536 + ian; // exact: IAN < 2^16, round < 2^32
    const cells = this.cells[oem]!;
    let c = cells.get(k);
    if (!c) {
      const seed = macTag(
        { algorithm: 'hmac-sha256', bytes: this.key.queryNoiseKey },
        lengthPrefixed(
          utf8('cell'),
          utf8(this.key.oems[oem]!.grant.name),
          utf8(String(ian)),
          utf8(String(round)),
        ),
      );
      c = this.draw(oem, seededRandom(seed.toString('hex')));
      cells.set(k, c);
    }
    return c;
  }

  /** Fresh η for one query (the paper's mode). */
  freshCell(oem: number, rng: RandomSource): Int32Array {
    return this.draw(oem, rng);
  }

  /** Derives the cells of a newly restored IAN-round for every OEM. */
  prepare(ian: number, round: number): void {
    for (let o = 0; o < this.scales.length; o++) this.cell(o, ian, round);
  }

  private draw(oem: number, rng: RandomSource): Int32Array {
    const scales = this.scales[oem]!;
    const out = new Int32Array(scales.length);
    for (let j = 0; j < scales.length; j++) out[j] = sampleDiscreteLaplace(rng, scales[j]!);
    return out;
  }
}
