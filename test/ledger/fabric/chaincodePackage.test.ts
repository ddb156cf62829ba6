import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageChaincode } from '../../../src/ledger/fabric/packageChaincode.js';
import { TEST_CLIENT_CERT } from './memoryStub.js';

/**
 * The deployable artefact, loaded the way a peer's chaincode container loads it: a
 * CommonJS build, found through package.json's main by fabric-shim's bootstrap, registered
 * with ChaincodeFromContract, and asked for its metadata and a transaction.
 */
const PEER_SIDE = `
const Bootstrap = require('fabric-shim/lib/contract-spi/bootstrap.js');
const ChaincodeFromContract = require('fabric-shim/lib/contract-spi/chaincodefromcontract.js');
const [dir, cert] = process.argv.slice(2);
const { contracts, serializers, title, version } = Bootstrap.getInfoFromContract(dir);
const chaincode = new ChaincodeFromContract(contracts, serializers, {}, title, version);
const stub = (args) => ({
  getBufferArgs: () => args.map((a) => Buffer.from(a)),
  getTxID: () => 'tx1',
  getChannelID: () => 'mychannel',
  getCreator: () => ({ mspid: 'Org1MSP', idBytes: Buffer.from(cert) }),
  getState: async () => Buffer.alloc(0),
});
(async () => {
  const meta = await chaincode.invokeFunctionality(stub(['org.hyperledger.fabric:GetMetadata']));
  const health = await chaincode.invokeFunctionality(stub(['Health']));
  console.log(JSON.stringify({
    title, version,
    metaStatus: meta.status,
    transactions: JSON.parse(Buffer.from(meta.payload).toString()).contracts['privagg.maas'].transactions.map((t) => t.name),
    health: Buffer.from(health.payload).toString(),
  }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

describe('chaincode package', () => {
  const dir = mkdtempSync(join(tmpdir(), 'privagg-chaincode-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('builds to CommonJS that fabric-shim bootstraps: metadata and a transaction work', () => {
    const pkg = packageChaincode(join(dir, 'package'));
    const json = JSON.parse(readFileSync(join(pkg.dir, 'package.json'), 'utf8'));
    expect(json.scripts.start).toBe('fabric-chaincode-node start');
    expect(json.dependencies).toEqual({ 'fabric-contract-api': '2.5.7', 'fabric-shim': '2.5.8' });
    expect(json.type).toBeUndefined(); // CommonJS
    const script = join(dir, 'peer-side.cjs');
    writeFileSync(script, PEER_SIDE);
    const run = spawnSync(process.execPath, [script, pkg.dir, TEST_CLIENT_CERT], {
      encoding: 'utf8',
      env: {
        ...process.env,
        NODE_PATH: resolve('node_modules'),
        CORE_CHAINCODE_LOGGING_LEVEL: 'CRITICAL',
      },
    });
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    expect(out).toMatchObject({ title: 'privagg-chaincode', metaStatus: 200 });
    expect(out.transactions).toEqual(
      expect.arrayContaining(['InitLedger', 'Add', 'Restore', 'Query', 'Health']),
    );
    expect(JSON.parse(out.health)).toEqual({ initialised: false, ok: false });
  }, 120_000);
});
