import { type Ed25519PublicKey, ed25519PublicKey } from '../../crypto/ed25519.js';
import { ShamirParams } from '../../crypto/shamir.js';
import type { AccountantSnapshot } from '../../dp/accountant.js';
import { PrivacyAccountant } from '../../dp/accountant.js';
import { ErrorCode, ensure, PrivaggError } from '../../errors.js';
import type { RandomSource } from '../../math/random.js';
import { type LedgerKey, registerDeployment } from '../../schemes/maas/keys.js';
import {
  type AddResult,
  MaasLedgerContract,
  type RestoreOutcome,
} from '../../schemes/maas/ledgerContract.js';
import { type MaasParams, shareBytes } from '../../schemes/maas/params.js';
import { decodePartialOf } from '../../schemes/maas/partialCodec.js';
import {
  MaasQueryEngine,
  type QueryAnswer,
  type QueryResult,
  queryReplayKey,
} from '../../schemes/maas/query.js';
import { ReadingCodec } from '../../schemes/maas/readingCodec.js';
import { evidenceTagBytes } from '../../schemes/maas/tags.js';
import { type decodeGatewayPartial, decodeQuery, MAX_MESSAGE_BYTES } from '../../wire/maas.js';
import { canonicalJson } from '../canonicalJson.js';
import { type DeploymentConfig, decodeDeploymentConfig } from '../deploymentConfig.js';
import {
  attemptAttr,
  type ChaincodeConfig,
  CONFIG_KEY,
  canonicalBytes,
  decodeBase64Strict,
  finalAttr,
  gatewayAttr,
  ianAttr,
  type KeyRecord,
  KeyType,
  MASTER_SECRET_TRANSIENT_KEY,
  MAX_ROUND,
  type PartialRecord,
  parseInitLedgerArgs,
  parseStored,
  type RequestRecord,
  roundAttr,
  type SeenRecord,
  type StateStub,
  txTimeMs,
} from './stateLayout.js';

/**
 * The MaaS contract (Add/Verify, Restore, Query) over Fabric world state, built on the
 * sans-I/O core. The core keeps its state in Maps; here each transaction reads what it
 * needs from world state, replays it into a fresh core object, runs the operation there,
 * and writes back what changed as canonical JSON. So the chaincode cannot drift from the
 * core: it *is* the core, fed from the ledger.
 *
 * Determinism (every endorser must produce the same write set):
 *  - the clock is the proposal's timestamp (`txTimeMs`), never Date.now;
 *  - there is no randomness: query noise is derived (HMAC-keyed PRG, dpUtils.ts) and the
 *    paper's fresh-noise mode is refused at InitLedger; the fresh-randomness source handed
 *    to the core throws if it is ever used;
 *  - stored records are replayed in key order, and every value written is canonical JSON;
 *  - the only module-level state is a memo of pure derivations from the stored config.
 *
 * Concurrency (Fabric invalidates a transaction whose read set changed before it
 * committed): a first-attempt Add reads only point keys that no other transaction writes
 * (the config, its IAN's gateway keys, its own partial key) and writes only its own
 * partial key, so the m gateways of an IAN never conflict with one another. Restore reads
 * the range of its (IAN, round), so a Restore racing an Add of the same IAN-round is
 * invalidated and must be resubmitted — which is what should happen.
 */

// ── Deployment (config + pure derivations, memoised) ────────────────────────────

interface LoadedDeployment {
  readonly config: ChaincodeConfig;
  readonly deployment: DeploymentConfig;
  readonly params: MaasParams;
  readonly shamir: ShamirParams;
  readonly codec: ReadingCodec;
  readonly elementBytes: number;
}

let memo: { text: string; loaded: LoadedDeployment } | undefined;

async function loadDeployment(stub: StateStub): Promise<LoadedDeployment> {
  const raw = await stub.getState(CONFIG_KEY);
  if (!raw || raw.length === 0) {
    throw new PrivaggError(
      ErrorCode.INVALID_ARGUMENT,
      'the ledger is not initialised: submit InitLedger first',
    );
  }
  const text = Buffer.from(raw).toString('utf8');
  if (memo?.text === text) return memo.loaded;
  const config = JSON.parse(text) as ChaincodeConfig;
  const deployment = decodeDeploymentConfig(Buffer.from(JSON.stringify(config.deployment)));
  const { params } = deployment;
  const loaded: LoadedDeployment = {
    config,
    deployment,
    params,
    shamir: new ShamirParams(params.threshold, params.gateways, params.field),
    codec: new ReadingCodec(params),
    elementBytes: shareBytes(params),
  };
  memo = { text, loaded };
  return loaded;
}

// ── Secrets ────────────────────────────────────────────────────────────────────

async function getSecret(stub: StateStub, config: ChaincodeConfig, key: string) {
  return config.secrets.store === 'private-data'
    ? stub.getPrivateData(config.secrets.collection, key)
    : stub.getState(key);
}

async function putSecret(stub: StateStub, config: ChaincodeConfig, key: string, value: unknown) {
  if (config.secrets.store === 'private-data') {
    await stub.putPrivateData(config.secrets.collection, key, canonicalBytes(value));
  } else {
    // ⚠ TEST-NETWORK SHORTCUT: a world-state write is part of the transaction's public
    // write set, so the query-noise key ends up in every block replica of the channel and
    // anyone who can read the chain can remove query noise (the gateways' and OEMs' keys
    // stored here are public: nobody can forge with them). Use a private data collection
    // (secretCollection). See docs/FABRIC.md.
    await stub.putState(key, canonicalBytes(value));
  }
}

// ── Confidential values ────────────────────────────────────────────────────────

/**
 * Partials (k of them interpolate an IAN's exact total) and final outcomes (each IAN's
 * estimates) are kept where the secrets are: in the private data collection when there is
 * one — member peers hold the values, the channel's blocks only their hashes — else in
 * world state (the test-network shortcut, which InitLedger's warning names).
 */
async function getValue(stub: StateStub, config: ChaincodeConfig, key: string) {
  return getSecret(stub, config, key);
}

async function putValue(stub: StateStub, config: ChaincodeConfig, key: string, bytes: Uint8Array) {
  if (config.secrets.store === 'private-data')
    await stub.putPrivateData(config.secrets.collection, key, bytes);
  else await stub.putState(key, bytes);
}

function valuesByPartialKey(
  stub: StateStub,
  config: ChaincodeConfig,
  type: string,
  attrs: string[],
) {
  return config.secrets.store === 'private-data'
    ? stub.getPrivateDataByPartialCompositeKey(config.secrets.collection, type, attrs)
    : stub.getStateByPartialCompositeKey(type, attrs);
}

/**
 * What Restore returns, and so what its transaction records in the block: the outcome
 * without its estimates when they are kept in the collection (the operator reads them with
 * GetOutcome, an evaluation that records nothing). With world-state values, the outcome.
 */
export function restoreReceipt(outcome: RestoreOutcome, config: ChaincodeConfig): RestoreOutcome {
  if (config.secrets.store !== 'private-data' || outcome.status !== 'restored') return outcome;
  return { ...outcome, estimates: [] };
}

async function getKeyRecord(
  stub: StateStub,
  config: ChaincodeConfig,
  key: string,
): Promise<KeyRecord> {
  const rec = parseStored<KeyRecord>(await getSecret(stub, config, key));
  if (!rec) {
    throw new PrivaggError(
      ErrorCode.BAD_KEY,
      config.secrets.store === 'private-data'
        ? `secret missing from collection ${config.secrets.collection}: is this peer a member?`
        : 'secret missing from world state',
    );
  }
  return rec;
}

const publicKey = (b64: string): Ed25519PublicKey => ed25519PublicKey(Buffer.from(b64, 'base64'));

/**
 * A LedgerKey holding only the gateway keys of one IAN: Add and Restore of (IAN, round)
 * check signatures of that IAN only (the core indexes gatewayPublicKey[ian] after checking the
 * IAN).
 * The OEM keys and the noise key are not loaded: the Add/Restore core never reads them.
 */
async function gatewayKeysOf(
  stub: StateStub,
  dep: LoadedDeployment,
  ian: number,
): Promise<LedgerKey> {
  const row: KeyRecord[] = [];
  for (let l = 1; l <= dep.params.gateways; l++) {
    row.push(
      await getKeyRecord(
        stub,
        dep.config,
        stub.createCompositeKey(KeyType.gatewaySecret, [ianAttr(ian), gatewayAttr(l)]),
      ),
    );
  }
  const gatewayPublicKey: Ed25519PublicKey[][] = Array.from({ length: dep.params.ians }, () => []);
  const gatewayIdentity: Buffer[][] = Array.from({ length: dep.params.ians }, () => []);
  gatewayPublicKey[ian] = row.map((r) => publicKey(r.publicKey));
  gatewayIdentity[ian] = row.map((r) => Buffer.from(r.identity, 'base64'));
  return { gatewayPublicKey, gatewayIdentity, oems: [], queryNoiseKey: Buffer.alloc(0) };
}

/** The OEM keys and the query-noise key (what the query engine needs), no gateway keys. */
async function queryKeysOf(stub: StateStub, dep: LoadedDeployment): Promise<LedgerKey> {
  const oems: LedgerKey['oems'][number][] = [];
  for (const [o, grant] of dep.deployment.oems.entries()) {
    const rec = await getKeyRecord(
      stub,
      dep.config,
      stub.createCompositeKey(KeyType.oemSecret, [String(o).padStart(5, '0')]),
    );
    oems.push({
      grant,
      identity: Buffer.from(rec.identity, 'base64'),
      publicKey: publicKey(rec.publicKey),
    });
  }
  const noise = parseStored<{ key: string }>(
    await getSecret(stub, dep.config, stub.createCompositeKey(KeyType.noiseSecret, [])),
  );
  if (!noise) throw new PrivaggError(ErrorCode.BAD_KEY, 'query-noise key missing');
  const empty = Array.from({ length: dep.params.ians }, () => []);
  return {
    gatewayPublicKey: empty,
    gatewayIdentity: empty,
    oems,
    queryNoiseKey: Buffer.from(noise.key, 'base64'),
  };
}

// ── InitLedger ─────────────────────────────────────────────────────────────────

/**
 * Stores the deployment and the ledger's key bundle, derived from the TA's master secret
 * passed in the transient map (never in the arguments, which are recorded in the block).
 * Only the ledger's own keys are stored — not the master secret, from which every device
 * and gateway link key could be derived. Once only.
 */
export async function initLedger(stub: StateStub, argsJson: string): Promise<string> {
  const existing = await stub.getState(CONFIG_KEY);
  if (existing && existing.length > 0) {
    throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, 'the ledger is already initialised');
  }
  const { config, deployment } = parseInitLedgerArgs(argsJson);
  const secret = stub.getTransient().get(MASTER_SECRET_TRANSIENT_KEY);
  ensure(
    secret !== undefined && secret.length >= 32,
    `InitLedger needs the TA's master secret (≥ 32 bytes) in the transient map under '${MASTER_SECRET_TRANSIENT_KEY}'`,
  );
  const { params, oems } = deployment;
  const ledgerKey = registerDeployment(params, {
    oems,
    registeredAtMs: config.registeredAtMs,
    masterSecret: secret,
  }).ledgerKey();

  await stub.putState(CONFIG_KEY, canonicalBytes(config));
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  for (let v = 0; v < params.ians; v++) {
    for (let l = 1; l <= params.gateways; l++) {
      await putSecret(
        stub,
        config,
        stub.createCompositeKey(KeyType.gatewaySecret, [ianAttr(v), gatewayAttr(l)]),
        {
          identity: b64(ledgerKey.gatewayIdentity[v]![l - 1]!),
          publicKey: b64(ledgerKey.gatewayPublicKey[v]![l - 1]!.raw),
        } satisfies KeyRecord,
      );
    }
  }
  for (const [o, k] of ledgerKey.oems.entries()) {
    await putSecret(
      stub,
      config,
      stub.createCompositeKey(KeyType.oemSecret, [String(o).padStart(5, '0')]),
      { identity: b64(k.identity), publicKey: b64(k.publicKey.raw) } satisfies KeyRecord,
    );
  }
  await putSecret(stub, config, stub.createCompositeKey(KeyType.noiseSecret, []), {
    key: b64(ledgerKey.queryNoiseKey),
  });
  return canonicalJson({
    deployment: params.deployment,
    ians: params.ians,
    gateways: params.gateways,
    oems: oems.map((g) => g.name),
    operatorMspIds: config.operatorMspIds,
    secretStore: config.secrets,
    warning:
      config.secrets.store === 'world-state'
        ? 'the query-noise key is in world state, readable by every channel member: test networks only'
        : undefined,
  });
}

// ── Replay helpers ─────────────────────────────────────────────────────────────

function newContract(dep: LoadedDeployment, key: LedgerKey): MaasLedgerContract {
  return new MaasLedgerContract(key, dep.params, dep.shamir, dep.codec);
}

const partialId = (attempt: number, gateway: number) => `${attempt}/${gateway}`;

function partialKey(stub: StateStub, ian: number, round: number, attempt: number, gw: number) {
  return stub.createCompositeKey(KeyType.partial, [
    ianAttr(ian),
    roundAttr(round),
    attemptAttr(attempt),
    gatewayAttr(gw),
  ]);
}

/** Feeds a stored partial back into a fresh core at the time it was accepted. */
function replayStored(contract: MaasLedgerContract, rec: PartialRecord, what: string): void {
  const res = contract.add(Buffer.from(rec.bytes, 'base64'), rec.acceptedAtMs);
  if (!res.ok) {
    // State and code disagree (a chaincode upgrade changed Verify?): refuse to guess.
    throw new Error(
      `stored partial ${what} (tx ${rec.txId}) no longer verifies: ${res.code} ${res.reason}`,
    );
  }
}

/** The rows of a partial-composite-key scan (world state or a collection), parsed and sorted. */
async function rangeOf<T>(
  stub: StateStub,
  rows: ReturnType<StateStub['getStateByPartialCompositeKey']>,
): Promise<{ attributes: number[]; value: T }[]> {
  const out: { attributes: number[]; value: T }[] = [];
  for await (const kv of rows) {
    const { attributes } = stub.splitCompositeKey(kv.key);
    out.push({ attributes: attributes.map(Number), value: parseStored<T>(kv.value)! });
  }
  // Fabric returns keys in order already; sorting again makes replay order explicit.
  return out.sort((a, b) => {
    for (let i = 0; i < a.attributes.length; i++) {
      const d = a.attributes[i]! - b.attributes[i]!;
      if (d !== 0) return d;
    }
    return 0;
  });
}

/**
 * Rebuilds the core's re-aggregation state of (IAN, round): for each stored request in
 * attempt order, adds the partials that were stored when it was made (its basis) and runs
 * Restore, which must yield the stored request again. Returns the partials added.
 */
async function replayRequests(
  stub: StateStub,
  contract: MaasLedgerContract,
  ian: number,
  round: number,
  loadPartial: (attempt: number, gateway: number) => Promise<PartialRecord | undefined>,
): Promise<Set<string>> {
  const added = new Set<string>();
  const requests = await rangeOf<RequestRecord>(
    stub,
    stub.getStateByPartialCompositeKey(KeyType.request, [ianAttr(ian), roundAttr(round)]),
  );
  for (const { value: req } of requests) {
    for (const [attempt, gateway] of req.basis) {
      const id = partialId(attempt, gateway);
      if (added.has(id)) continue;
      const rec = await loadPartial(attempt, gateway);
      if (!rec) throw new Error(`request basis names a missing partial ${ian}/${round}/${id}`);
      replayStored(contract, rec, `${ian}/${round}/${id}`);
      added.add(id);
    }
    const again = contract.restore(ian, round);
    if (canonicalJson(again) !== canonicalJson(req.outcome)) {
      throw new Error(`replaying the re-aggregation request of ${ian}/${round} diverged`);
    }
  }
  return added;
}

// ── Add ────────────────────────────────────────────────────────────────────────

/** Add + Verify of one gateway partial (base64). Never throws on bad input. */
export async function addPartial(stub: StateStub, partialBase64: string): Promise<AddResult> {
  const dep = await loadDeployment(stub);
  const nowMs = txTimeMs(stub);
  const bytes = decodeBase64Strict(partialBase64);
  if (!bytes) {
    return { ok: false, code: ErrorCode.MALFORMED_MESSAGE, reason: 'partial is not base64' };
  }
  // Peek at the header to load the state the core will consult; if it does not decode,
  // the core rejects the bytes the same way without touching any state.
  let header: ReturnType<typeof decodeGatewayPartial> | undefined;
  try {
    if (bytes.length <= MAX_MESSAGE_BYTES) header = decodePartialOf(dep.params, bytes);
  } catch {
    header = undefined;
  }
  const { ians, gateways } = dep.params;
  let contract: MaasLedgerContract;
  if (header && header.ian < ians && header.gateway >= 1 && header.gateway <= gateways) {
    const { ian, round, attempt, gateway } = header;
    contract = newContract(dep, await gatewayKeysOf(stub, dep, ian));
    const load = async (a: number, g: number) =>
      parseStored<PartialRecord>(
        await getValue(stub, dep.config, partialKey(stub, ian, round, a, g)),
      );
    // Re-aggregated partials are checked against the ledger's request: rebuild it.
    const added =
      attempt > 0 ? await replayRequests(stub, contract, ian, round, load) : new Set<string>();
    // The core's replay cache: is this (IAN, round, gateway, attempt) already stored?
    const own = await load(attempt, gateway);
    if (own && !added.has(partialId(attempt, gateway))) {
      replayStored(contract, own, `${ian}/${round}/${partialId(attempt, gateway)}`);
    }
  } else {
    const empty = Array.from({ length: ians }, () => []);
    contract = newContract(dep, {
      gatewayPublicKey: empty,
      gatewayIdentity: empty,
      oems: [],
      queryNoiseKey: Buffer.alloc(0),
    });
  }
  const res = contract.add(bytes, nowMs);
  if (res.ok) {
    await putValue(
      stub,
      dep.config,
      partialKey(stub, res.ian, res.round, res.attempt, res.gateway),
      canonicalBytes({
        acceptedAtMs: nowMs,
        bytes: partialBase64,
        txId: stub.getTxID(),
      } satisfies PartialRecord),
    );
  }
  return res;
}

// ── Restore ────────────────────────────────────────────────────────────────────

/** Checks Restore's coordinates (the core would record a failure for any IAN-round). */
function checkCoordinates(dep: LoadedDeployment, ian: number, round: number): void {
  ensure(
    Number.isInteger(ian) && ian >= 0 && ian < dep.params.ians,
    `ian must be an integer in [0, ${dep.params.ians})`,
    { ian },
  );
  ensure(
    Number.isInteger(round) && round >= 0 && round <= MAX_ROUND,
    'round must be a u32 integer',
    { round },
  );
}

/**
 * Restore of (IAN, round), as canonical JSON of the core's RestoreOutcome. A final outcome
 * (restored or failed) is stored and returned as is afterwards; a re-aggregation request
 * is stored with the partials it was computed from, so later transactions can rebuild it.
 */
export async function restore(
  stub: StateStub,
  ian: number,
  round: number,
  callerMspId: string,
): Promise<string> {
  const dep = await loadDeployment(stub);
  checkCoordinates(dep, ian, round);
  const operators = dep.config.operatorMspIds;
  if (operators.length > 0 && !operators.includes(callerMspId)) {
    throw new PrivaggError(ErrorCode.ACCESS_DENIED, `MSP ${callerMspId} may not call Restore`);
  }
  const outcomeKey = stub.createCompositeKey(KeyType.outcome, [ianAttr(ian), roundAttr(round)]);
  const done = parseStored<RestoreOutcome>(await getValue(stub, dep.config, outcomeKey));
  if (done) return canonicalJson(restoreReceipt(done, dep.config));

  const contract = newContract(dep, await gatewayKeysOf(stub, dep, ian));
  const partials = await rangeOf<PartialRecord>(
    stub,
    valuesByPartialKey(stub, dep.config, KeyType.partial, [ianAttr(ian), roundAttr(round)]),
  );
  const byId = new Map(
    partials.map((p) => [partialId(p.attributes[2]!, p.attributes[3]!), p.value]),
  );
  const added = await replayRequests(stub, contract, ian, round, async (a, g) =>
    byId.get(partialId(a, g)),
  );
  for (const p of partials) {
    const id = partialId(p.attributes[2]!, p.attributes[3]!);
    if (!added.has(id)) replayStored(contract, p.value, `${ian}/${round}/${id}`);
  }
  const outcome = contract.restore(ian, round);
  if (outcome.status === 'reconcile') {
    const record: RequestRecord = {
      basis: partials.map((p) => [p.attributes[2]!, p.attributes[3]!]),
      outcome,
    };
    const key = stub.createCompositeKey(KeyType.request, [
      ianAttr(ian),
      roundAttr(round),
      attemptAttr(outcome.attempt),
    ]);
    const before = await stub.getState(key);
    const bytes = canonicalBytes(record);
    // Asking again for the same thing changes nothing (and writes nothing).
    if (!before || !Buffer.from(before).equals(bytes)) await stub.putState(key, bytes);
  } else {
    await putValue(stub, dep.config, outcomeKey, canonicalBytes(outcome));
    // Blind write (never read in an update transaction): IANs finishing the same round
    // concurrently write the same value and do not conflict.
    await stub.putState(
      stub.createCompositeKey(KeyType.final, [finalAttr(round)]),
      canonicalBytes({ round }),
    );
  }
  return canonicalJson(restoreReceipt(outcome, dep.config));
}

/**
 * The stored final outcome of (IAN, round) with its estimates, or null: an evaluation
 * (nothing is recorded), for the operators who may restore — the estimates are noise-free.
 */
export async function getOutcome(
  stub: StateStub,
  ian: number,
  round: number,
  callerMspId: string,
): Promise<string> {
  const dep = await loadDeployment(stub);
  checkCoordinates(dep, ian, round);
  const operators = dep.config.operatorMspIds;
  if (operators.length > 0 && !operators.includes(callerMspId)) {
    throw new PrivaggError(ErrorCode.ACCESS_DENIED, `MSP ${callerMspId} may not read outcomes`);
  }
  const done = await getValue(
    stub,
    dep.config,
    stub.createCompositeKey(KeyType.outcome, [ianAttr(ian), roundAttr(round)]),
  );
  return done && done.length > 0 ? Buffer.from(done).toString('utf8') : 'null';
}

/** The newest round with a final outcome for some IAN (the core's latestFinalRound); −1 before any. */
async function latestFinalRound(stub: StateStub): Promise<number> {
  for await (const kv of stub.getStateByPartialCompositeKey(KeyType.final, [])) {
    const [inverted] = stub.splitCompositeKey(kv.key).attributes;
    return MAX_ROUND - Number(inverted);
  }
  return -1;
}

// ── Query ──────────────────────────────────────────────────────────────────────

type Restored = Extract<RestoreOutcome, { status: 'restored' }>;

/**
 * The core contract as the query engine sees it: final outcomes (restored or failed) and
 * the newest final round, read from world state. In its recording pass (`outcomes` null)
 * it answers "nothing restored, every IAN-round failed" (so the engine's completeness
 * check passes and it reads every outcome it would) and notes which IAN-rounds it asked for.
 */
class WorldStateContractView extends MaasLedgerContract {
  readonly asked = new Set<string>();

  constructor(
    dep: LoadedDeployment,
    key: LedgerKey,
    private readonly latest: number,
    private readonly outcomes: ReadonlyMap<string, RestoreOutcome> | null,
  ) {
    super(key, dep.params, dep.shamir, dep.codec);
  }

  override restoredOf(ian: number, round: number): Restored | undefined {
    if (!this.outcomes) {
      this.asked.add(`${ian}/${round}`);
      return undefined;
    }
    const o = this.outcomes.get(`${ian}/${round}`);
    return o?.status === 'restored' ? o : undefined;
  }

  override finalOutcomeOf(ian: number, round: number): RestoreOutcome | undefined {
    if (!this.outcomes) {
      this.asked.add(`${ian}/${round}`);
      return { status: 'failed', ian, round, reason: 'recording pass' };
    }
    return this.outcomes.get(`${ian}/${round}`);
  }

  override get latestFinalRound(): number {
    return this.latest;
  }
}

/** Handed to the core as its fresh-noise source: the chaincode never draws fresh noise. */
const NO_FRESH_RANDOMNESS: RandomSource = {
  fill() {
    throw new Error('fresh randomness requested in chaincode (paper-fresh mode is refused)');
  },
  nextUint32() {
    throw new Error('fresh randomness requested in chaincode (paper-fresh mode is refused)');
  },
  nextBigUint64() {
    throw new Error('fresh randomness requested in chaincode (paper-fresh mode is refused)');
  },
};

/**
 * The engine's answer cache and replay cache. They are private in the core (query.ts) and
 * have no constructor hook; this reaches them by name — the compiler still checks the
 * names and types. The wanted core change: let MaasQueryEngine take and expose them.
 */
function engineCaches(engine: MaasQueryEngine): {
  answers: Map<string, QueryAnswer>;
  seenQueries: Map<string, number>;
} {
  // biome-ignore lint/complexity/useLiteralKeys: private members (see above)
  return { answers: engine['answers'], seenQueries: engine['seenQueries'] };
}

function budgetOf(accountant: PrivacyAccountant, principal: string): AccountantSnapshot {
  const all = accountant.snapshot();
  return {
    version: 1,
    principals: all.principals.filter((p) => p.principal === principal),
    spends: all.spends.filter((s) => s.principal === principal),
  };
}

/** An OEM query (base64): signature, access, budget, derived noise. Never throws on bad input. */
export async function query(stub: StateStub, queryBase64: string): Promise<QueryResult> {
  const dep = await loadDeployment(stub);
  const nowMs = txTimeMs(stub);
  const bytes = decodeBase64Strict(queryBase64);
  if (!bytes)
    return { ok: false, code: ErrorCode.MALFORMED_MESSAGE, reason: 'query is not base64' };
  const key = await queryKeysOf(stub, dep);

  // Peek at the query to load the per-OEM, per-window and per-message state.
  let q: ReturnType<typeof decodeQuery> | undefined;
  try {
    if (bytes.length <= MAX_MESSAGE_BYTES)
      q = decodeQuery(bytes, evidenceTagBytes(dep.params.modes.mac));
  } catch {
    q = undefined;
  }
  const grant = q ? dep.deployment.oems[q.oem] : undefined;
  const tagHex = q ? queryReplayKey(q) : undefined;
  const windowKey = q ? `${q.number}/${q.startRound}/${q.endRound}/${q.dimensionMask}` : undefined;
  const budgetKey = grant ? stub.createCompositeKey(KeyType.budget, [grant.name]) : undefined;
  const seenKey = tagHex ? stub.createCompositeKey(KeyType.seen, [tagHex]) : undefined;
  const answerKey =
    grant && windowKey
      ? stub.createCompositeKey(KeyType.answer, [grant.name, windowKey])
      : undefined;
  const storedBudget = budgetKey ? await stub.getState(budgetKey) : undefined;
  const seen = seenKey ? parseStored<SeenRecord>(await stub.getState(seenKey)) : undefined;
  const cached = answerKey ? parseStored<QueryAnswer>(await stub.getState(answerKey)) : undefined;
  const latest = await latestFinalRound(stub);

  const run = (outcomes: ReadonlyMap<string, RestoreOutcome> | null) => {
    const budget = parseStored<AccountantSnapshot>(storedBudget);
    const accountant = budget ? PrivacyAccountant.restore(budget) : new PrivacyAccountant();
    const view = new WorldStateContractView(dep, key, latest, outcomes);
    const engine = new MaasQueryEngine(view, key, dep.params, accountant);
    const caches = engineCaches(engine);
    if (seen && tagHex) caches.seenQueries.set(tagHex, seen.atMs);
    if (cached && grant) caches.answers.set(`${grant.name}|${windowKey}`, cached);
    return { result: engine.query(bytes, nowMs, NO_FRESH_RANDOMNESS), view, accountant, caches };
  };
  // Pass 1 answers over "nothing restored, every IAN-round final" and records which
  // IAN-rounds the engine reads; every check before the computation but the completeness
  // of the window's rounds is independent of them, so pass 1 fails iff the real pass does
  // for any other reason. Pass 2 answers over exactly those outcomes, from world state.
  let pass = run(null);
  if (pass.result.ok && pass.view.asked.size > 0) {
    const outcomes = new Map<string, RestoreOutcome>();
    for (const id of [...pass.view.asked].sort()) {
      const [ian, round] = id.split('/').map(Number) as [number, number];
      const o = parseStored<RestoreOutcome>(
        await getValue(
          stub,
          dep.config,
          stub.createCompositeKey(KeyType.outcome, [ianAttr(ian), roundAttr(round)]),
        ),
      );
      if (o && o.status !== 'reconcile') outcomes.set(id, o);
    }
    pass = run(outcomes);
    // A round of the window not final yet: refused, nothing written (nothing is charged).
    if (!pass.result.ok && pass.result.code === ErrorCode.WRONG_ROUND) return pass.result;
    if (!pass.result.ok) throw new Error('query passes disagree (a bug): refusing to answer');
  }
  const { result, accountant, caches } = pass;
  if (!result.ok || !q || !grant || !tagHex || !seenKey || !answerKey || !budgetKey) return result;

  await stub.putState(
    seenKey,
    canonicalBytes({ atMs: caches.seenQueries.get(tagHex)!, txId: stub.getTxID() }),
  );
  if (!result.answer.cached) {
    await stub.putState(
      answerKey,
      canonicalBytes(caches.answers.get(`${grant.name}|${windowKey}`)),
    );
  }
  const budget = canonicalBytes(budgetOf(accountant, grant.name));
  if (!storedBudget || !Buffer.from(storedBudget).equals(budget)) {
    await stub.putState(budgetKey, budget);
  }
  return result;
}

// ── Read-only ──────────────────────────────────────────────────────────────────

/** Whether the ledger is initialised, its deployment, and the newest final round. */
export async function health(stub: StateStub): Promise<string> {
  const raw = await stub.getState(CONFIG_KEY);
  if (!raw || raw.length === 0) return canonicalJson({ ok: false, initialised: false });
  const dep = await loadDeployment(stub);
  return canonicalJson({
    ok: true,
    initialised: true,
    deployment: dep.params.deployment,
    latestFinalRound: await latestFinalRound(stub),
    secretStore: dep.config.secrets.store,
  });
}

/** The public configuration (parameters, grants, operators; no secret). */
export async function getConfig(stub: StateStub): Promise<string> {
  const dep = await loadDeployment(stub);
  return canonicalJson(dep.config);
}
