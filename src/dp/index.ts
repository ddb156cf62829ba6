/** Differential privacy: exact integer samplers, the §11 LDP mechanism, budget accounting. */
export * from './accountant.js';
export { sampleBernoulli, sampleBernoulliExp } from './bernoulli.js';
export { discreteGaussianVariance, sampleDiscreteGaussian } from './discreteGaussian.js';
export {
  discreteLaplaceVariance,
  sampleDiscreteLaplace,
  sampleTwoSidedGeometric,
  twoSidedGeometricVariance,
} from './discreteLaplace.js';
export { sampleGeometric } from './geometric.js';
export * from './ldpSquareWave.js';
export {
  type PolyaShareParameters,
  polyaShareShape,
  samplePolya,
  samplePolyaShare,
} from './polya.js';
export * from './rational.js';
