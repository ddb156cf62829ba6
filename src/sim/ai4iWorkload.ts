import { ErrorCode, PrivaggError } from '../errors.js';
import {
  AI4I_FAILURE_TYPES,
  type Ai4iFailureType,
  type Ai4iRow,
  type LoadAi4iOptions,
  loadAi4i,
} from './ai4i.js';
import {
  checkRef,
  checkShape,
  type ReadingRef,
  sumOverReports,
  type Workload,
  type WorkloadShape,
} from './workload.js';

/**
 * AI4I 2020 rows as a MaaS workload.
 *
 * Mapping (rows are in file order, which we take as time):
 *   - R = rowsPerReading, default floor(rows / (z·n·rounds));
 *   - round r is the window of z·n·R consecutive rows starting at row r·z·n·R;
 *   - inside it IAN v owns the n·R rows from v·n·R, and device i of IAN v owns the R
 *     rows from i·R inside that, so reading (v, i, r) covers rows
 *     [((r·z + v)·n + i)·R, … + R) (0-based data rows, header excluded);
 *   - the reading is the count of each failure mode TWF, HDF, PWF, OSF, RNF in those
 *     rows: w = 5 integers in [0, R]. Machine failure is not a dimension.
 * The z·n·rounds·R rows used are a prefix of the file; the remaining
 * rows − z·n·rounds·R rows at the end (fewer than z·n·rounds with the default R) are
 * not used by any reading. The default scenario 4 × 25 × 20 uses all 10,000 rows, R = 5.
 */

export const DEFAULT_AI4I_SCENARIO: WorkloadShape = { ians: 4, devicesPerIan: 25, rounds: 20 };

export interface Ai4iWorkloadConfig extends WorkloadShape {
  /** Rows per device per round; default floor(rows / (ians·devicesPerIan·rounds)). */
  readonly rowsPerReading?: number;
}

/** 0-based, end-exclusive indices into the rows array. */
export interface RowRange {
  readonly start: number;
  readonly end: number;
}

const W = AI4I_FAILURE_TYPES.length;

export class Ai4iWorkload implements Workload {
  readonly name = 'ai4i2020';
  readonly ians: number;
  readonly devicesPerIan: number;
  readonly rounds: number;
  readonly rowsPerReading: number;
  /** Rows covered by some reading (a prefix of `rows`). */
  readonly usedRows: number;
  /** Rows at the end of the file that no reading covers. */
  readonly unusedRows: number;
  readonly dimensionNames: readonly Ai4iFailureType[] = AI4I_FAILURE_TYPES;
  /** R for every dimension: a reading counts flags in R rows. Public, data-independent. */
  readonly maxReading: readonly number[];
  /** prefix[t·W + j] = number of rows before row t with failure mode j set. */
  private readonly prefix: Int32Array;

  constructor(
    readonly rows: readonly Ai4iRow[],
    config: Ai4iWorkloadConfig = DEFAULT_AI4I_SCENARIO,
  ) {
    checkShape(config);
    const readings = config.ians * config.devicesPerIan * config.rounds;
    const given = config.rowsPerReading;
    if (given !== undefined && (!Number.isSafeInteger(given) || given < 1)) {
      throw new PrivaggError(
        ErrorCode.INVALID_ARGUMENT,
        'rowsPerReading must be a positive integer',
        { rowsPerReading: given },
      );
    }
    const perReading = given ?? Math.floor(rows.length / readings);
    if (perReading < 1 || readings * perReading > rows.length) {
      const asked = Math.max(perReading, 1);
      throw new PrivaggError(
        ErrorCode.INVALID_ARGUMENT,
        `${config.ians} IANs × ${config.devicesPerIan} devices × ${config.rounds} rounds × ` +
          `${asked} rows per reading needs ${readings * asked} rows, only ${rows.length} available`,
        { ...config, rowsPerReading: config.rowsPerReading, rows: rows.length },
      );
    }
    this.ians = config.ians;
    this.devicesPerIan = config.devicesPerIan;
    this.rounds = config.rounds;
    this.rowsPerReading = perReading;
    this.usedRows = readings * perReading;
    this.unusedRows = rows.length - this.usedRows;
    this.maxReading = new Array<number>(W).fill(perReading);
    this.prefix = new Int32Array((this.usedRows + 1) * W);
    for (let t = 0; t < this.usedRows; t++) {
      const modes = rows[t]!.modes;
      for (let j = 0; j < W; j++) {
        this.prefix[(t + 1) * W + j] = this.prefix[t * W + j]! + modes[AI4I_FAILURE_TYPES[j]!];
      }
    }
  }

  /** The rows behind reading (ian, device, round). */
  rowRange(ian: number, device: number, round: number): RowRange {
    checkRef(this, ian, device, round);
    const start = ((round * this.ians + ian) * this.devicesPerIan + device) * this.rowsPerReading;
    return { start, end: start + this.rowsPerReading };
  }

  reading(ian: number, device: number, round: number): number[] {
    const { start, end } = this.rowRange(ian, device, round);
    const out = new Array<number>(W);
    for (let j = 0; j < W; j++) out[j] = this.prefix[end * W + j]! - this.prefix[start * W + j]!;
    return out;
  }

  /**
   * Counted straight from the IAN's window of the round (not from the prefix sums
   * `reading` uses), so the two cross-check each other.
   */
  groundTruth(ian: number, round: number): number[] {
    checkRef(this, ian, 0, round);
    const block = this.devicesPerIan * this.rowsPerReading;
    const start = (round * this.ians + ian) * block;
    return countModes(this.rows, start, start + block);
  }

  groundTruthOver(reports: Iterable<ReadingRef>): number[] {
    return sumOverReports(this, W, reports, (ref) => {
      const { start, end } = this.rowRange(ref.ian, ref.device, ref.round);
      return countModes(this.rows, start, end);
    });
  }
}

/** Per-mode counts of failure flags over rows [start, end). */
function countModes(rows: readonly Ai4iRow[], start: number, end: number): number[] {
  const counts = new Array<number>(W).fill(0);
  for (let t = start; t < end; t++) {
    const modes = rows[t]!.modes;
    AI4I_FAILURE_TYPES.forEach((type, j) => {
      counts[j]! += modes[type];
    });
  }
  return counts;
}

/** Loads the CSV (default: the shipped copy) and maps it; see Ai4iWorkload. */
export function loadAi4iWorkload(
  config: Ai4iWorkloadConfig = DEFAULT_AI4I_SCENARIO,
  options: LoadAi4iOptions = {},
): Ai4iWorkload {
  return new Ai4iWorkload(loadAi4i(options).rows, config);
}
