import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/errors.js';
import { seededRandom } from '../../../src/math/random.js';
import { createMaasDeployment } from '../../../src/schemes/maas/deployment.js';
import { DEFAULT_MODES, defaultMaasParams, PAPER_MODES } from '../../../src/schemes/maas/params.js';
import { buildQuery } from '../../../src/schemes/maas/query.js';

/**
 * Mutation fuzzing: start from valid messages (random bytes die at byte 0), flip, cut,
 * extend and splice them, and feed them to every receiver. Each must answer with a
 * stable error code or accept — never throw, never let a mutated report change a sum.
 */
const T0 = Date.UTC(2026, 0, 1);
const CODES = new Set<string>(Object.values(ErrorCode));

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('extend' as const),
    extra: fc.uint8Array({ minLength: 1, maxLength: 40 }),
  }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.nat(255) }),
);

type Mutation = { kind: string; at?: number; bit?: number; extra?: Uint8Array; value?: number };

function mutate(bytes: Buffer, ms: readonly Mutation[]): Buffer {
  let out = Buffer.from(bytes);
  for (const m of ms) {
    if (out.length === 0) break;
    const at = (m.at ?? 0) % out.length;
    if (m.kind === 'flip') out[at]! ^= 1 << m.bit!;
    else if (m.kind === 'cut') out = out.subarray(0, at);
    else if (m.kind === 'extend') out = Buffer.concat([out, m.extra!]);
    else out[at] = m.value!;
  }
  return out;
}

describe.each([
  ['default modes', DEFAULT_MODES],
  ['paper modes', PAPER_MODES],
])('mutated messages (%s)', (_name, modes) => {
  const params = defaultMaasParams({
    deployment: 'fuzz',
    ians: 1,
    devicesPerIan: 3,
    ldp: null,
    modes,
  });
  const oem = {
    name: 'o',
    dimensions: [0, 1, 2, 3, 4],
    budget: { epsilon: 1000, delta: 0 },
    epsilonPerDimension: [1, 1, 1, 1, 1],
  };
  const dep = createMaasDeployment(params, {
    oems: [oem],
    registeredAtMs: T0,
    rng: seededRandom('fuzz'),
  });
  const rng = seededRandom('fuzz-shares');
  const reports = [0, 1, 2].flatMap((i) =>
    dep
      .device(0, i)
      .report(0, [1, 2, 3, 4, 5], T0, rng)
      .filter((m) => m.gateway === 1),
  );

  it('the gateway rejects with a stable code or accepts; accepted mutants never change the sum', () => {
    fc.assert(
      fc.property(
        fc.nat(reports.length - 1),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        (pick, ms) => {
          const gw = dep.gateway(0, 1);
          gw.beginRound(0);
          const mutant = mutate(reports[pick]!.bytes, ms);
          const v = gw.ingest(mutant, T0);
          if (!v.ok) expect(CODES.has(v.code)).toBe(true);
          for (const r of reports) gw.ingest(r.bytes, T0);
          const res = gw.closeRound(T0);
          for (const r of res.rejected) expect(CODES.has(r.code)).toBe(true);
          // Whatever the mutant did, the honest sum over all three devices comes out.
          const clean = dep.gateway(0, 1);
          clean.beginRound(0);
          for (const r of reports) clean.ingest(r.bytes, T0);
          expect(res.sums).toEqual(clean.closeRound(T0).sums);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('the ledger and the query engine reject mutated partials and queries with stable codes', () => {
    const gw = dep.gateway(0, 1);
    gw.beginRound(0);
    for (const r of reports) gw.ingest(r.bytes, T0);
    const partial = gw.closeRound(T0).partial;
    const query = buildQuery(params, dep.registry.oemKey(0), {
      number: 1,
      startRound: 0,
      endRound: 0,
      dimensionMask: 31,
      timestamp: T0,
    });
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => {
        const { contract, queries } = dep.ledger();
        const a = contract.add(mutate(partial, ms), T0);
        if (!a.ok) expect(CODES.has(a.code)).toBe(true);
        const q = queries.query(mutate(query, ms), T0, rng);
        if (!q.ok) expect(CODES.has(q.code)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
});
