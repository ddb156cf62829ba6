import { createPrivateKey } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  CommitError,
  type Contract,
  connect,
  GatewayError,
  hash,
  signers,
} from '@hyperledger/fabric-gateway';
import { ErrorCode, ensure } from '../../errors.js';
import type { AddResult, RestoreOutcome } from '../../schemes/maas/ledgerContract.js';
import type { QueryResult } from '../../schemes/maas/query.js';
import { MAX_MESSAGE_BYTES } from '../../wire/maas.js';
import type { DeploymentConfig } from '../deploymentConfig.js';
import type { LedgerCounters, LedgerHealth } from '../service.js';
import { LedgerClientError, LedgerClientErrorCode } from './errors.js';
import type { LedgerClient } from './ledgerClient.js';
import { encodeInitLedgerArgs, MASTER_SECRET_TRANSIENT_KEY } from './stateLayout.js';

/**
 * privagg's ledger client for Hyperledger Fabric, over @hyperledger/fabric-gateway 1.11
 * (the last line that runs on Node 20): Add, Restore and Query are submitted as
 * transactions to the MaaS chaincode (maasChaincode.ts) and wait for their commit; Health
 * is evaluated. Answers are the core's own AddResult / RestoreOutcome / QueryResult.
 *
 * Failures of the network are thrown as LedgerClientError with a stable code:
 *   LEDGER_UNAVAILABLE  no peer reached in time (gRPC UNAVAILABLE, DEADLINE_EXCEEDED,
 *                       CANCELLED), in any phase; details.outcomeUnknown when the
 *                       transaction may already be with the orderer;
 *   ENDORSEMENT_FAILED  peers refused to endorse or evaluate (chaincode error, policy);
 *   COMMIT_FAILED       endorsed but refused by the orderer or invalidated at validation
 *                       (MVCC and phantom-read conflicts are retried first, `retries` times:
 *                       an invalid transaction changed nothing, so resubmitting is safe);
 *   UNEXPECTED_RESPONSE the chaincode's answer is not what this client understands.
 */
export type FabricContract = Pick<Contract, 'submitTransaction' | 'evaluateTransaction' | 'submit'>;

export interface FabricLedgerClientOptions {
  contract: FabricContract;
  /** Evaluates qscc GetChainInfo on the channel, for health().height; without it height is 0. */
  chainInfo?: () => Promise<Uint8Array>;
  /** Resubmissions after an MVCC / phantom-read conflict (default 2). */
  retries?: number;
  /** Called by close() (closes the gateway and the gRPC connection it was built on). */
  onClose?: () => void;
}

/** TxValidationCode values after which resubmitting is safe and likely to succeed. */
const RETRYABLE_VALIDATION = new Set([
  11, // MVCC_READ_CONFLICT
  12, // PHANTOM_READ_CONFLICT
]);

const TRANSPORT_CODES = new Set<number>([
  grpc.status.UNAVAILABLE,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.CANCELLED,
]);

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

/** The first privagg ErrorCode named as "CODE: …" in the peers' messages, if any. */
function chaincodeCodeIn(texts: string[]): string | undefined {
  for (const t of texts) {
    for (const m of t.matchAll(/\b([A-Z][A-Z_]+):/g)) if (KNOWN_CODES.has(m[1]!)) return m[1];
  }
  return undefined;
}

/** Maps what fabric-gateway throws to a LedgerClientError; anything else is rethrown as is. */
export function mapGatewayError(e: unknown, transaction: string): never {
  if (e instanceof LedgerClientError) throw e;
  if (e instanceof CommitError) {
    throw new LedgerClientError(
      LedgerClientErrorCode.COMMIT_FAILED,
      `${transaction}: transaction ${e.transactionId} was invalidated (validation code ${e.code})`,
      { transaction, validationCode: e.code, transactionId: e.transactionId },
    );
  }
  if (e instanceof GatewayError) {
    const phase =
      e.name === 'EndorseError'
        ? 'endorse'
        : e.name === 'SubmitError'
          ? 'submit'
          : e.name === 'CommitStatusError'
            ? 'commit-status'
            : 'evaluate';
    const peers = e.details.map((d) => ({
      address: d.address,
      mspId: d.mspId,
      message: d.message,
    }));
    const transactionId = (e as { transactionId?: string }).transactionId;
    const details = { transaction, phase, grpcCode: e.code, transactionId, peers };
    if (TRANSPORT_CODES.has(e.code) || phase === 'commit-status') {
      throw new LedgerClientError(
        LedgerClientErrorCode.LEDGER_UNAVAILABLE,
        `${transaction}: no answer from the Fabric gateway (${phase}): ${e.message}`,
        // Past endorsement the transaction may have reached the orderer and still commit.
        { ...details, outcomeUnknown: phase === 'submit' || phase === 'commit-status' },
      );
    }
    if (phase === 'submit') {
      throw new LedgerClientError(
        LedgerClientErrorCode.COMMIT_FAILED,
        `${transaction}: the orderer refused the transaction: ${e.message}`,
        details,
      );
    }
    throw new LedgerClientError(
      LedgerClientErrorCode.ENDORSEMENT_FAILED,
      `${transaction}: peers refused to ${phase === 'endorse' ? 'endorse' : 'evaluate'} it: ${e.message}`,
      { ...details, chaincodeCode: chaincodeCodeIn([e.message, ...peers.map((p) => p.message)]) },
    );
  }
  throw e;
}

function parseJson(bytes: Uint8Array, transaction: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new LedgerClientError(
      LedgerClientErrorCode.UNEXPECTED_RESPONSE,
      `${transaction}: the chaincode's answer is not JSON`,
      { transaction, bytes: bytes.length },
    );
  }
}

function unexpected(transaction: string, what: string): LedgerClientError {
  return new LedgerClientError(
    LedgerClientErrorCode.UNEXPECTED_RESPONSE,
    `${transaction}: the chaincode's answer is not ${what}`,
    { transaction },
  );
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
const isRefusal = (x: Record<string, unknown>) =>
  x.ok === false && typeof x.code === 'string' && typeof x.reason === 'string';

/** Height of the chain from qscc GetChainInfo's BlockchainInfo (protobuf field 1, uint64). */
export function decodeChainHeight(info: Uint8Array): number {
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (i >= info.length || shift > 63n) throw new Error('truncated varint');
      const b = info[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
    }
  };
  while (i < info.length) {
    const tag = Number(varint());
    const field = tag >> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 0) return Number(varint());
    if (wire === 0) varint();
    else if (wire === 2) {
      const length = Number(varint()); // read before `i +=` reads i
      i += length;
    } else throw new Error(`unexpected wire type ${wire}`);
  }
  return 0; // proto3 omits a zero height
}

export class FabricLedgerClient implements LedgerClient {
  private readonly contract: FabricContract;
  private readonly retries: number;
  private readonly counts: LedgerCounters = {
    partialsAccepted: 0,
    queriesAnswered: 0,
    rejected: {},
    blocks: 0,
    transactions: 0,
  };

  constructor(private readonly options: FabricLedgerClientOptions) {
    this.contract = options.contract;
    this.retries = options.retries ?? 2;
  }

  /** Submits and waits for the commit; resubmits after MVCC / phantom-read conflicts. */
  private async submit(name: string, ...args: string[]): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        const out = await this.contract.submitTransaction(name, ...args);
        this.counts.transactions++;
        return parseJson(out, name);
      } catch (e) {
        if (e instanceof CommitError && RETRYABLE_VALIDATION.has(e.code) && attempt < this.retries)
          continue;
        mapGatewayError(e, name);
      }
    }
  }

  private async evaluate(name: string, ...args: string[]): Promise<unknown> {
    try {
      return parseJson(await this.contract.evaluateTransaction(name, ...args), name);
    } catch (e) {
      mapGatewayError(e, name);
    }
  }

  private refused<T extends { ok: false; code: ErrorCode }>(r: T): T {
    this.counts.rejected[r.code] = (this.counts.rejected[r.code] ?? 0) + 1;
    return r;
  }

  /**
   * Stores the deployment on a fresh chaincode. The TA's master secret goes in the
   * transient map: it is not recorded in the block (docs/FABRIC.md says where it does go).
   */
  async initLedger(
    config: DeploymentConfig,
    opts: {
      masterSecret: Uint8Array;
      registeredAtMs: number;
      secretCollection: string | null;
      operatorMspIds?: string[];
    },
  ): Promise<Record<string, unknown>> {
    const args = encodeInitLedgerArgs(config, opts);
    try {
      const out = await this.contract.submit('InitLedger', {
        arguments: [args],
        transientData: { [MASTER_SECRET_TRANSIENT_KEY]: opts.masterSecret },
      });
      const res = parseJson(out, 'InitLedger');
      if (!isObject(res)) throw unexpected('InitLedger', 'an object');
      return res;
    } catch (e) {
      mapGatewayError(e, 'InitLedger');
    }
  }

  async addPartial(bytes: Uint8Array): Promise<AddResult> {
    if (bytes.length > MAX_MESSAGE_BYTES) {
      return this.refused({
        ok: false,
        code: ErrorCode.OVERSIZED_MESSAGE,
        reason: 'partial too large',
      });
    }
    const res = await this.submit('Add', Buffer.from(bytes).toString('base64'));
    if (!isObject(res)) throw unexpected('Add', 'an AddResult');
    if (isRefusal(res)) return this.refused(res as Extract<AddResult, { ok: false }>);
    if (res.ok !== true || typeof res.gateway !== 'number') throw unexpected('Add', 'an AddResult');
    this.counts.partialsAccepted++;
    return res as AddResult;
  }

  async restore(ian: number, round: number): Promise<RestoreOutcome> {
    ensure(
      Number.isInteger(ian) && ian >= 0 && Number.isInteger(round) && round >= 0,
      'Restore: ian and round must be non-negative integers',
      { ian, round },
    );
    const res = await this.submit('Restore', String(ian), String(round));
    if (
      !isObject(res) ||
      !['restored', 'reconcile', 'failed'].includes(res.status as string) ||
      res.ian !== ian ||
      res.round !== round
    ) {
      throw unexpected('Restore', 'a RestoreOutcome of this IAN-round');
    }
    const receipt = res as RestoreOutcome;
    // With a private data collection the recorded response carries no estimates (the block
    // is readable by every channel member): read them by evaluation, which records nothing.
    if (receipt.status !== 'restored' || receipt.estimates.length > 0) return receipt;
    const full = await this.outcome(ian, round);
    if (full?.status !== 'restored') throw unexpected('GetOutcome', 'the restored outcome');
    return full;
  }

  async query(bytes: Uint8Array): Promise<QueryResult> {
    if (bytes.length > MAX_MESSAGE_BYTES) {
      return this.refused({
        ok: false,
        code: ErrorCode.OVERSIZED_MESSAGE,
        reason: 'query too large',
      });
    }
    const res = await this.submit('Query', Buffer.from(bytes).toString('base64'));
    if (!isObject(res)) throw unexpected('Query', 'a QueryResult');
    if (isRefusal(res)) return this.refused(res as Extract<QueryResult, { ok: false }>);
    if (res.ok !== true || !isObject(res.answer)) throw unexpected('Query', 'a QueryResult');
    this.counts.queriesAnswered++;
    return res as QueryResult;
  }

  /** The stored final outcome of (IAN, round), or null (evaluated: nothing is recorded). */
  async outcome(ian: number, round: number): Promise<RestoreOutcome | null> {
    return (await this.evaluate('GetOutcome', String(ian), String(round))) as RestoreOutcome | null;
  }

  /** Each Add/Restore/Query already waited for its commit: nothing is pending here. */
  async flush(): Promise<void> {}

  /**
   * The chaincode's own view (initialised, deployment, newest final round) and the chain
   * height; throws LedgerClientError when the network cannot be asked.
   */
  async status(): Promise<{
    ok: boolean;
    initialised: boolean;
    deployment?: string;
    latestFinalRound?: number;
    height: number;
  }> {
    const res = await this.evaluate('Health');
    if (!isObject(res) || typeof res.ok !== 'boolean')
      throw unexpected('Health', 'a health report');
    let height = 0;
    if (this.options.chainInfo) {
      try {
        height = decodeChainHeight(await this.options.chainInfo());
      } catch (e) {
        mapGatewayError(e, 'GetChainInfo');
      }
    }
    return { ...(res as { ok: boolean; initialised: boolean }), height };
  }

  /** LedgerHealth for dashboards: never throws; ok is false when the ledger cannot be asked. */
  async health(): Promise<LedgerHealth> {
    try {
      const s = await this.status();
      return { ok: s.ok, height: s.height, pendingTransactions: 0 };
    } catch {
      return { ok: false, height: 0, pendingTransactions: 0 };
    }
  }

  counters(): LedgerCounters {
    return { ...this.counts, rejected: { ...this.counts.rejected } };
  }

  async close(): Promise<void> {
    this.options.onClose?.();
  }
}

// ── Connecting ─────────────────────────────────────────────────────────────────

export interface FabricConnectionSettings {
  /** host:port of a peer's gateway service, e.g. localhost:7051. */
  peerEndpoint: string;
  /** TLS server name when it differs from the endpoint's host (peer0.org1.example.com). */
  hostAlias?: string;
  /** PEM of the CA that signed the peer's TLS certificate; null only for plaintext test servers. */
  tlsRootCert: Uint8Array | null;
  mspId: string;
  /** PEM X.509 certificate of the client identity. */
  certificate: Uint8Array;
  /** PEM private key of that identity (EC P-256/P-384 or Ed25519). */
  privateKey: Uint8Array;
  channel: string;
  chaincode: string;
  timeoutsMs?: Partial<{ evaluate: number; endorse: number; submit: number; commitStatus: number }>;
  retries?: number;
}

export const DEFAULT_TIMEOUTS_MS = {
  evaluate: 5_000,
  endorse: 15_000,
  submit: 5_000,
  commitStatus: 60_000,
};

/** Opens a gRPC connection to the peer and a FabricLedgerClient over it (connections are lazy). */
export function connectFabricLedger(s: FabricConnectionSettings): FabricLedgerClient {
  const credentials = s.tlsRootCert
    ? grpc.credentials.createSsl(Buffer.from(s.tlsRootCert))
    : grpc.credentials.createInsecure();
  const client = new grpc.Client(
    s.peerEndpoint,
    credentials,
    s.hostAlias ? { 'grpc.ssl_target_name_override': s.hostAlias } : {},
  );
  const t = { ...DEFAULT_TIMEOUTS_MS, ...s.timeoutsMs };
  const gateway = connect({
    client,
    identity: { mspId: s.mspId, credentials: s.certificate },
    signer: signers.newPrivateKeySigner(createPrivateKey(Buffer.from(s.privateKey))),
    hash: hash.sha256,
    evaluateOptions: () => ({ deadline: Date.now() + t.evaluate }),
    endorseOptions: () => ({ deadline: Date.now() + t.endorse }),
    submitOptions: () => ({ deadline: Date.now() + t.submit }),
    commitStatusOptions: () => ({ deadline: Date.now() + t.commitStatus }),
  });
  const network = gateway.getNetwork(s.channel);
  const qscc = network.getContract('qscc');
  return new FabricLedgerClient({
    contract: network.getContract(s.chaincode),
    chainInfo: () => qscc.evaluateTransaction('GetChainInfo', s.channel),
    retries: s.retries,
    onClose: () => {
      gateway.close();
      client.close();
    },
  });
}

/** A PEM file, or the only file of a directory (an MSP's signcerts/ or keystore/). */
function readPem(path: string): Buffer {
  if (!statSync(path).isDirectory()) return readFileSync(path);
  const files = readdirSync(path).filter((f) => !f.startsWith('.'));
  if (files.length !== 1)
    throw new Error(`${path}: expected exactly one file, found ${files.length}`);
  return readFileSync(join(path, files[0]!));
}

/**
 * Connection settings from the environment (docs/FABRIC.md lists the variables). Paths
 * may name a file or an MSP folder holding one file (signcerts/, keystore/).
 */
export function fabricSettingsFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): FabricConnectionSettings {
  const need = (name: string) => {
    const v = env[name];
    if (!v) throw new Error(`${name} is not set (see docs/FABRIC.md)`);
    return v;
  };
  const insecure = env.PRIVAGG_FABRIC_INSECURE === '1';
  const tls = env.PRIVAGG_FABRIC_TLS_CERT;
  if (!tls && !insecure) {
    throw new Error('PRIVAGG_FABRIC_TLS_CERT is not set (PRIVAGG_FABRIC_INSECURE=1 for plaintext)');
  }
  return {
    peerEndpoint: need('PRIVAGG_FABRIC_PEER_ENDPOINT'),
    hostAlias: env.PRIVAGG_FABRIC_PEER_HOST_ALIAS || undefined,
    tlsRootCert: tls ? readPem(tls) : null,
    mspId: need('PRIVAGG_FABRIC_MSP_ID'),
    certificate: readPem(need('PRIVAGG_FABRIC_CERT')),
    privateKey: readPem(need('PRIVAGG_FABRIC_KEY')),
    channel: env.PRIVAGG_FABRIC_CHANNEL || 'mychannel',
    chaincode: env.PRIVAGG_FABRIC_CHAINCODE || 'privagg',
  };
}
