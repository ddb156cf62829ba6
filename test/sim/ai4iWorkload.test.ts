import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { AI4I_FAILURE_TYPES, type Ai4iRow, loadAi4i } from '../../src/sim/ai4i.js';
import { Ai4iWorkload, DEFAULT_AI4I_SCENARIO } from '../../src/sim/ai4iWorkload.js';
import { allReadingRefs, type ReadingRef } from '../../src/sim/workload.js';

const { rows } = loadAi4i();
const workload = new Ai4iWorkload(rows);
const COLUMN_TOTALS = [46, 115, 95, 98, 19];

/** The documented mapping, re-derived here from the rows, not from the module. */
function expectedCounts(ian: number, round: number, devices: number[]): number[] {
  const { ians, devicesPerIan } = DEFAULT_AI4I_SCENARIO;
  const counts = [0, 0, 0, 0, 0];
  const perRound = ians * devicesPerIan * 5;
  for (const device of devices) {
    const first = round * perRound + ian * devicesPerIan * 5 + device * 5;
    for (const row of rows.slice(first, first + 5) as Ai4iRow[]) {
      AI4I_FAILURE_TYPES.forEach((type, j) => {
        counts[j]! += row.modes[type];
      });
    }
  }
  return counts;
}

describe('Ai4iWorkload, default scenario (4 IANs × 25 DS × 20 rounds)', () => {
  it('uses 5 rows per reading and every row', () => {
    expect(workload.rowsPerReading).toBe(5);
    expect(workload.usedRows).toBe(10_000);
    expect(workload.unusedRows).toBe(0);
    expect(workload.maxReading).toEqual([5, 5, 5, 5, 5]);
    expect(workload.dimensionNames).toEqual(['TWF', 'HDF', 'PWF', 'OSF', 'RNF']);
  });

  it('places reading (v, i, r) at rows ((r·z + v)·n + i)·R', () => {
    expect(workload.rowRange(0, 0, 0)).toEqual({ start: 0, end: 5 });
    expect(workload.rowRange(0, 1, 0)).toEqual({ start: 5, end: 10 });
    expect(workload.rowRange(1, 0, 0)).toEqual({ start: 125, end: 130 });
    expect(workload.rowRange(0, 0, 1)).toEqual({ start: 500, end: 505 });
    expect(workload.rowRange(3, 24, 19)).toEqual({ start: 9995, end: 10_000 });
  });

  it('sums, over every reading, to the column totals', () => {
    const total = [0, 0, 0, 0, 0];
    for (const { ian, device, round } of allReadingRefs(workload)) {
      const reading = workload.reading(ian, device, round);
      expect(
        reading.every((x, j) => Number.isInteger(x) && x >= 0 && x <= workload.maxReading[j]!),
      ).toBe(true);
      reading.forEach((x, j) => {
        total[j]! += x;
      });
    }
    expect(total).toEqual(COLUMN_TOTALS);
    expect(workload.groundTruthOver(allReadingRefs(workload))).toEqual(COLUMN_TOTALS);
  });

  it('gives per-(IAN, round) ground truth equal to a recount from the rows', () => {
    const all = Array.from({ length: 25 }, (_, i) => i);
    let nonZero = 0;
    for (let ian = 0; ian < 4; ian++) {
      for (let round = 0; round < 20; round++) {
        const truth = workload.groundTruth(ian, round);
        expect(truth).toEqual(expectedCounts(ian, round, all));
        if (truth.some((x) => x > 0)) nonZero++;
        // …and to the sum of that IAN's readings.
        const summed = [0, 0, 0, 0, 0];
        for (const i of all) {
          workload.reading(ian, i, round).forEach((x, j) => {
            summed[j]! += x;
          });
        }
        expect(summed).toEqual(truth);
      }
    }
    expect(nonZero).toBeGreaterThan(40); // the check is not vacuous
  });

  it('gives ground truth over a subset of reporters (failed devices excluded)', () => {
    const reporters = [0, 3, 7, 8, 20];
    for (const [ian, round] of [
      [0, 0],
      [2, 7],
      [3, 19],
    ] as const) {
      const refs: ReadingRef[] = reporters.map((device) => ({ ian, device, round }));
      expect(workload.groundTruthOver(refs)).toEqual(expectedCounts(ian, round, reporters));
    }
    expect(workload.groundTruthOver([])).toEqual([0, 0, 0, 0, 0]);
  });

  it('rejects repeated or out-of-range reporters', () => {
    const ref = { ian: 1, device: 2, round: 3 };
    expect(() => workload.groundTruthOver([ref, ref])).toThrow(ErrorCode.INVALID_ARGUMENT);
    expect(() => workload.reading(4, 0, 0)).toThrow(ErrorCode.INVALID_ARGUMENT);
    expect(() => workload.reading(0, 25, 0)).toThrow(ErrorCode.INVALID_ARGUMENT);
    expect(() => workload.groundTruth(0, 20)).toThrow(ErrorCode.INVALID_ARGUMENT);
    expect(() => workload.reading(0, 0, 0.5)).toThrow(ErrorCode.INVALID_ARGUMENT);
  });
});

describe('Ai4iWorkload, other configurations', () => {
  it('leaves the tail unused when rows do not divide evenly', () => {
    const w = new Ai4iWorkload(rows, { ians: 3, devicesPerIan: 7, rounds: 11 });
    expect(w.rowsPerReading).toBe(Math.floor(10_000 / 231)); // 43
    expect(w.usedRows).toBe(231 * 43);
    expect(w.unusedRows).toBe(10_000 - 231 * 43);
    expect(w.maxReading).toEqual([43, 43, 43, 43, 43]);
    const used = rows.slice(0, w.usedRows);
    const expected = AI4I_FAILURE_TYPES.map((t) => used.reduce((s, r) => s + r.modes[t], 0));
    expect(w.groundTruthOver(allReadingRefs(w))).toEqual(expected);
  });

  it('honours an explicit rowsPerReading', () => {
    const w = new Ai4iWorkload(rows, { ians: 2, devicesPerIan: 10, rounds: 5, rowsPerReading: 1 });
    expect(w.usedRows).toBe(100);
    expect(w.reading(0, 0, 0)).toEqual([0, 0, 0, 0, 0]);
  });

  it('throws INVALID_ARGUMENT for a configuration needing too many rows', () => {
    expect(() => new Ai4iWorkload(rows, { ians: 4, devicesPerIan: 25, rounds: 101 })).toThrow(
      /needs 10100 rows, only 10000 available/,
    );
    expect(
      () => new Ai4iWorkload(rows, { ians: 4, devicesPerIan: 25, rounds: 20, rowsPerReading: 6 }),
    ).toThrow(ErrorCode.INVALID_ARGUMENT);
    expect(() => new Ai4iWorkload(rows, { ians: 0, devicesPerIan: 25, rounds: 20 })).toThrow(
      ErrorCode.INVALID_ARGUMENT,
    );
    expect(
      () => new Ai4iWorkload(rows, { ians: 1, devicesPerIan: 1, rounds: 1, rowsPerReading: 2.5 }),
    ).toThrow(ErrorCode.INVALID_ARGUMENT);
  });
});
