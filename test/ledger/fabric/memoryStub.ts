import './quietFabricLogs.js';
import { createRequire } from 'node:module';
import { contracts, serializers } from '../../../src/ledger/fabric/chaincodeIndex.js';
import type { ChaincodeStub } from '../../../src/ledger/fabric/stateLayout.js';

/**
 * An in-memory ChaincodeStub, after the fabric-samples convention of unit-testing
 * chaincode against a Map-backed stub instead of a network. It behaves like a peer's
 * simulation in the ways that matter to determinism tests:
 *  - reads see committed state only (Fabric has no read-your-writes inside a transaction);
 *  - every put/delete is recorded, in order, as the transaction's write set, and applied
 *    to the world state only when the transaction succeeds;
 *  - range scans return keys in order, composite keys are built exactly as fabric-shim's;
 *  - reads are recorded too (point and range), to show which keys a transaction depends on.
 * What it does not do: ordering, MVCC validation, endorsement policies, identities beyond
 * a fixed certificate, private-data dissemination (see docs/FABRIC.md).
 */
export interface WriteRecord {
  /** Private data collection, or undefined for world state. */
  collection?: string;
  key: string;
  /** null: delete. */
  value: Buffer | null;
}

export type ReadRecord =
  | { kind: 'get'; collection?: string; key: string }
  | { kind: 'range'; collection?: string; start: string; end: string };

export interface TxSpec {
  txId: string;
  timestampMs: number;
  /** Function name then its string arguments. */
  args?: string[];
  transient?: Record<string, Uint8Array>;
  mspId?: string;
  channel?: string;
}

const COMPOSITE_NS = '\x00';
const MIN_RUNE = '\u0000';
const MAX_RUNE = '\u{10ffff}';

/** A self-signed P-256 test certificate (public part only): ClientIdentity parses the creator. */
export const TEST_CLIENT_CERT = `-----BEGIN CERTIFICATE-----
MIICBTCCAaugAwIBAgIUTN6bzFbnWyg3coqyw37eGDyDDzAwCgYIKoZIzj0EAwIw
VzELMAkGA1UEBhMCVVMxGTAXBgNVBAoMEG9yZzEuZXhhbXBsZS5jb20xDzANBgNV
BAsMBmNsaWVudDEcMBoGA1UEAwwTcHJpdmFnZy10ZXN0LWNsaWVudDAgFw0yNjEx
MjIwMDEwMTBaGA8yMTI2MTAyOTAwMTAxMFowVzELMAkGA1UEBhMCVVMxGTAXBgNV
BAoMEG9yZzEuZXhhbXBsZS5jb20xDzANBgNVBAsMBmNsaWVudDEcMBoGA1UEAwwT
cHJpdmFnZy10ZXN0LWNsaWVudDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABMjz
i79iJ4Jz57BMHMrH/a0JyNhILV7H687o3cIgktKIfEDFnN7+tlBMcOfqvAr0S6yL
n1qz1J1fHUZSAtVU4WGjUzBRMB0GA1UdDgQWBBTf++hZQki7NgidZuL5D4o1O7MY
QzAfBgNVHSMEGDAWgBTf++hZQki7NgidZuL5D4o1O7MYQzAPBgNVHRMBAf8EBTAD
AQH/MAoGCCqGSM49BAMCA0gAMEUCIQCQhERKCVQ28x+2XJdKY4AFI8dwnjX1Ms26
IXr8bejswgIgRzko/rfS8e6R/o8ZuIOaqlNTGrZgQieNeRWRkUm+Mv4=
-----END CERTIFICATE-----
`;

export class MemoryWorldState {
  readonly state = new Map<string, Buffer>();
  readonly privateData = new Map<string, Map<string, Buffer>>();
  /** Committed transactions' write sets, in commit order. */
  readonly history: { txId: string; writes: WriteRecord[] }[] = [];

  apply(txId: string, writes: readonly WriteRecord[]): void {
    for (const w of writes) {
      const map = w.collection === undefined ? this.state : this.collection(w.collection);
      if (w.value === null) map.delete(w.key);
      else map.set(w.key, w.value);
    }
    this.history.push({ txId, writes: [...writes] });
  }

  collection(name: string): Map<string, Buffer> {
    let m = this.privateData.get(name);
    if (!m) {
      m = new Map();
      this.privateData.set(name, m);
    }
    return m;
  }
}

function checkAttribute(a: unknown): void {
  if (typeof a !== 'string' || a.length === 0) {
    throw new Error('object type or attribute not a non-zero length string');
  }
}

export class MemoryStub {
  readonly writes: WriteRecord[] = [];
  readonly reads: ReadRecord[] = [];

  constructor(
    readonly world: MemoryWorldState,
    readonly tx: TxSpec,
  ) {}

  // ── state ──
  async getState(key: string): Promise<Uint8Array> {
    this.reads.push({ kind: 'get', key });
    return Uint8Array.from(this.world.state.get(key) ?? []);
  }

  async putState(key: string, value: Uint8Array): Promise<void> {
    // Fabric treats an empty value as a delete; chaincode that means to write never sends one.
    if (value.length === 0) throw new Error(`putState(${JSON.stringify(key)}) with an empty value`);
    this.writes.push({ key, value: Buffer.from(value) });
  }

  async deleteState(key: string): Promise<void> {
    this.writes.push({ key, value: null });
  }

  getStateByRange(startKey: string, endKey: string) {
    this.reads.push({ kind: 'range', start: startKey, end: endKey });
    const rows = [...this.world.state.entries()]
      .filter(([k]) => k >= startKey && (endKey === '' || k < endKey))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, value]) => ({ namespace: 'privagg', key, value: Uint8Array.from(value) }));
    return asyncIterablePromise(rows);
  }

  getStateByPartialCompositeKey(objectType: string, attributes: string[]) {
    const start = this.createCompositeKey(objectType, attributes);
    return this.getStateByRange(start, start + MAX_RUNE);
  }

  createCompositeKey(objectType: string, attributes: string[]): string {
    checkAttribute(objectType);
    if (!Array.isArray(attributes)) throw new Error('attributes must be an array');
    let key = COMPOSITE_NS + objectType + MIN_RUNE;
    for (const a of attributes) {
      checkAttribute(a);
      key += a + MIN_RUNE;
    }
    return key;
  }

  splitCompositeKey(compositeKey: string): { objectType: string | null; attributes: string[] } {
    const result: { objectType: string | null; attributes: string[] } = {
      objectType: null,
      attributes: [],
    };
    if (compositeKey.length > 1 && compositeKey.charAt(0) === COMPOSITE_NS) {
      const parts = compositeKey.substring(1).split(MIN_RUNE);
      result.objectType = parts[0]!;
      parts.pop();
      if (parts.length > 1) {
        parts.shift();
        result.attributes = parts;
      }
    }
    return result;
  }

  // ── private data ──
  async getPrivateData(collection: string, key: string): Promise<Uint8Array> {
    this.reads.push({ kind: 'get', collection, key });
    return Uint8Array.from(this.world.privateData.get(collection)?.get(key) ?? []);
  }

  async putPrivateData(collection: string, key: string, value: Uint8Array): Promise<void> {
    if (value.length === 0) throw new Error('putPrivateData with an empty value');
    this.writes.push({ collection, key, value: Buffer.from(value) });
  }

  getPrivateDataByPartialCompositeKey(
    collection: string,
    objectType: string,
    attributes: string[],
  ) {
    const start = this.createCompositeKey(objectType, attributes);
    const end = start + MAX_RUNE;
    this.reads.push({ kind: 'range', collection, start, end });
    const rows = [...(this.world.privateData.get(collection)?.entries() ?? [])]
      .filter(([k]) => k >= start && k < end)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, value]) => ({ namespace: 'privagg', key, value: Uint8Array.from(value) }));
    return asyncIterablePromise(rows);
  }

  async deletePrivateData(collection: string, key: string): Promise<void> {
    this.writes.push({ collection, key, value: null });
  }

  // ── transaction ──
  getTxID(): string {
    return this.tx.txId;
  }

  getChannelID(): string {
    return this.tx.channel ?? 'mychannel';
  }

  getTxTimestamp() {
    const seconds = Math.floor(this.tx.timestampMs / 1000);
    const nanos = (this.tx.timestampMs % 1000) * 1_000_000;
    // fabric-shim returns a Long; the chaincode only calls toString() on it.
    const long = { low: seconds | 0, high: 0, unsigned: true, toString: () => String(seconds) };
    return { seconds: long, nanos } as unknown as ReturnType<ChaincodeStub['getTxTimestamp']>;
  }

  getDateTimestamp(): Date {
    return new Date(this.tx.timestampMs);
  }

  getTransient(): Map<string, Uint8Array> {
    return new Map(Object.entries(this.tx.transient ?? {}));
  }

  getCreator(): { mspid: string; idBytes: Uint8Array } {
    return { mspid: this.tx.mspId ?? 'Org1MSP', idBytes: Buffer.from(TEST_CLIENT_CERT) };
  }

  getMspID(): string {
    return this.tx.mspId ?? 'Org1MSP';
  }

  getBufferArgs(): Buffer[] {
    return (this.tx.args ?? []).map((a) => Buffer.from(a, 'utf8'));
  }

  getArgs(): string[] {
    return [...(this.tx.args ?? [])];
  }

  getStringArgs(): string[] {
    return this.getArgs();
  }

  getFunctionAndParameters(): { fcn: string; params: string[] } {
    const [fcn = '', ...params] = this.tx.args ?? [];
    return { fcn, params };
  }

  /** Applies the write set to the world state (what a valid commit does). */
  commit(): void {
    this.world.apply(this.tx.txId, this.writes);
  }

  /** This stub, typed as the chaincode sees it (the subset it uses is implemented). */
  asChaincodeStub(): ChaincodeStub {
    return this as unknown as ChaincodeStub;
  }
}

/** fabric-shim's iterator shape: a promise of an iterator that is also async-iterable. */
function asyncIterablePromise<T>(rows: T[]) {
  let i = 0;
  const iterator = {
    async next() {
      return i < rows.length
        ? { value: rows[i++]!, done: false as const }
        : { value: undefined, done: true as const };
    },
    async close() {},
  };
  const promise = Promise.resolve(iterator) as Promise<typeof iterator> & AsyncIterable<T>;
  promise[Symbol.asyncIterator] = async function* () {
    yield* rows;
  };
  return promise;
}

// ── Running transactions through fabric-contract-api's own dispatcher ─────────────

interface ShimResponse {
  status: number;
  message?: string;
  payload?: Uint8Array;
}

export interface ChaincodeFromContractLike {
  invokeFunctionality(stub: unknown): Promise<ShimResponse>;
  metadata: unknown;
}

type ChaincodeFromContractCtor = new (
  contracts: unknown[],
  serializers: unknown,
  metadata: unknown,
  title: string,
  version: string,
) => ChaincodeFromContractLike;

const require = createRequire(import.meta.url);

/**
 * The chaincode as a peer would run it: fabric-shim's ChaincodeFromContract (what
 * `fabric-chaincode-node start` registers) routes "Fn", args to the decorated contract,
 * marshals parameters by the generated metadata and serialises the result.
 */
export function loadChaincode(): ChaincodeFromContractLike {
  const ChaincodeFromContract =
    require('fabric-shim/lib/contract-spi/chaincodefromcontract.js') as ChaincodeFromContractCtor;
  // As bootstrap.js does with the package's exports: our serializer plus the default one.
  return new ChaincodeFromContract(
    [...contracts],
    { ...serializers, serializers: { ...serializers.serializers } },
    {},
    'privagg-chaincode',
    '0.1.0',
  );
}

export interface TxOutcome {
  status: number;
  message: string;
  payload: string;
  writes: WriteRecord[];
  reads: ReadRecord[];
}

/** Simulates one transaction; on success (status 200) its writes are committed. */
export async function invoke(
  chaincode: ChaincodeFromContractLike,
  world: MemoryWorldState,
  tx: TxSpec,
): Promise<TxOutcome> {
  const stub = new MemoryStub(world, tx);
  const res = await chaincode.invokeFunctionality(stub);
  if (res.status === 200) stub.commit();
  return {
    status: res.status,
    message: res.message ?? '',
    payload: res.payload ? Buffer.from(res.payload).toString('utf8') : '',
    writes: stub.writes,
    reads: stub.reads,
  };
}
