import { decodeShares } from '../../src/crypto/berlekampWelch.js';
import {
  areSharesConsistent,
  reconstructSecret,
  ShamirParams,
  ShamirReconstructor,
  splitSecret,
  sumShareVectors,
} from '../../src/crypto/shamir.js';
import { field61, MERSENNE_61 } from '../../src/math/field.js';
import { seededRandom, systemRandom } from '../../src/math/random.js';
import type { BenchCase } from '../harness.js';

const params = new ShamirParams(3, 5);
const rng = seededRandom('bench-shamir');
const shares = splitSecret(params, 123_456_789n, rng);
const three = shares.slice(0, 3);
const threeYs = three.map((s) => s.y);
const reconstructor = new ShamirReconstructor(params, [1, 2, 3]);
const checker = new ShamirReconstructor(params, [1, 2, 3, 4, 5]);
const allYs = shares.map((s) => s.y);
const oneWrong = shares.map((s) => (s.x === 4 ? { x: 4, y: (s.y + 1n) % MERSENNE_61 } : s));

// Gateway 1's shares from 10k devices.
const deviceShares = Array.from(
  { length: 10_000 },
  () => splitSecret(params, field61.random(rng), rng)[0]!.y,
);
const packed = field61.pack(deviceShares);
const vectors = deviceShares.map((y) => ({ x: 1, ys: [y] }));

export const cases: BenchCase[] = [
  {
    name: 'shamir.split k=3 m=5',
    group: 'shamir',
    opsPerCall: 100,
    target: { minOpsPerSec: 1_000_000 },
    run: () => {
      let last: unknown;
      for (let i = 0; i < 100; i++) last = splitSecret(params, 42n, systemRandom);
      return last;
    },
  },
  {
    name: 'shamir.reconstruct k=3 precomputed Lagrange',
    group: 'shamir',
    opsPerCall: 1000,
    target: { minOpsPerSec: 5_000_000 },
    run: () => {
      let acc = 0n;
      for (let i = 0; i < 1000; i++) acc ^= reconstructor.reconstruct(threeYs);
      return acc;
    },
  },
  {
    name: 'shamir.reconstruct k=3 (no precomputation)',
    group: 'shamir',
    opsPerCall: 100,
    baseline: 'shamir.reconstruct k=3 precomputed Lagrange',
    run: () => {
      let acc = 0n;
      for (let i = 0; i < 100; i++) acc ^= reconstructSecret(params, three);
      return acc;
    },
  },
  {
    name: 'shamir.consistency check r=5 k=3',
    group: 'shamir',
    opsPerCall: 100,
    run: () => {
      let ok = true;
      for (let i = 0; i < 100; i++) ok = areSharesConsistent(params, shares) && ok;
      return ok;
    },
  },
  {
    name: 'shamir.consistency check r=5 k=3 precomputed',
    group: 'shamir',
    opsPerCall: 1000,
    baseline: 'shamir.consistency check r=5 k=3',
    run: () => {
      let ok = true;
      for (let i = 0; i < 1000; i++) ok = checker.isConsistent(allYs) && ok;
      return ok;
    },
  },
  {
    name: 'shamir.bw decode r=5 k=3 one error',
    group: 'shamir',
    opsPerCall: 10,
    run: () => {
      let last: unknown;
      for (let i = 0; i < 10; i++) last = decodeShares(params, oneWrong);
      return last;
    },
  },
  {
    name: 'shamir.sum 10k shares naive %',
    group: 'shamir',
    run: () => {
      let acc = 0n;
      for (let i = 0; i < deviceShares.length; i++) acc = (acc + deviceShares[i]!) % MERSENNE_61;
      return acc;
    },
  },
  {
    name: 'shamir.sum 10k shares split-limb',
    group: 'shamir',
    baseline: 'shamir.sum 10k shares naive %',
    target: { maxMicrosPerOp: 100 },
    run: () => field61.sumPacked(packed),
  },
  {
    name: 'shamir.sum 10k shares PrimeField.sum',
    group: 'shamir',
    baseline: 'shamir.sum 10k shares naive %',
    run: () => field61.sum(deviceShares),
  },
  {
    name: 'shamir.sumShareVectors 10k × w=1',
    group: 'shamir',
    baseline: 'shamir.sum 10k shares naive %',
    run: () => sumShareVectors(params, vectors),
  },
];
