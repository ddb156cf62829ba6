import type { PrimeField } from './field.js';

/**
 * Solves A·z = b over Z_p by Gauss–Jordan elimination. Returns one solution (free
 * variables set to 0) or undefined when the system is inconsistent. A is rows × cols
 * with any shape; neither input is modified.
 */
export function solveLinearSystem(
  field: PrimeField,
  a: readonly (readonly bigint[])[],
  b: readonly bigint[],
): bigint[] | undefined {
  const rows = a.length;
  const cols = rows === 0 ? 0 : a[0]!.length;
  const m = a.map((row, i) => [...row.map((v) => field.reduce(v)), field.reduce(b[i]!)]);
  const pivotCols: number[] = [];
  let r = 0;
  for (let c = 0; c < cols && r < rows; c++) {
    let pivot = -1;
    for (let i = r; i < rows; i++) {
      if (m[i]![c] !== 0n) {
        pivot = i;
        break;
      }
    }
    if (pivot < 0) continue;
    [m[r], m[pivot]] = [m[pivot]!, m[r]!];
    const row = m[r]!;
    const inv = field.inv(row[c]!);
    for (let j = c; j <= cols; j++) row[j] = field.mul(row[j]!, inv);
    for (let i = 0; i < rows; i++) {
      if (i === r) continue;
      const other = m[i]!;
      const f = other[c]!;
      if (f === 0n) continue;
      for (let j = c; j <= cols; j++) other[j] = field.sub(other[j]!, field.mul(f, row[j]!));
    }
    pivotCols.push(c);
    r++;
  }
  // A zero row with a non-zero right-hand side: no solution.
  for (let i = r; i < rows; i++) if (m[i]![cols] !== 0n) return undefined;
  const z = new Array<bigint>(cols).fill(0n);
  pivotCols.forEach((c, i) => {
    z[c] = m[i]![cols]!;
  });
  return z;
}
