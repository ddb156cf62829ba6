import type { AccountantSnapshot } from '../../dp/accountant.js';
import { PrivacyAccountant } from '../../dp/accountant.js';
import { ErrorCode } from '../../errors.js';
import type { RandomSource } from '../../math/random.js';
import type { LedgerKey } from '../../schemes/maas/keys.js';
import { MaasLedgerContract, type RestoreOutcome } from '../../schemes/maas/ledgerContract.js';
import {
  MaasQueryEngine,
  type QueryAnswer,
  type QueryResult,
  queryReplayKey,
} from '../../schemes/maas/query.js';
import { evidenceTagBytes } from '../../schemes/maas/tags.js';
import { decodeQuery, MAX_MESSAGE_BYTES } from '../../wire/maas.js';
import { queryKeysOf } from './ledgerKeysFromState.js';
import { type LoadedDeployment, loadDeployment } from './loadDeployment.js';
import { latestFinalRound, outcomeKeyOf } from './restore.js';
import { getValue } from './secretStore.js';
import {
  canonicalBytes,
  decodeBase64Strict,
  KeyType,
  parseStored,
  type SeenRecord,
  type StateStub,
  txTimeMs,
} from './stateLayout.js';

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
const refuseFreshRandomness = (): never => {
  throw new Error('fresh randomness requested in chaincode (paper-fresh mode is refused)');
};
const NO_FRESH_RANDOMNESS: RandomSource = {
  fill: refuseFreshRandomness,
  nextUint32: refuseFreshRandomness,
  nextBigUint64: refuseFreshRandomness,
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
        await getValue(stub, dep.config, outcomeKeyOf(stub, ian, round)),
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
