import type { GatewayContext } from './gatewayContext.js';
import type { OpenedRound, RoundShares } from './gatewayRounds.js';
import { startHistory } from './resumRule.js';

/** A closed round's opened shares, split into the devices that count and those that do not. */
export interface SettledRound {
  /** Sorted devices whose every dimension arrived intact. */
  contributors: number[];
  /** Their shares, held for the round's sum and any re-sums. */
  shares: RoundShares;
  /** Sorted devices left out: a dimension missing, or a message that failed to open. */
  incomplete: number[];
}

/** Keeps the devices whose every dimension arrived intact; the rest are incomplete. */
export function settleRound(ctx: GatewayContext, opened: OpenedRound): SettledRound {
  const { rows, limbs, present, failedDevices } = opened;
  const w = ctx.params.dimensions.length;
  const stride = w * ctx.decoder.limbs;
  const allDimensions = (1 << w) - 1;
  const acceptedRows = new Map<number, number>();
  const incomplete: number[] = [];
  for (const [device, row] of rows) {
    // A device with a rejected or missing dimension is left out entirely, so every
    // dimension's sum is over the same contributor set.
    if (present[row] === allDimensions && !failedDevices.has(device)) acceptedRows.set(device, row);
    else incomplete.push(device);
  }
  const contributors = [...acceptedRows.keys()].sort((a, b) => a - b);
  const shares: RoundShares = {
    rows: acceptedRows,
    limbs: limbs.subarray(0, rows.size * stride),
    history: startHistory(contributors),
  };
  return { contributors, shares, incomplete: incomplete.sort((a, b) => a - b) };
}

/** Σ over `contributors` of each dimension's shares, mod p. */
export function sumOver(
  ctx: GatewayContext,
  shares: RoundShares,
  contributors: readonly number[],
): bigint[] {
  const field = ctx.params.field;
  const w = ctx.params.dimensions.length;
  const L = ctx.decoder.limbs;
  const stride = w * L;
  const starts = new Int32Array(contributors.length);
  for (let c = 0; c < contributors.length; c++)
    starts[c] = shares.rows.get(contributors[c]!)! * stride;
  const column = new Uint32Array(contributors.length * L);
  const sums: bigint[] = [];
  for (let j = 0; j < w; j++) {
    for (let c = 0; c < contributors.length; c++) {
      const at = starts[c]! + j * L;
      for (let t = 0; t < L; t++) column[c * L + t] = shares.limbs[at + t]!;
    }
    sums.push(field.sumPacked(column));
  }
  return sums;
}
