import { describe, expect, it } from 'vitest';
import { field61, PrimeField } from '../../../../src/math/field.js';
import {
  type RandomSource,
  seededRandom,
  uniformBigint,
  uniformInt,
} from '../../../../src/math/random.js';
import { RangeCircuit } from '../../../../src/schemes/maas/validity/circuit.js';
import { Flp } from '../../../../src/schemes/maas/validity/flp.js';
import type { ProveFunction } from '../../../../src/schemes/maas/validity/shares.js';
import { rootsProver, zeroingProver } from './cheats.js';
import { allVerifierShares, CONTEXT, decideWith, makeScheme, randomSubset } from './helpers.js';

/**
 * Soundness with fixed seeds. Over 2^61 − 1 the error per report is far below anything
 * a test can observe, so every wrong input must be refused. Over a tiny field (p = 8191)
 * the error is large enough to measure, and the observed acceptance rate must stay
 * within the bound of docs/VALIDITY.md (plus 4 standard deviations).
 */

/** A wrong encoded input of one of five kinds, over `circuit`. */
function wrongInput(circuit: RangeCircuit, rng: RandomSource, kind: number): bigint[] {
  const field = circuit.field;
  const n = circuit.inputLength;
  const valid = circuit.encode(
    circuit.dimensions.map((d) => field.reduce(d.min + uniformBigint(rng, d.max - d.min + 1n))),
  );
  switch (kind) {
    case 0: // uniformly random field elements
      return valid.map(() => field.random(rng));
    case 1: {
      // one slot set to a random non-bit
      const x = [...valid];
      let v = field.random(rng);
      while (v < 2n) v = field.random(rng);
      x[uniformInt(rng, n)] = v;
      return x;
    }
    case 2: {
      // one slot set to 2 (the smallest non-bit) or p − 1 (−1)
      const x = [...valid];
      x[uniformInt(rng, n)] = uniformInt(rng, 2) === 0 ? 2n : field.p - 1n;
      return x;
    }
    case 3: {
      // all bits, but a dimension with an offset decomposition gets a wrong second half
      const dims = circuit.dimensions.filter((d) => d.offset !== null);
      const x = [...valid];
      const d = dims[uniformInt(rng, dims.length)]!;
      const i = d.start + d.bits + uniformInt(rng, d.bits);
      x[i] = 1n - x[i]!;
      return x;
    }
    default: {
      // a value just above max, written as bits of v − min that overflow into a 2
      const x = [...valid];
      const d = circuit.dimensions[uniformInt(rng, circuit.dimensions.length)]!;
      x[d.start + d.bits - 1] = 2n;
      return x;
    }
  }
}

describe('soundness over 2^61 − 1 (fixed seed): every wrong input is refused', () => {
  it('600 wrong inputs × 4 provers (honest, zeroing, best cheat, random proof), k = 3 of m = 5, a random gateway set each', () => {
    const rng = seededRandom('validity-soundness-61');
    // Mixed ranges: offsets (0..5, −3..12 is 16 values: none; 0..999) and a power of two.
    const scheme = makeScheme(
      [
        { min: 0n, max: 5n },
        { min: -3n, max: 12n },
        { min: 0n, max: 999n },
        { min: -128n, max: 127n },
      ],
      3,
      5,
    );
    const randomProof: ProveFunction = () =>
      Array.from({ length: scheme.flp.proofLength }, () => field61.random(rng));
    const provers: (ProveFunction | undefined)[] = [
      undefined,
      zeroingProver(scheme.flp),
      rootsProver(scheme.flp, [scheme.flp.queryRandMin + 1n, 1n << 40n]),
      randomProof,
    ];
    let refused = 0;
    let total = 0;
    for (let i = 0; i < 600; i++) {
      const x = wrongInput(scheme.circuit, rng, i % 5);
      const prove = provers[Math.floor(i / 5) % 4];
      const report = scheme.shareEncoded(x, CONTEXT, rng, prove);
      const shares = allVerifierShares(scheme, report);
      const set = randomSubset(rng, 3 + uniformInt(rng, 3), 5);
      total++;
      if (!decideWith(scheme, shares, set).valid) refused++;
    }
    expect(total).toBe(600);
    expect(refused).toBe(600);
  });

  it('control: the same loop with valid inputs accepts all 100', () => {
    const rng = seededRandom('validity-soundness-61-control');
    const scheme = makeScheme(
      [
        { min: 0n, max: 5n },
        { min: 0n, max: 999n },
      ],
      3,
      5,
    );
    let accepted = 0;
    for (let i = 0; i < 100; i++) {
      const values = scheme.circuit.dimensions.map((d) =>
        field61.reduce(d.min + uniformBigint(rng, d.max - d.min + 1n)),
      );
      const shares = allVerifierShares(scheme, scheme.shareReport(values, CONTEXT, rng));
      if (decideWith(scheme, shares, randomSubset(rng, 3, 5)).valid) accepted++;
    }
    expect(accepted).toBe(100);
  });
});

describe('soundness over p = 8191: the measured error stays within the bound', () => {
  const small = new PrimeField(8191n);
  // One dimension 0..255: 8 bits, chunk 2, M = 4 calls, gadget degree 2 → D·M = 8.
  const circuit = new RangeCircuit(small, [{ min: 0n, max: 255n }]);
  const TRIALS = 20_000;
  const within = (accepted: number, bound: number) => {
    const mean = TRIALS * bound;
    return accepted <= mean + 4 * Math.sqrt(mean) + 1;
  };

  // The 5 points the best cheat makes roots of its error polynomial (any allowed r works).
  const ROOTS = [100n, 2000n, 4000n, 6000n, 8000n];

  function run(proofs: number, cheat: 'zeroing' | 'roots' | 'honest', seed: string): number {
    const rng = seededRandom(seed);
    const flp = new Flp(circuit, proofs);
    const prover =
      cheat === 'zeroing'
        ? zeroingProver(flp)
        : cheat === 'roots'
          ? rootsProver(flp, ROOTS)
          : flp.prove.bind(flp);
    let accepted = 0;
    for (let t = 0; t < TRIALS; t++) {
      const x = wrongInput(circuit, rng, 1);
      const jr = Array.from({ length: flp.jointRandLength }, () => small.random(rng));
      const seeds = Array.from({ length: flp.proveRandLength }, () => small.random(rng));
      const proof = prover(x, seeds, jr);
      const qr = Array.from(
        { length: flp.queryRandLength },
        () => flp.queryRandMin + uniformBigint(rng, small.p - flp.queryRandMin),
      );
      if (flp.decide(flp.query(x, [...proof], qr, jr))) accepted++;
    }
    return accepted;
  }

  it('zeroing prover, 1 proof: never accepted (its error polynomial vanishes only on the nodes, which r avoids)', () => {
    const flp = new Flp(circuit, 1);
    expect([circuit.chunk, flp.calls, flp.gadgetPoints]).toEqual([2, 4, 9]);
    expect(run(1, 'zeroing', 'small-zeroing')).toBe(0);
  });

  it('best cheat (5 free roots), 1 proof: accepted at 5/8182 per trial, within the bound 8/8182 (20,000 trials)', () => {
    const accepted = run(1, 'roots', 'small-roots');
    const mean = (TRIALS * ROOTS.length) / 8182; // 12.2
    // The measured rate is the cheat's own (so the query really is at a uniform r) …
    expect(accepted).toBeGreaterThanOrEqual(Math.max(1, Math.floor(mean - 4 * Math.sqrt(mean))));
    expect(accepted).toBeLessThanOrEqual(Math.ceil(mean + 4 * Math.sqrt(mean)));
    // … and below the bound of docs/VALIDITY.md.
    expect(within(accepted, 8 / 8182)).toBe(true);
  });

  it('honest prover on a non-bit, 1 proof: accepted ≤ c/p = 2/8191 per trial (joint randomness)', () => {
    const accepted = run(1, 'honest', 'small-honest');
    expect(within(accepted, 2 / 8191)).toBe(true);
  });

  it('best cheat, 2 proofs: accepted ≤ (8/8182)² per trial, i.e. about none in 20,000', () => {
    const accepted = run(2, 'roots', 'small-roots-2');
    expect(accepted).toBeLessThanOrEqual(1);
  });
});
