/**
 * Input validity for MaaS reports: a fully linear proof (BBCGGI19; Prio3's FLP) of a
 * SumVec-style range circuit, checked on Shamir shares by any k of m gateways and
 * decided by the ledger. See docs/VALIDITY.md.
 */
export {
  type DimensionLayout,
  type DimensionRange,
  defaultChunk,
  type Gadget,
  ParallelSumMul,
  RangeCircuit,
  type RangeCircuitOptions,
  type ValidityCircuit,
} from './circuit.js';
export { Flp, type ProofFailure } from './flp.js';
export {
  BLIND_BYTES,
  expandFieldElements,
  jointRandPart,
  jointRandSeed,
  PART_BYTES,
  partMatches,
  proofPart,
  queryRandSeed,
  SEED_BYTES,
  type ValidityContextFields,
  validityContext,
} from './randomness.js';
export {
  type DeviceValidityReport,
  type GatewayCheck,
  type GatewayValidityShare,
  type ProveFunction,
  type ValidityDecision,
  type ValidityOptions,
  type ValidityParts,
  ValidityScheme,
  type ValidityWireSizes,
  type VerifierShare,
} from './shares.js';
