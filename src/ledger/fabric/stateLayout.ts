import type { Context } from 'fabric-contract-api';
import { ErrorCode, ensure, PrivaggError } from '../../errors.js';
import type { OemGrant } from '../../schemes/maas/keys.js';
import type { RestoreOutcome } from '../../schemes/maas/ledgerContract.js';
import { canonicalJson } from '../canonicalJson.js';
import {
  type DeploymentConfig,
  decodeDeploymentConfig,
  encodeDeploymentConfig,
} from '../deploymentConfig.js';

/**
 * Where the MaaS chaincode keeps its state in Fabric's world state, and the JSON of each
 * record. Every value is canonical JSON (sorted keys, no whitespace, bigints as decimal
 * strings, bytes as base64) so two endorsers that compute the same value write the same
 * bytes.
 *
 * Keys are composite keys (`\0type\0attr\0…`) whose numeric attributes are zero-padded, so
 * Fabric's range scans return them in numeric order. They are chosen so that concurrent
 * transactions rarely touch the same key (Fabric invalidates a transaction whose reads
 * changed before it committed, MVCC):
 *
 *   privagg.maas.config                          the deployment (simple key, written once)
 *   privagg.maas.partial  [ian, round, attempt, gateway]   one accepted partial
 *   privagg.maas.request  [ian, round, attempt]   a re-aggregation request and its basis
 *   privagg.maas.outcome  [ian, round]            a final restore outcome (restored|failed)
 *   privagg.maas.final    [2^32−1−round]          "round has a final outcome" (newest first)
 *   privagg.maas.budget   [oem name]              that OEM's accountant snapshot
 *   privagg.maas.seen     [SHA-256 of the query]  a query message already answered
 *   privagg.maas.answer   [oem name, window]      the cached answer of a query window
 *   privagg.maas.secret.gateway [ian, gateway]    a gateway's Ed25519 public key (key store)
 *   privagg.maas.secret.oem     [oem]             an OEM's Ed25519 public key (key store)
 *   privagg.maas.secret.noise   []                query-noise key (secret store)
 *
 * The secret store is a private data collection when InitLedger names one, else world
 * state (a test-network shortcut: see docs/FABRIC.md).
 */
export type ChaincodeStub = Context['stub'];

/** The part of Fabric's ChaincodeStub the chaincode uses (the in-memory test stub implements it). */
export type StateStub = Pick<
  ChaincodeStub,
  | 'getState'
  | 'putState'
  | 'getStateByPartialCompositeKey'
  | 'createCompositeKey'
  | 'splitCompositeKey'
  | 'getTxID'
  | 'getTxTimestamp'
  | 'getTransient'
  | 'getPrivateData'
  | 'putPrivateData'
  | 'getPrivateDataByPartialCompositeKey'
>;

/** The contract's name on the channel; it is also the chaincode's default contract. */
export const MAAS_CONTRACT_NAME = 'privagg.maas';

export const CONFIG_KEY = 'privagg.maas.config';

export const KeyType = {
  partial: 'privagg.maas.partial',
  request: 'privagg.maas.request',
  outcome: 'privagg.maas.outcome',
  final: 'privagg.maas.final',
  budget: 'privagg.maas.budget',
  seen: 'privagg.maas.seen',
  answer: 'privagg.maas.answer',
  gatewaySecret: 'privagg.maas.secret.gateway',
  oemSecret: 'privagg.maas.secret.oem',
  noiseSecret: 'privagg.maas.secret.noise',
} as const;

/** Rounds are u32 on the wire. */
export const MAX_ROUND = 0xffff_ffff;

const pad = (n: number, width: number) => String(n).padStart(width, '0');
export const ianAttr = (ian: number) => pad(ian, 5);
export const roundAttr = (round: number) => pad(round, 10);
export const attemptAttr = (attempt: number) => pad(attempt, 3);
export const gatewayAttr = (gateway: number) => pad(gateway, 3);
/** Newest round first in a range scan. */
export const finalAttr = (round: number) => pad(MAX_ROUND - round, 10);

/** The transaction's clock: the proposal timestamp, the same on every endorser. */
export function txTimeMs(stub: Pick<StateStub, 'getTxTimestamp'>): number {
  const ts = stub.getTxTimestamp();
  // seconds is a Long in fabric-shim; toString() is its exact decimal form.
  const seconds = Number(String(ts.seconds));
  ensure(Number.isSafeInteger(seconds) && seconds >= 0, 'transaction timestamp out of range');
  return seconds * 1000 + Math.floor(ts.nanos / 1_000_000);
}

export const utf8Bytes = (s: string) => Buffer.from(s, 'utf8');

export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}

/** JSON.parse of a stored value; undefined when the key is absent (Fabric: empty value). */
export function parseStored<T>(bytes: Uint8Array | undefined): T | undefined {
  if (!bytes || bytes.length === 0) return undefined;
  return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
}

/** Strict base64 (RFC 4648 with padding): Buffer.from(…, 'base64') silently skips junk. */
export function decodeBase64Strict(s: string): Buffer | undefined {
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  const b = Buffer.from(s, 'base64');
  return b.toString('base64') === s ? b : undefined;
}

// ── Records ──────────────────────────────────────────────────────────────────

export interface PartialRecord {
  /** The transaction time at which Add accepted it (replayed as the core's nowMs). */
  acceptedAtMs: number;
  /** The partial exactly as received, base64. */
  bytes: string;
  txId: string;
}

export interface RequestRecord {
  /** [attempt, gateway] of every partial stored when the request was made, sorted. */
  basis: [number, number][];
  outcome: Extract<RestoreOutcome, { status: 'reconcile' }>;
}

export interface SeenRecord {
  atMs: number;
  txId: string;
}

/** A gateway's or a querier's public identity and Ed25519 public key (base64). */
export interface KeyRecord {
  identity: string;
  publicKey: string;
}

/** What InitLedger stores under CONFIG_KEY. */
export interface ChaincodeConfig {
  version: 1;
  /** The public deployment config (src/ledger/deploymentConfig.ts), as its canonical JSON object. */
  deployment: unknown;
  /** Registration time t of the TA's identities (ID = H1(id ‖ service ‖ t)). */
  registeredAtMs: number;
  /** Where the ledger's secrets live: a private data collection, or world state (test shortcut). */
  secrets: { store: 'private-data'; collection: string } | { store: 'world-state' };
  /** MSP ids allowed to call Restore; empty: any member of the channel. */
  operatorMspIds: string[];
}

/** The argument of InitLedger (the master secret travels in the transient map, never here). */
export interface InitLedgerArgs {
  deployment: unknown;
  registeredAtMs: number;
  /** A private data collection defined at deploy time (-cccg), or null for world state. */
  secretCollection: string | null;
  operatorMspIds?: string[];
}

/** Transient-map key of the TA's 32-byte master secret in InitLedger. */
export const MASTER_SECRET_TRANSIENT_KEY = 'masterSecret';

/** Builds InitLedger's JSON argument from a deployment config. */
export function encodeInitLedgerArgs(
  config: DeploymentConfig,
  opts: { registeredAtMs: number; secretCollection: string | null; operatorMspIds?: string[] },
): string {
  return canonicalJson({
    deployment: JSON.parse(encodeDeploymentConfig(config).toString('utf8')),
    registeredAtMs: opts.registeredAtMs,
    secretCollection: opts.secretCollection,
    operatorMspIds: opts.operatorMspIds ?? [],
  } satisfies InitLedgerArgs);
}

/** A composite-key attribute must be a non-empty UTF-8 string without U+0000 or U+10FFFF. */
function checkAttribute(s: unknown, what: string): asserts s is string {
  ensure(
    typeof s === 'string' &&
      s.length > 0 &&
      s.length <= 256 &&
      !s.includes('\u0000') &&
      !s.includes('\u{10ffff}'),
    `${what} must be 1..256 characters without U+0000 or U+10FFFF`,
    { what },
  );
}

/** Validates InitLedger's argument; returns the config to store and the decoded deployment. */
export function parseInitLedgerArgs(json: string): {
  config: ChaincodeConfig;
  deployment: DeploymentConfig;
} {
  let raw: InitLedgerArgs;
  try {
    raw = JSON.parse(json) as InitLedgerArgs;
  } catch (e) {
    throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, `InitLedger argument is not JSON: ${e}`);
  }
  ensure(typeof raw === 'object' && raw !== null, 'InitLedger argument must be an object');
  const deployment = decodeDeploymentConfig(Buffer.from(JSON.stringify(raw.deployment)));
  ensure(
    Number.isSafeInteger(raw.registeredAtMs) && raw.registeredAtMs >= 0,
    'registeredAtMs must be a non-negative integer',
  );
  if (raw.secretCollection !== null) checkAttribute(raw.secretCollection, 'secretCollection');
  const operators = raw.operatorMspIds ?? [];
  ensure(Array.isArray(operators), 'operatorMspIds must be an array');
  for (const m of operators) checkAttribute(m, 'an operator MSP id');
  for (const g of deployment.oems as readonly OemGrant[]) checkAttribute(g.name, 'an OEM name');
  ensure(
    new Set(deployment.oems.map((g) => g.name)).size === deployment.oems.length,
    'OEM names must be distinct',
  );
  // Paper-fresh query noise needs fresh randomness, which endorsers cannot agree on; seeding
  // it from the transaction id would hand the noise to whoever picks the id (the client).
  ensure(
    deployment.params.modes.queryNoise === 'derived',
    "the chaincode answers queries only with derived noise (modes.queryNoise = 'derived')",
  );
  return {
    deployment,
    config: {
      version: 1,
      // Stored re-encoded, so the stored form is canonical whatever the caller's spelling.
      deployment: JSON.parse(encodeDeploymentConfig(deployment).toString('utf8')),
      registeredAtMs: raw.registeredAtMs,
      secrets:
        raw.secretCollection === null
          ? { store: 'world-state' }
          : { store: 'private-data', collection: raw.secretCollection },
      operatorMspIds: [...operators].sort(),
    },
  };
}
