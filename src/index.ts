/**
 * privagg as a library: `import { … } from 'privagg'`. What is exported here is the
 * public API (docs/LIBRARY.md); everything else under dist/ is internal and may change.
 *
 * Three layers, from the inside out:
 *   1. The MaaS scheme core, sans I/O: parameters, a deployment's roles (device, gateway,
 *      ledger contract, query engine) as objects that take bytes and return bytes and
 *      verdicts. Embed a device or a gateway in a program of your own with these.
 *   2. The runtime: a deployment file, credentials, and the roles as networked services
 *      over MQTT and HTTP(S) (what `privagg up`, `ledger serve`, `gateway`, `devices`
 *      and `query` run).
 *   3. The ledger: the SQLite block store, chain verification, the embedded ledger.
 * Errors are PrivaggErrors with a stable `code` (ErrorCode).
 */

// ── Errors and randomness ──
export { ErrorCode, isPrivaggError, PrivaggError } from './errors.js';
// ── 3. The ledger ──
export { type EmbeddedLedger, openEmbeddedLedger } from './ledger/embeddedLedger.js';
export type {
  LedgerBlock,
  LedgerService,
  LedgerTransaction,
  VerifyReport,
} from './ledger/service.js';
export { SqliteBlockStore } from './ledger/sqliteStore.js';
export { verifyChain } from './ledger/verifyChain.js';
export { field61, field127, PrimeField } from './math/field.js';
export { type RandomSource, seededRandom, systemRandom } from './math/random.js';
export { connectMqtt, type MqttClientLink } from './net/mqttClient.js';
export { auditorKeysOfBundle } from './node/credentials/auditorKeys.js';
export { loadBundle } from './node/credentials/bundle.js';
export { issueCredentials } from './node/credentials/issue.js';
// ── 2. The runtime ──
export {
  loadDeploymentFile,
  type ParsedDeploymentSpec,
  parseDeployment,
  toMaasParams,
} from './node/deploymentFile.js';
export {
  runDevices,
  runGateway,
  runGateways,
  runLedger,
  runQuery,
  type SharedRuntime,
} from './node/runtime.js';
export {
  createMaasDeployment,
  type MaasDeployment,
  type MaasDevice,
} from './schemes/maas/deployment.js';
export type { AddressedMessage } from './schemes/maas/device.js';
export {
  type GatewayRoundResult,
  MaasGateway,
  type Rejection,
  type Verdict,
} from './schemes/maas/gateway.js';
export type { OemGrant } from './schemes/maas/keys.js';
export {
  type AddResult,
  MaasLedgerContract,
  type RefusedDevice,
  type RestoreOutcome,
} from './schemes/maas/ledgerContract.js';
// ── 1. The MaaS scheme core (sans I/O) ──
export {
  DEFAULT_MODES,
  DEFAULT_VALIDITY,
  defaultMaasParams,
  type MaasModes,
  type MaasParams,
  PAPER_MODES,
  validateMaasParams,
} from './schemes/maas/params.js';
export { ensurePartialsFit, maxPartialBytesOf } from './schemes/maas/partialCodec.js';
export {
  buildQuery,
  dimensionMask,
  MaasQueryEngine,
  type QueryAnswer,
  type QueryResult,
} from './schemes/maas/query.js';
