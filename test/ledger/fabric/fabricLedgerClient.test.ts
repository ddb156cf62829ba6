import './quietFabricLogs.js';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CommitError, EndorseError, type ProposalOptions } from '@hyperledger/fabric-gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/ledger/canonicalJson.js';
import { isLedgerClientError } from '../../../src/ledger/fabric/errors.js';
import {
  connectFabricLedger,
  decodeChainHeight,
  type FabricConnectionSettings,
  type FabricContract,
  FabricLedgerClient,
  fabricSettingsFromEnv,
} from '../../../src/ledger/fabric/fabricLedgerClient.js';
import {
  embeddedLedgerClient,
  type LedgerClient,
} from '../../../src/ledger/fabric/ledgerClient.js';
import type { LedgerService } from '../../../src/ledger/service.js';
import { buildQuery, dimensionMask } from '../../../src/schemes/maas/query.js';
import {
  deterministicRng,
  MASTER_SECRET,
  makeDeployment,
  NEVER,
  OEMS,
  roundOf,
  T0,
} from './fixtures.js';
import {
  invoke,
  loadChaincode,
  MemoryWorldState,
  TEST_CLIENT_CERT,
  type TxSpec,
} from './memoryStub.js';

const clientKeyPem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

function settings(endpoint: string, timeoutMs = 1_500): FabricConnectionSettings {
  return {
    peerEndpoint: endpoint,
    tlsRootCert: null,
    mspId: 'Org1MSP',
    certificate: Buffer.from(TEST_CLIENT_CERT),
    privateKey: Buffer.from(clientKeyPem),
    channel: 'mychannel',
    chaincode: 'privagg',
    timeoutsMs: {
      evaluate: timeoutMs,
      endorse: timeoutMs,
      submit: timeoutMs,
      commitStatus: timeoutMs,
    },
  };
}

/** A TCP port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

const partialBytes = () => {
  const dep = makeDeployment();
  return roundOf(dep, 0, 0, deterministicRng('client')).partials.get(1)!;
};

describe('Fabric client: error paths over real gRPC, without a Fabric network', () => {
  it('peer unreachable (closed port): LEDGER_UNAVAILABLE, quickly; health() says not ok', async () => {
    const client = connectFabricLedger(settings(`127.0.0.1:${await closedPort()}`));
    const started = Date.now();
    const err = await client.addPartial(partialBytes()).catch((e) => e);
    expect(isLedgerClientError(err, 'LEDGER_UNAVAILABLE'), String(err)).toBe(true);
    expect(err.details).toMatchObject({
      transaction: 'Add',
      phase: 'endorse',
      outcomeUnknown: false,
    });
    expect([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]).toContain(
      err.details.grpcCode,
    );
    await expect(client.status()).rejects.toMatchObject({
      code: 'LEDGER_UNAVAILABLE',
      details: { phase: 'evaluate' },
    });
    expect(await client.health()).toEqual({ ok: false, height: 0, pendingTransactions: 0 });
    expect(Date.now() - started).toBeLessThan(10_000);
    await client.close();
  });

  describe('against a stub Gateway service that refuses', () => {
    let server: grpc.Server;
    let port: number;
    const raw = (path: string) => ({
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    });
    let endorseStatus: { code: grpc.status; details: string };

    beforeAll(async () => {
      server = new grpc.Server();
      server.addService(
        {
          Endorse: raw('/gateway.Gateway/Endorse'),
          Evaluate: raw('/gateway.Gateway/Evaluate'),
        },
        {
          // What a gateway peer answers when the chaincode fails the proposal.
          Endorse: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(endorseStatus),
          // A peer that accepts the call and never answers (the client's deadline must fire).
          Evaluate: () => {},
        },
      );
      port = await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
          e ? reject(e) : resolve(p),
        ),
      );
    });
    afterAll(() => server.forceShutdown());

    it('endorsement failure: ENDORSEMENT_FAILED, with the chaincode’s own code', async () => {
      endorseStatus = {
        code: grpc.status.ABORTED,
        details:
          'failed to endorse transaction: chaincode response 500, INVALID_ARGUMENT: the ledger is not initialised: submit InitLedger first',
      };
      const client = connectFabricLedger(settings(`127.0.0.1:${port}`));
      const err = await client.addPartial(partialBytes()).catch((e) => e);
      expect(isLedgerClientError(err, 'ENDORSEMENT_FAILED'), String(err)).toBe(true);
      expect(err.details).toMatchObject({
        transaction: 'Add',
        phase: 'endorse',
        grpcCode: grpc.status.ABORTED,
        chaincodeCode: 'INVALID_ARGUMENT',
      });
      expect(err.details.transactionId).toMatch(/^[0-9a-f]{64}$/);
      await client.close();
    });

    it('a peer that reports itself unavailable, or never answers: LEDGER_UNAVAILABLE', async () => {
      endorseStatus = { code: grpc.status.UNAVAILABLE, details: 'no peers available to endorse' };
      const client = connectFabricLedger(settings(`127.0.0.1:${port}`, 800));
      await expect(client.restore(0, 0)).rejects.toMatchObject({
        code: 'LEDGER_UNAVAILABLE',
        details: { phase: 'endorse', grpcCode: grpc.status.UNAVAILABLE },
      });
      await expect(client.status()).rejects.toMatchObject({
        code: 'LEDGER_UNAVAILABLE',
        details: { phase: 'evaluate', grpcCode: grpc.status.DEADLINE_EXCEEDED },
      });
      await client.close();
    });
  });
});

/**
 * A fabric-gateway Contract stand-in that runs the chaincode on an in-memory ledger (one
 * "peer"), turning chaincode errors into the EndorseError a real gateway would raise.
 */
class InMemoryContract implements FabricContract {
  readonly chaincode = loadChaincode();
  readonly world = new MemoryWorldState();
  now = T0;
  mspId = 'Org1MSP';
  private seq = 0;

  private async run(
    name: string,
    args: string[],
    transient?: Record<string, Uint8Array>,
    commit = true,
  ) {
    const spec: TxSpec = {
      txId: `mem${++this.seq}`,
      timestampMs: this.now,
      args: [name, ...args],
      transient,
      mspId: this.mspId,
    };
    const out = await invoke(
      this.chaincode,
      commit ? this.world : structuredCloneWorld(this.world),
      spec,
    );
    if (out.status !== 200) {
      const message = `chaincode response ${out.status}, ${out.message}`;
      const cause = Object.assign(new Error(message), {
        code: grpc.status.ABORTED,
        details: message,
        metadata: new grpc.Metadata(),
      });
      throw new EndorseError({
        code: grpc.status.ABORTED,
        details: [{ address: 'memory:7051', mspId: 'Org1MSP', message }],
        cause,
        transactionId: spec.txId,
        message: `10 ABORTED: failed to endorse transaction, see attached details for more info`,
      });
    }
    return Buffer.from(out.payload);
  }

  async submitTransaction(name: string, ...args: Array<string | Uint8Array>) {
    return this.run(name, args.map(String));
  }

  async evaluateTransaction(name: string, ...args: Array<string | Uint8Array>) {
    return this.run(name, args.map(String), undefined, false);
  }

  async submit(name: string, options?: ProposalOptions) {
    const transient = Object.fromEntries(
      Object.entries(options?.transientData ?? {}).map(([k, v]) => [k, Buffer.from(v)]),
    );
    return this.run(name, (options?.arguments ?? []).map(String), transient);
  }
}

/** Evaluation must not change state: run it on a copy. */
function structuredCloneWorld(w: MemoryWorldState): MemoryWorldState {
  const copy = new MemoryWorldState();
  for (const [k, v] of w.state) copy.state.set(k, v);
  for (const [c, m] of w.privateData) for (const [k, v] of m) copy.collection(c).set(k, v);
  return copy;
}

describe('Fabric client over the chaincode (in-memory contract)', () => {
  it('InitLedger, Add, Restore, Query and Health round-trip to the core’s answers', async () => {
    const dep = makeDeployment();
    const core = dep.ledger();
    const contract = new InMemoryContract();
    // qscc's BlockchainInfo: height 7 (field 1), then a 2-byte hash (field 2).
    const client = new FabricLedgerClient({
      contract,
      chainInfo: async () => Uint8Array.from([0x08, 0x07, 0x12, 0x02, 0xab, 0xcd]),
    });
    expect(await client.status()).toMatchObject({ ok: false, initialised: false, height: 7 });
    const init = await client.initLedger(
      { params: dep.params, oems: OEMS },
      {
        masterSecret: MASTER_SECRET,
        registeredAtMs: T0 - 1,
        secretCollection: 'c',
        operatorMspIds: ['Org1MSP'],
      },
    );
    expect(init).toMatchObject({ deployment: 'fabric-test', oems: ['oem-acme', 'oem-limited'] });

    const rng = deterministicRng('client-roundtrip');
    for (const ian of [0, 1]) {
      const { partials, nowMs } = roundOf(dep, ian, 0, rng);
      contract.now = nowMs + 1_000;
      for (const p of partials.values()) {
        expect(await client.addPartial(p)).toEqual(core.contract.add(p, contract.now));
      }
      expect(await client.addPartial(partials.get(1)!)).toMatchObject({ code: 'REPLAY' });
      contract.now = nowMs + 2_000;
      expect(await client.restore(ian, 0)).toEqual(core.contract.restore(ian, 0));
    }
    expect(await client.outcome(1, 0)).toEqual(core.contract.restoredOf(1, 0));
    contract.now = T0 + 10_000;
    const q = buildQuery(dep.params, dep.registry.oemKey(0), {
      number: 1,
      startRound: 0,
      endRound: 0,
      dimensionMask: dimensionMask([0, 1]),
      timestamp: contract.now,
    });
    const answer = await client.query(q);
    expect(canonicalJson(answer)).toBe(canonicalJson(core.queries.query(q, contract.now, NEVER)));
    expect(await client.query(Buffer.alloc(3))).toMatchObject({ ok: false });
    expect(await client.health()).toEqual({ ok: true, height: 7, pendingTransactions: 0 });
    expect(client.counters()).toMatchObject({
      partialsAccepted: 10,
      queriesAnswered: 1,
      rejected: { REPLAY: 2, UNSUPPORTED_VERSION: 1 },
    });

    // A chaincode error (an MSP without the operator role) surfaces as ENDORSEMENT_FAILED.
    contract.mspId = 'Org2MSP';
    await expect(client.restore(0, 1)).rejects.toMatchObject({
      code: 'ENDORSEMENT_FAILED',
      details: { phase: 'endorse', chaincodeCode: 'ACCESS_DENIED' },
    });
  });

  it('retries MVCC / phantom-read conflicts; other invalidations are COMMIT_FAILED', async () => {
    const conflicts: number[] = [11, 12];
    let calls = 0;
    const fake: FabricContract = {
      async submitTransaction(_name, ..._args) {
        calls++;
        const code = conflicts.shift();
        if (code !== undefined)
          throw new CommitError({ code: code as 11, transactionId: `t${calls}` });
        return Buffer.from('{"ok":true,"ian":0,"round":0,"gateway":1,"attempt":0}');
      },
      async evaluateTransaction() {
        return Buffer.from('{}');
      },
      async submit() {
        return Buffer.from('{}');
      },
    };
    const client = new FabricLedgerClient({ contract: fake, retries: 2 });
    expect(await client.addPartial(partialBytes())).toMatchObject({ ok: true, gateway: 1 });
    expect(calls).toBe(3);

    calls = 0;
    conflicts.push(10); // ENDORSEMENT_POLICY_FAILURE: resubmitting would not help
    await expect(client.addPartial(partialBytes())).rejects.toMatchObject({
      code: 'COMMIT_FAILED',
      details: { validationCode: 10 },
    });
    expect(calls).toBe(1);

    calls = 0;
    conflicts.push(11, 11, 11);
    await expect(client.addPartial(partialBytes())).rejects.toMatchObject({
      code: 'COMMIT_FAILED',
      details: { validationCode: 11 },
    });
    expect(calls).toBe(3);
  });

  it('an answer it cannot read is UNEXPECTED_RESPONSE, not a crash', async () => {
    const fake: FabricContract = {
      async submitTransaction() {
        return Buffer.from('<html>');
      },
      async evaluateTransaction() {
        return Buffer.from('"up"');
      },
      async submit() {
        return Buffer.from('[]');
      },
    };
    const client = new FabricLedgerClient({ contract: fake });
    await expect(client.addPartial(partialBytes())).rejects.toMatchObject({
      code: 'UNEXPECTED_RESPONSE',
    });
    await expect(client.status()).rejects.toMatchObject({ code: 'UNEXPECTED_RESPONSE' });
  });
});

describe('Fabric client plumbing', () => {
  it('decodes the chain height from qscc GetChainInfo', () => {
    expect(decodeChainHeight(Uint8Array.from([0x12, 0x01, 0x00, 0x08, 0xac, 0x02]))).toBe(300);
    expect(decodeChainHeight(new Uint8Array())).toBe(0);
    expect(() => decodeChainHeight(Uint8Array.from([0x08, 0x80]))).toThrow();
  });

  it('reads connection settings from the environment (files or MSP folders)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'privagg-fabric-'));
    try {
      mkdirSync(join(dir, 'keystore'));
      writeFileSync(join(dir, 'keystore', 'abc_sk'), clientKeyPem);
      writeFileSync(join(dir, 'cert.pem'), TEST_CLIENT_CERT);
      writeFileSync(join(dir, 'ca.crt'), TEST_CLIENT_CERT);
      const env = {
        PRIVAGG_FABRIC_PEER_ENDPOINT: 'localhost:7051',
        PRIVAGG_FABRIC_PEER_HOST_ALIAS: 'peer0.org1.example.com',
        PRIVAGG_FABRIC_TLS_CERT: join(dir, 'ca.crt'),
        PRIVAGG_FABRIC_MSP_ID: 'Org1MSP',
        PRIVAGG_FABRIC_CERT: join(dir, 'cert.pem'),
        PRIVAGG_FABRIC_KEY: join(dir, 'keystore'),
      };
      const s = fabricSettingsFromEnv(env);
      expect(s).toMatchObject({
        peerEndpoint: 'localhost:7051',
        channel: 'mychannel',
        chaincode: 'privagg',
      });
      expect(s.privateKey.toString()).toBe(clientKeyPem);
      expect(() => fabricSettingsFromEnv({ ...env, PRIVAGG_FABRIC_TLS_CERT: undefined })).toThrow(
        /TLS/,
      );
      expect(
        fabricSettingsFromEnv({ ...env, PRIVAGG_FABRIC_TLS_CERT: '', PRIVAGG_FABRIC_INSECURE: '1' })
          .tlsRootCert,
      ).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the embedded store as a LedgerClient: an operator restore it refuses is thrown with its code', async () => {
    const asClient: (s: LedgerService) => LedgerClient = embeddedLedgerClient;
    const refusing = {
      restore: async () => ({
        ok: false as const,
        code: 'WRONG_ROUND' as const,
        reason: 'already final',
      }),
    } as unknown as LedgerService;
    await expect(asClient(refusing).restore(0, 0)).rejects.toMatchObject({ code: 'WRONG_ROUND' });
    const outcome = { status: 'failed' as const, ian: 0, round: 0, reason: 'no partial arrived' };
    const accepting = {
      restore: async () => ({ ok: true as const, outcome }),
    } as unknown as LedgerService;
    await expect(asClient(accepting).restore(0, 0)).resolves.toEqual(outcome);
  });
});
