/**
 * The benchmark harness. A case is one small object: a name, a group, a function
 * that does `opsPerCall` operations, and optionally the name of a baseline case
 * measured in the same run, so the table prints a ratio that survives the 20–40%
 * run-to-run drift of these machines. Targets are checked here, never in unit tests.
 */
export interface BenchCase {
  /** Unique, human-readable: 'shamir.split k=3 m=5'. */
  name: string;
  group: string;
  /** Prepare state once; returns the function to time. Untimed. */
  setup?: () => void | Promise<void>;
  /**
   * Does `opsPerCall` operations. Its return value is kept alive to defeat dead-code
   * elimination. If it returns a promise (on its first call), every call is awaited
   * before the next one starts, and the time includes the wait.
   */
  run: () => unknown;
  /** Untimed, after each measurement (close servers, delete files). */
  teardown?: () => void | Promise<void>;
  /**
   * Figures the case computes itself over the calls of a measurement (e.g. per-request
   * latency percentiles), read after measuring. Keys ending in `Ms` are printed as times.
   */
  extra?: () => Record<string, number>;
  opsPerCall?: number;
  /** Name of another case in the same run to print a ratio against. */
  baseline?: string;
  /**
   * A target the issue sets. `minOpsPerSec` for throughput, `maxMicrosPerOp` for latency,
   * `maxRatio` for cost relative to the baseline (our time per op / baseline time per op).
   */
  target?: { minOpsPerSec?: number; maxMicrosPerOp?: number; maxRatio?: number };
  /** Minimum timed duration in ms (default 400). */
  minMillis?: number;
}

export interface BenchResult {
  name: string;
  group: string;
  opsPerSec: number;
  microsPerOp: number;
  samples: number;
  baseline?: string;
  ratio?: number;
  target?: BenchCase['target'];
  meetsTarget?: boolean;
  extra?: Record<string, number>;
}

let sink: unknown;
/** Read by nobody; stops the JIT from discarding benchmarked work. */
export function blackhole(): unknown {
  return sink;
}

/** Times `c` in batches until `minMillis` have passed; reports the median batch rate. */
export async function measure(c: BenchCase): Promise<BenchResult> {
  await c.setup?.();
  const ops = c.opsPerCall ?? 1;
  const minMillis = c.minMillis ?? 400;
  // One untimed call tells a synchronous case from an asynchronous one; the synchronous
  // loop below is exactly what it always was.
  const first = c.run();
  const isAsync = typeof (first as { then?: unknown } | null)?.then === 'function';
  sink = isAsync ? await first : first;
  const runBatch = async (batch: number): Promise<number> => {
    const t0 = process.hrtime.bigint();
    if (isAsync) for (let i = 0; i < batch; i++) sink = await c.run();
    else for (let i = 0; i < batch; i++) sink = c.run();
    return Number(process.hrtime.bigint() - t0);
  };
  // Warm up and size a batch to ~20 ms.
  let batch = 1;
  for (;;) {
    const ms = (await runBatch(batch)) / 1e6;
    if (ms >= 20 || batch >= 1 << 24) break;
    batch *= ms < 2 ? 8 : 2;
  }
  const rates: number[] = [];
  const start = process.hrtime.bigint();
  while (Number(process.hrtime.bigint() - start) / 1e6 < minMillis || rates.length < 5) {
    const ns = await runBatch(batch);
    rates.push((batch * ops * 1e9) / ns);
  }
  rates.sort((a, b) => a - b);
  const opsPerSec = rates[Math.floor(rates.length / 2)]!;
  const extra = c.extra?.();
  await c.teardown?.();
  return {
    name: c.name,
    group: c.group,
    opsPerSec,
    microsPerOp: 1e6 / opsPerSec,
    samples: rates.length,
    ...(c.baseline ? { baseline: c.baseline } : {}),
    ...(c.target ? { target: c.target } : {}),
    ...(extra ? { extra } : {}),
  };
}

/** Fills in ratios against baselines and target verdicts. */
export function judge(results: BenchResult[]): BenchResult[] {
  const byName = new Map(results.map((r) => [r.name, r]));
  return results.map((r) => {
    const out = { ...r };
    if (r.baseline && r.ratio === undefined) {
      const base = byName.get(r.baseline);
      if (base) out.ratio = r.microsPerOp / base.microsPerOp;
    }
    if (r.target) {
      const t = r.target;
      out.meetsTarget =
        (t.minOpsPerSec === undefined || r.opsPerSec >= t.minOpsPerSec) &&
        (t.maxMicrosPerOp === undefined || r.microsPerOp <= t.maxMicrosPerOp) &&
        (t.maxRatio === undefined || (out.ratio !== undefined && out.ratio <= t.maxRatio));
    }
    return out;
  });
}
