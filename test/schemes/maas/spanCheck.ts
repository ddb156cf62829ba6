/**
 * Which devices' shares can be computed from sums over the given device sets: device i is
 * isolatable when its unit vector e_i lies in the span of the sets' indicator vectors
 * (then a linear combination of the sums is exactly its share). Exact: Gaussian
 * elimination mod the prime 2^31 − 1, which for 0/1 matrices of at most 12 columns has the
 * rank over ℚ (every minor is below Hadamard's bound 12^6 < 2^31 − 1).
 */
const P = 2_147_483_647n;

function inv(a: bigint): bigint {
  let r = 1n;
  let b = ((a % P) + P) % P;
  for (let e = P - 2n; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % P;
    b = (b * b) % P;
  }
  return r;
}

function rank(rows: bigint[][]): number {
  const m = rows.map((r) => [...r]);
  const cols = m[0]?.length ?? 0;
  let rk = 0;
  for (let c = 0; c < cols && rk < m.length; c++) {
    const pivot = m.findIndex((r, i) => i >= rk && r[c]! % P !== 0n);
    if (pivot < 0) continue;
    [m[rk], m[pivot]] = [m[pivot]!, m[rk]!];
    const iv = inv(m[rk]![c]!);
    for (let i = 0; i < m.length; i++) {
      if (i === rk || m[i]![c]! === 0n) continue;
      const f = (m[i]![c]! * iv) % P;
      for (let j = c; j < cols; j++) m[i]![j] = (((m[i]![j]! - f * m[rk]![j]!) % P) + P) % P;
    }
    rk++;
  }
  return rk;
}

export function isolatable(n: number, sets: readonly (readonly number[])[]): number[] {
  const rows = sets.map((s) => Array.from({ length: n }, (_, i) => (s.includes(i) ? 1n : 0n)));
  const base = rows.length === 0 ? 0 : rank(rows);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const unit = Array.from({ length: n }, (_, j) => (j === i ? 1n : 0n));
    if (rank([...rows, unit]) === base) out.push(i);
  }
  return out;
}
