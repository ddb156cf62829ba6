import { ErrorCode, PrivaggError } from '../errors.js';

/**
 * What a MaaS experiment reads from: z IANs × n device sensors per IAN × rounds, each
 * device holding a w-dimensional vector of non-negative integers per round.
 *
 * Ground truth is part of the interface so the pipeline can be checked end to end:
 * the recovered aggregate of a round must equal `groundTruthOver` the devices whose
 * reports entered it (failed devices are excluded by the pipeline, so the truth must be
 * computable over any subset). Implementations compute ground truth from their source
 * data, not by summing `reading()`, so a bug in one does not hide in the other.
 */
export interface Workload {
  /** Short label for logs and experiment output ('ai4i2020', 'synthetic'). */
  readonly name: string;
  /** z: number of industrial area networks. */
  readonly ians: number;
  /** n: device sensors per IAN. */
  readonly devicesPerIan: number;
  readonly rounds: number;
  /** Names of the w dimensions, in reading order. */
  readonly dimensionNames: readonly string[];
  /**
   * A public, data-independent upper bound per dimension: every reading lies in
   * [0, maxReading[j]]. Devices normalise by it to [0, 1] before LDP, so it must not be
   * learned from the data (that would leak).
   */
  readonly maxReading: readonly number[];
  /** The reading of device `device` (0-based) of IAN `ian` in round `round`. */
  reading(ian: number, device: number, round: number): number[];
  /** Per-dimension total of all n devices of one IAN in one round. */
  groundTruth(ian: number, round: number): number[];
  /** Per-dimension total over exactly these (ian, device, round) reports; no duplicates. */
  groundTruthOver(reports: Iterable<ReadingRef>): number[];
}

export interface ReadingRef {
  readonly ian: number;
  readonly device: number;
  readonly round: number;
}

export interface WorkloadShape {
  readonly ians: number;
  readonly devicesPerIan: number;
  readonly rounds: number;
}

/** Throws INVALID_ARGUMENT unless each dimension of the shape is a positive integer. */
export function checkShape(shape: WorkloadShape): void {
  for (const key of ['ians', 'devicesPerIan', 'rounds'] as const) {
    const value = shape[key];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, `${key} must be a positive integer`, {
        [key]: value,
      });
    }
  }
}

/** Throws INVALID_ARGUMENT unless (ian, device, round) addresses a reading of `shape`. */
export function checkRef(shape: WorkloadShape, ian: number, device: number, round: number): void {
  const inRange = (value: number, count: number) =>
    Number.isInteger(value) && value >= 0 && value < count;
  if (
    !inRange(ian, shape.ians) ||
    !inRange(device, shape.devicesPerIan) ||
    !inRange(round, shape.rounds)
  ) {
    throw new PrivaggError(
      ErrorCode.INVALID_ARGUMENT,
      `no reading (ian ${ian}, device ${device}, round ${round}) in a workload of ` +
        `${shape.ians} IANs × ${shape.devicesPerIan} devices × ${shape.rounds} rounds`,
      { ian, device, round },
    );
  }
}

/** Position of a reading in IAN-major, then device, then round order; used for dedup. */
function refKey(shape: WorkloadShape, ref: ReadingRef): number {
  return (ref.ian * shape.devicesPerIan + ref.device) * shape.rounds + ref.round;
}

/**
 * Sums `vectorOf(ref)` over `reports`, rejecting out-of-range and repeated refs: a
 * report counted twice is a pipeline bug the ground truth must not paper over.
 */
export function sumOverReports(
  shape: WorkloadShape,
  dimensions: number,
  reports: Iterable<ReadingRef>,
  vectorOf: (ref: ReadingRef) => ArrayLike<number>,
): number[] {
  const total = new Array<number>(dimensions).fill(0);
  const seen = new Set<number>();
  for (const ref of reports) {
    checkRef(shape, ref.ian, ref.device, ref.round);
    const key = refKey(shape, ref);
    if (seen.has(key)) {
      throw new PrivaggError(
        ErrorCode.INVALID_ARGUMENT,
        `report (ian ${ref.ian}, device ${ref.device}, round ${ref.round}) listed twice`,
        { ian: ref.ian, device: ref.device, round: ref.round },
      );
    }
    seen.add(key);
    const vector = vectorOf(ref);
    for (let j = 0; j < dimensions; j++) total[j]! += vector[j]!;
  }
  return total;
}

/** Every (ian, device, round) of a shape, IAN-major; handy for "nobody failed". */
export function* allReadingRefs(shape: WorkloadShape): Generator<ReadingRef> {
  for (let ian = 0; ian < shape.ians; ian++) {
    for (let device = 0; device < shape.devicesPerIan; device++) {
      for (let round = 0; round < shape.rounds; round++) yield { ian, device, round };
    }
  }
}
