/** One ledger for every scheme (schemeLedger.ts), and its verification by replay (verifySchemeChain.ts). */

export {
  readSchemeAuditorKeys,
  type SchemeAuditorKeys,
  writeSchemeAuditorKeys,
} from './auditorKeys.js';
export { decodeInbound, encodeInbound, encodeRecovery, recoveryRecord } from './bodies.js';
export { readSchemeRecord, SCHEME_LEDGER_FORMAT, type SchemeRecord } from './meta.js';
export {
  openSchemeLedger,
  SchemeLedger,
  type SchemeLedgerCounts,
  type SchemeLedgerOptions,
} from './schemeLedger.js';
export { BodySealer } from './sealing.js';
export { blockFault, signedBlock } from './signedBlock.js';
export {
  type SchemeVerifyOptions,
  type SchemeVerifyReport,
  verifySchemeChain,
} from './verifySchemeChain.js';
