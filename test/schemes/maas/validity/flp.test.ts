import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../../src/errors.js';
import { field61, field127, PrimeField } from '../../../../src/math/field.js';
import { seededRandom, uniformBigint } from '../../../../src/math/random.js';
import { defaultChunk, RangeCircuit } from '../../../../src/schemes/maas/validity/circuit.js';
import { Flp } from '../../../../src/schemes/maas/validity/flp.js';
import {
  expandFieldElements,
  jointRandPart,
  validityContext,
} from '../../../../src/schemes/maas/validity/randomness.js';
import { expectCode } from '../../../math/helpers.js';
import { fe } from './helpers.js';

const p = field61.p;

describe('FLP known answers (hand-checked)', () => {
  // One dimension in [0, 3] (2 bits, one decomposition), chunk 1: M = 2 calls of Mul,
  // L = 2 wires, gadget polynomial of degree 4 sent at nodes 0..4.
  const circuit = new RangeCircuit(field61, [{ min: 0n, max: 3n }], { chunk: 1 });
  const flp = new Flp(circuit, 1);

  it('shapes: 2 calls, proof 2 + 5 elements, verifier 4, r ≥ 5', () => {
    expect(circuit.inputLength).toBe(2);
    expect(circuit.gadgetCalls).toBe(2);
    expect(circuit.jointRandLength).toBe(2);
    expect(flp.proofLength).toBe(7);
    expect(flp.verifierLength).toBe(4);
    expect(flp.queryRandMin).toBe(5n);
  });

  it('value 2 = bits (0, 1), seeds (7, 10), ρ = (3, 5): π = (7, 10, 70, 0, 0, 286, 1938)', () => {
    // Wire 0 (ρ^1·x): 7, 3·0, 5·1 → 7 − 13X + 6X²: w0(3) = 22, w0(4) = 51.
    // Wire 1 (x − 1): 10, −1, 0 → 10 − 17X + 6X²: w1(3) = 13, w1(4) = 38.
    // g = w0·w1 at 0..4: 70, 0, 0, 286, 1938.
    const x = circuit.encode([2n]);
    expect(x).toEqual([0n, 1n]);
    const proof = flp.prove(x, [7n, 10n], [3n, 5n]);
    expect(proof).toEqual([7n, 10n, 70n, 0n, 0n, 286n, 1938n]);
    // r = 5: w0(5) = 92, w1(5) = 75, g(5) = 6900; v = g(1) + g(2) = 0.
    const verifier = flp.query(x, proof, [5n], [3n, 5n]);
    expect(verifier).toEqual([0n, 92n, 75n, 6900n]);
    expect(flp.decide(verifier)).toBe(true);
  });

  it('non-bit 2 in the low slot: v = ρ0·2·(2 − 1) = 6, refused as circuit-output', () => {
    const x = [2n, 0n];
    const proof = flp.prove(x, [7n, 10n], [3n, 5n]);
    const verifier = flp.query(x, proof, [5n], [3n, 5n]);
    expect(verifier[0]).toBe(6n);
    expect(flp.check(verifier)).toEqual([{ proof: 0, reason: 'circuit-output' }]);
  });

  it('a gadget output lowered by 6 to zero v is caught at r = 5 (gadget-mismatch)', () => {
    const x = [2n, 0n];
    const proof = flp.prove(x, [7n, 10n], [3n, 5n]);
    proof[3] = field61.sub(proof[3]!, 6n); // g(1) − 6
    const verifier = flp.query(x, proof, [5n], [3n, 5n]);
    expect(verifier[0]).toBe(0n);
    expect(flp.check(verifier)).toEqual([{ proof: 0, reason: 'gadget-mismatch' }]);
  });

  it('range [−2, 3]: 3 bits and offset 2; 1 → (1,1,0 | 1,0,1), −2 → (0,0,0 | 0,1,0)', () => {
    const c = new RangeCircuit(field61, [{ min: -2n, max: 3n }]);
    expect(c.dimensions[0]).toMatchObject({ bits: 3, offset: 2n, start: 0 });
    expect(c.encode([1n])).toEqual([1n, 1n, 0n, 1n, 0n, 1n]);
    expect(c.encode([p - 2n])).toEqual([0n, 0n, 0n, 0n, 1n, 0n]);
    expect(c.truncate([1n, 1n, 0n, 1n, 0n, 1n])).toEqual([1n]);
    expect(c.truncate([0n, 0n, 0n, 0n, 1n, 0n])).toEqual([p - 2n]);
    expectCode(() => c.encode([4n]), ErrorCode.FIXED_POINT_OUT_OF_RANGE);
    expectCode(() => c.encode([p - 3n]), ErrorCode.FIXED_POINT_OUT_OF_RANGE);
  });

  it('5 dimensions × 8 bits: chunk 5, 8 calls, 27 elements per proof, 12 per verifier', () => {
    const c = new RangeCircuit(
      field61,
      Array.from({ length: 5 }, () => ({ min: 0n, max: 255n })),
    );
    expect(defaultChunk(40)).toBe(5);
    const f = new Flp(c, 3);
    expect([c.inputLength, c.chunk, c.gadgetCalls]).toEqual([40, 5, 8]);
    expect([f.proofLengthPerProof, f.verifierLengthPerProof]).toEqual([27, 12]);
    expect([f.proofLength, f.verifierLength]).toEqual([81, 36]);
  });

  it('expandFieldElements and jointRandPart match an independent computation (Python hashlib)', () => {
    expect(expandFieldElements(field61, new Uint8Array(32), 'joint', 3)).toEqual([
      736456729930635067n,
      782033402734507874n,
      1047750988506952841n,
    ]);
    const seed = Uint8Array.from({ length: 32 }, (_, i) => i);
    expect(expandFieldElements(field61, seed, 'query', 2, 17n)).toEqual([
      1181493377162843092n,
      1311054905880771019n,
    ]);
    const ctx = validityContext({ deployment: 'kat', ian: 1, device: 2, round: 3 });
    expect(ctx.toString('hex')).toBe(
      '00000020707269766167672f6d6161732d76616c69646974792f76312f636f6e74657874000000036b61740000000c000000010000000200000003',
    );
    const share = Buffer.alloc(24);
    share.writeBigUInt64BE(0n, 0);
    share.writeBigUInt64BE(1n, 8);
    share.writeBigUInt64BE(p - 1n, 16);
    expect(jointRandPart(ctx, 2, new Uint8Array(32).fill(7), share).toString('hex')).toBe(
      '4b4fb7598b17bb33e4b737b5299ab8409f1f6b056e3761f98c3ed5bde9448082',
    );
  });
});

describe('FLP properties (unshared)', () => {
  const rng = seededRandom('flp-properties');
  const rangeArb = fc
    .tuple(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 0, max: 5000 }))
    .map(([min, span]) => ({ min: BigInt(min), max: BigInt(min + span) }));

  for (const field of [field61, field127]) {
    it(`an in-range input is accepted, for any ranges, chunk and proofs (${field.bits}-bit p)`, () => {
      fc.assert(
        fc.property(
          fc.array(rangeArb, { minLength: 1, maxLength: 4 }),
          fc.integer({ min: 1, max: 3 }),
          fc.integer({ min: 1, max: 9 }),
          (ranges, proofs, chunkHint) => {
            const probe = new RangeCircuit(field, ranges);
            const chunk = Math.min(chunkHint, probe.inputLength);
            const c = new RangeCircuit(field, ranges, { chunk });
            const flp = new Flp(c, proofs);
            const values = ranges.map((r) =>
              fe(field, r.min + uniformBigint(rng, r.max - r.min + 1n)),
            );
            const x = c.encode(values);
            expect(c.truncate(x)).toEqual(values);
            const jr = Array.from({ length: flp.jointRandLength }, () => field.random(rng));
            const seeds = Array.from({ length: flp.proveRandLength }, () => field.random(rng));
            const qr = Array.from(
              { length: flp.queryRandLength },
              () => flp.queryRandMin + uniformBigint(rng, field.p - flp.queryRandMin),
            );
            const proof = flp.prove(x, seeds, jr);
            expect(flp.check(flp.query(x, proof, qr, jr))).toEqual([]);
          },
        ),
        { numRuns: 60 },
      );
    });
  }

  it('query is linear in (x, π, one): two shares of an input give shares of its verifier', () => {
    // With `one` as the share of 1: shares (x1, π1, one = 1) and (x2, π2, one = 0) add
    // up to (x1 + x2, π1 + π2, 1), and the verifier must add up the same way.
    const c = new RangeCircuit(field61, [
      { min: 0n, max: 5n },
      { min: -3n, max: 12n },
    ]);
    const flp = new Flp(c, 2);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), () => {
        const rand = (n: number) => Array.from({ length: n }, () => field61.random(rng));
        const x1 = rand(c.inputLength);
        const x2 = rand(c.inputLength);
        const p1 = rand(flp.proofLength);
        const p2 = rand(flp.proofLength);
        const jr = rand(flp.jointRandLength);
        const qr = [flp.queryRandMin + 1n, flp.queryRandMin + 99n];
        const sum = (a: bigint[], b: bigint[]) => a.map((v, i) => field61.add(v, b[i]!));
        const whole = flp.query(sum(x1, x2), sum(p1, p2), qr, jr, 1n);
        const parts = sum(flp.query(x1, p1, qr, jr, 1n), flp.query(x2, p2, qr, jr, 0n));
        expect(parts).toEqual(whole);
      }),
      { numRuns: 30 },
    );
  });

  it('query randomness on a node (r ≤ D·M) is refused', () => {
    const c = new RangeCircuit(field61, [{ min: 0n, max: 3n }], { chunk: 1 });
    const flp = new Flp(c, 1);
    const x = c.encode([1n]);
    const proof = flp.prove(x, [1n, 2n], [3n, 4n]);
    expectCode(() => flp.query(x, proof, [4n], [3n, 4n]), ErrorCode.INVALID_ARGUMENT);
  });

  it('a range too wide for the field is refused', () => {
    const small = new PrimeField(8191n);
    expectCode(
      () => new RangeCircuit(small, [{ min: 0n, max: 4096n }]),
      ErrorCode.INVALID_ARGUMENT,
    );
  });
});
