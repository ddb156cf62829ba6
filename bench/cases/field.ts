import { field61, field127, MERSENNE_61, reduceMersenne } from '../../src/math/field.js';
import { seededRandom } from '../../src/math/random.js';
import type { BenchCase } from '../harness.js';

const rng = seededRandom('bench-field');
const N = 1000;
const xs61 = Array.from({ length: N }, () => field61.random(rng));
const xs127 = Array.from({ length: N }, () => field127.random(rng));
const many = Array.from({ length: 10_000 }, () => field61.random(rng));
const packed = field61.pack(many);
const many127 = Array.from({ length: 10_000 }, () => field127.random(rng));
const packed127 = field127.pack(many127);

/** Reduce once at the end: the textbook lazy sum, kept to show when `sum` does it. */
function lazyBigintSum(xs: readonly bigint[], p: bigint): bigint {
  let acc = 0n;
  for (let i = 0; i < xs.length; i++) acc += xs[i]!;
  return acc % p;
}

function naiveSum(xs: readonly bigint[], p: bigint): bigint {
  let acc = 0n;
  for (let i = 0; i < xs.length; i++) acc = (acc + xs[i]!) % p;
  return acc;
}

export const cases: BenchCase[] = [
  {
    name: 'field.mul p=2^61−1 (generic %)',
    group: 'field',
    opsPerCall: N,
    run: () => {
      let acc = 1n;
      for (let i = 0; i < N; i++) acc = field61.mul(acc, xs61[i]!);
      return acc;
    },
  },
  {
    name: 'field.mul p=2^61−1 (Mersenne fold)',
    group: 'field',
    opsPerCall: N,
    baseline: 'field.mul p=2^61−1 (generic %)',
    run: () => {
      let acc = 1n;
      for (let i = 0; i < N; i++) acc = reduceMersenne(acc * xs61[i]!, 61n);
      return acc;
    },
  },
  {
    name: 'field.mul p=2^127−1 (generic %)',
    group: 'field',
    opsPerCall: N,
    baseline: 'field.mul p=2^61−1 (generic %)',
    run: () => {
      let acc = 1n;
      for (let i = 0; i < N; i++) acc = field127.mul(acc, xs127[i]!);
      return acc;
    },
  },
  {
    name: 'field.inv p=2^61−1',
    group: 'field',
    opsPerCall: 100,
    run: () => {
      let acc = 0n;
      for (let i = 1; i <= 100; i++) acc ^= field61.inv(xs61[i]!);
      return acc;
    },
  },
  {
    name: 'field.random p=2^61−1',
    group: 'field',
    opsPerCall: N,
    run: () => {
      let acc = 0n;
      for (let i = 0; i < N; i++) acc ^= field61.random(rng);
      return acc;
    },
  },
  {
    name: 'field.sum 10k naive %',
    group: 'field',
    run: () => naiveSum(many, MERSENNE_61),
  },
  {
    name: 'field.sum 10k (PrimeField.sum)',
    group: 'field',
    baseline: 'field.sum 10k naive %',
    run: () => field61.sum(many),
  },
  {
    name: 'field.sum 10k lazy bigint (reduce once)',
    group: 'field',
    baseline: 'field.sum 10k naive %',
    run: () => lazyBigintSum(many, MERSENNE_61),
  },
  {
    name: 'field.sum 10k p=2^127−1 naive %',
    group: 'field',
    run: () => naiveSum(many127, field127.p),
  },
  {
    name: 'field.sum 10k p=2^127−1 (PrimeField.sum, lazy)',
    group: 'field',
    baseline: 'field.sum 10k p=2^127−1 naive %',
    run: () => field127.sum(many127),
  },
  {
    name: 'field.sumPacked 10k p=2^127−1 split-limb',
    group: 'field',
    baseline: 'field.sum 10k p=2^127−1 naive %',
    run: () => field127.sumPacked(packed127),
  },
  {
    name: 'field.sumPacked 10k split-limb',
    group: 'field',
    baseline: 'field.sum 10k naive %',
    target: { maxMicrosPerOp: 100 },
    run: () => field61.sumPacked(packed),
  },
];
