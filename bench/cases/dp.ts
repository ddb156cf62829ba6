import { sampleBernoulli, sampleBernoulliExp } from '../../src/dp/bernoulli.js';
import { sampleDiscreteGaussian } from '../../src/dp/discreteGaussian.js';
import { sampleTwoSidedGeometric } from '../../src/dp/discreteLaplace.js';
import { sampleGeometric } from '../../src/dp/geometric.js';
import {
  estimateReading,
  estimateSum,
  perturbSquareWave,
  squareWaveParameters,
} from '../../src/dp/ldpSquareWave.js';
import { samplePolya, samplePolyaShare } from '../../src/dp/polya.js';
import { rational } from '../../src/dp/rational.js';
import { systemRandom, uniformUnit } from '../../src/math/random.js';
import type { BenchCase } from '../harness.js';

// Every exact sampler must give ≥ 100k draws/s on one core with the CSPRNG (the issue's
// target); parameters are the typical ones: ε = 1, Δ = 1, σ² ∈ {4, 100}, n = 100 devices.
const rng = systemRandom;
const target = { minOpsPerSec: 100_000 };
const BATCH = 100;
const third = rational(1, 3);
const ldp = squareWaveParameters(1, 1e-3);
const shares = { epsilon: 1, sensitivity: 1, devices: 100 };
const shareShape = rational(1, 100);

function batch(draw: () => number): () => number {
  return () => {
    let s = 0;
    for (let i = 0; i < BATCH; i++) s += draw();
    return s;
  };
}

export const cases: BenchCase[] = [
  {
    group: 'dp',
    name: 'dp uniformUnit (53-bit double, randomness floor)',
    opsPerCall: BATCH,
    run: batch(() => uniformUnit(rng)),
  },
  {
    group: 'dp',
    name: 'dp Bernoulli(1/3)',
    opsPerCall: BATCH,
    run: batch(() => (sampleBernoulli(rng, third) ? 1 : 0)),
    target,
  },
  {
    group: 'dp',
    name: 'dp Bernoulli(exp(-1/3)) CKS Alg. 1',
    opsPerCall: BATCH,
    run: batch(() => (sampleBernoulliExp(rng, third) ? 1 : 0)),
    target,
  },
  {
    group: 'dp',
    name: 'dp Bernoulli(exp(-5/2)) CKS Alg. 1',
    opsPerCall: BATCH,
    run: batch(() => (sampleBernoulliExp(rng, '5/2') ? 1 : 0)),
    target,
  },
  {
    group: 'dp',
    name: 'dp geometric γ = 1',
    opsPerCall: BATCH,
    run: batch(() => sampleGeometric(rng, 1)),
    target,
  },
  {
    group: 'dp',
    name: 'dp geometric γ = 1/10',
    opsPerCall: BATCH,
    run: batch(() => sampleGeometric(rng, '1/10')),
    target,
  },
  {
    group: 'dp',
    name: 'dp two-sided geometric ε = 1, Δ = 1',
    opsPerCall: BATCH,
    run: batch(() => sampleTwoSidedGeometric(rng, 1, 1)),
    target,
  },
  {
    group: 'dp',
    name: 'dp two-sided geometric ε = 0.1, Δ = 1',
    opsPerCall: BATCH,
    run: batch(() => sampleTwoSidedGeometric(rng, 0.1, 1)),
    target,
  },
  {
    group: 'dp',
    name: 'dp discrete Gaussian σ² = 4',
    opsPerCall: BATCH,
    run: batch(() => sampleDiscreteGaussian(rng, 4)),
    target,
  },
  {
    group: 'dp',
    name: 'dp discrete Gaussian σ² = 100',
    opsPerCall: BATCH,
    run: batch(() => sampleDiscreteGaussian(rng, 100)),
    target,
  },
  {
    group: 'dp',
    name: 'dp Pólya(1/100, e^-1) exact',
    opsPerCall: BATCH,
    run: batch(() => samplePolya(rng, shareShape, 1)),
    target,
  },
  {
    group: 'dp',
    name: 'dp Pólya share n = 100, ε = 1, Δ = 1',
    opsPerCall: BATCH,
    run: batch(() => samplePolyaShare(rng, shares)),
    target,
  },
  {
    group: 'dp',
    name: 'dp LDP square wave perturb + estimate (ε = 1, δ = 1e-3)',
    opsPerCall: BATCH,
    run: batch(() => estimateReading(ldp, perturbSquareWave(rng, ldp, 0.37))),
    target,
  },
  {
    group: 'dp',
    name: 'dp LDP de-bias a sum of 100 reports',
    run: () => estimateSum(ldp, 42.5, 100),
    target,
  },
];
